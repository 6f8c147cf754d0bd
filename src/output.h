/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output layer: every record the tool prints goes through one of these
 * functions, in text or JSON Lines (docs/output.md is the contract).
 */
#ifndef TA_OUTPUT_H
#define TA_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

enum out_format { OUT_TEXT, OUT_JSON };

/* The processes traced, as far as the output knows: their names are worth showing. */
#define TA_OUT_TRACED 4096

struct out {
	FILE *f;
	enum out_format format;
	bool verbose;	   /* text: also print each event as it arrives */
	bool show_healthy; /* text: healthy connections are printed in full (--all) */
	uint64_t t0_ns;	   /* monotonic time of the start record */
	bool started; /* a start record was written (or, for report, read): a summary may follow */
	int err;      /* first write error (errno), 0 if none */
	/* A ring: on a service that forks without end, the oldest are forgotten first. */
	uint32_t traced[TA_OUT_TRACED];
	size_t ntraced, traced_next;
};

/*
 * The summary: a fixed table, whatever the number of connections.  One row
 * per (cause, errno); the peers of a row are the heavy hitters of a small
 * Space-Saving table, so its counts are exact as long as the row has seen
 * at most TA_SUMMARY_PEERS distinct peers, and upper bounds after that.
 */
#define TA_SUMMARY_ROWS	 64
#define TA_SUMMARY_PEERS 16

struct summary_peer {
	__u8 addr[16];
	bool v6;
	uint16_t port;
	uint64_t count;
};

struct summary_row {
	const struct cause *cause;
	int err;
	uint64_t count;
	uint64_t first_ns, last_ns; /* when the connections ended (or were last seen) */
	struct summary_peer peers[TA_SUMMARY_PEERS];
};

struct summary {
	struct summary_row rows[TA_SUMMARY_ROWS];
	int nrows;
	uint64_t connections, healthy, incomplete, lost, midlife, open, amended;
	uint64_t overflow;     /* connections whose (cause, errno) found no free row */
	uint64_t tracking;     /* connections followed now, without a verdict yet (SIGUSR1) */
	uint64_t kept_evicted; /* concluded connections let go early: no room to wait for an
				  amendment */
};

struct feature {
	const char *name;
	bool present;
};

/* How one capability is served on this kernel (src/kfeatures.c says which). */
struct capability_path {
	const char *capability;
	const char *path;     /* in plain words */
	const char *degraded; /* what evidence is missing on this path; NULL: nothing */
};

struct start_info {
	const int *pids;
	int npids;
	const char *kernel;
	const struct feature *features;
	int nfeatures;
	const struct capability_path *paths; /* NULL when not known */
	int npaths;
	uint64_t mono_ns; /* CLOCK_MONOTONIC at start: ts_ns is on this clock */
	uint64_t real_ns; /* CLOCK_REALTIME at the same moment */
};

/* What a connection record amends: an earlier record of the same cookie. */
struct amend {
	const char *cause; /* the earlier verdict's cause id */
	bool shown;	   /* the earlier record was printed in full */
};

void out_start(struct out *o, const struct start_info *s);
void out_event(struct out *o, const struct tl_event *e);
/* A TA_EV_PROC event: text "# pid 812 (nginx) exited ...", JSON an event record. */
void out_proc(struct out *o, const struct tl_event *e);
/* a: NULL, or what this record amends. */
void out_connection(struct out *o, const struct conn *c, const struct verdict *v,
		    const struct amend *a);
/* final: at exit (else on SIGUSR1); lost: events lost so far. */
void out_summary(struct out *o, const struct summary *s, bool final, uint64_t events,
		 uint64_t lost);
/* What the end record says. */
struct end_info {
	uint64_t events;      /* event records processed */
	uint64_t lost;	      /* events the kernel could not put in the ring buffer */
	uint64_t unread;      /* events left unread: stopped by a signal with a backlog */
	uint64_t connections; /* connection records written */
	uint64_t untracked;   /* sockets of traced processes the kernel side had no room for */
	uint64_t ends_lost;   /* connections whose end was lost whole: no record for them */
};

void out_end(struct out *o, const struct end_info *e);

void out_traced_add(struct out *o, uint32_t pid);
bool out_is_traced(const struct out *o, uint32_t pid);

/* "ESTABLISHED -> CLOSE_WAIT", "send 2 bytes", "recv = 0 (EOF)": one line per event. */
void describe_event(const struct tl_event *e, char *buf, size_t len);
/* The event whose tuple names the connection: its last one that still had a port. */
const struct ta_event *conn_tuple(const struct conn *c);
/* "127.0.0.1" or "::1" */
void format_addr(const struct ta_event *e, bool local, char *buf, size_t len);

#endif /* TA_OUTPUT_H */
