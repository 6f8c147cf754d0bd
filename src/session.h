/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A session turns events into verdicts and output, whatever their source:
 * the ring buffer (trace) or a saved log (report, unit tests).
 */
#ifndef TA_SESSION_H
#define TA_SESSION_H

#include "core/core.h"
#include "output.h"

#define TA_MAX_PORTS 64

/* Which connections the output shows (the summary counts only those too). */
struct session_filter {
	bool all;		      /* text: print healthy connections in full as well */
	bool errors_only;	      /* JSON: only abnormal connections, each with its events */
	uint16_t ports[TA_MAX_PORTS]; /* --port: local or remote port; none: every port */
	int nports;
};

struct linger_item;
struct kept_item;

struct linger_heap {
	struct linger_item *v;
	size_t n, cap;
};

struct session {
	struct conn_table conns;
	struct out *out;
	struct session_filter filter;
	uint64_t events;
	uint64_t connections; /* connection records written */
	uint64_t seq;
	bool print_events;	   /* write events to the output (report: no) */
	uint64_t lost;		   /* events the kernel side could not deliver, as far as known */
	bool errors_unseen;	   /* the kernel cannot report stored errors (before 5.14) */
	struct linger_heap linger; /* ended connections waiting for their timewait sock */
	uint64_t seq_linger;
	/* Concluded connections kept for TIME_WAIT, in case their timewait sock speaks. */
	struct kept_item *kept;
	size_t kept_head, kept_n, kept_live;
	uint64_t kept_evicted; /* dropped from that list before their time, for room */
	struct summary sum;
};

/*
 * How long a connection handed to a timewait sock waits for that sock's RST
 * before its verdict is printed.  The time is the events' own (ts_ns), so a
 * live run and `report` on its log decide alike.
 */
#define TA_TIMEWAIT_LINGER_NS 1000000000ULL
/*
 * How long a connection that received an RST waits, after its destroy, for
 * the peer_rst of a sender on this host (see awaits_peer_rst in session.c);
 * one from a remote sender never comes, and the wait is all it costs.
 */
#define TA_PEER_RST_WAIT_NS 20000000ULL
/*
 * After its verdict, such a connection is kept as long as TCP keeps a
 * timewait sock (TCP_TIMEWAIT_LEN, 60 s): an RST its timewait sock sends
 * later amends the verdict with a new record.  At most TA_KEEP_MAX are kept.
 */
#define TA_KEEP_NS  60000000000ULL
#define TA_KEEP_MAX 4096
/*
 * The live clock may conclude a connection only when every event stamped
 * before its deadline has surely been read: events reach the ring buffer
 * within microseconds of their stamp, so this margin keeps the clock from
 * deciding anything the events' time would decide otherwise.
 */
#define TA_CLOCK_SLACK_NS 200000000ULL

int session_init(struct session *s, struct out *out);
void session_set_filter(struct session *s, const struct session_filter *f);
/* Takes one event; prints the verdict of its connection if it ended. -1 on ENOMEM. */
int session_feed(struct session *s, const struct tl_event *e);
/*
 * The live clock (CLOCK_MONOTONIC, read after the ring buffer was emptied):
 * concludes lingering connections whose deadline passed TA_CLOCK_SLACK_NS
 * before it.
 */
void session_tick(struct session *s, uint64_t now_ns);
/* Writes the summary of what was concluded so far (SIGUSR1), and carries on. */
void session_summary(struct session *s);
/*
 * Prints verdicts for the connections still open, then the final summary,
 * then frees everything.  With s->lost set, an open connection may simply
 * have lost its last events: those verdicts are marked incomplete.
 */
void session_finish(struct session *s);
/* Frees everything without printing: for input found to be bad. */
void session_discard(struct session *s);
/* orderly_close and open: the connections the text output only counts. */
bool session_healthy(const struct verdict *v);
/* Parses "80", "80,443"; adds to f. false on a bad element. */
bool session_parse_ports(struct session_filter *f, const char *list);

#endif /* TA_SESSION_H */
