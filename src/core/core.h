/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pure core: events -> connection timelines -> verdicts.
 *
 * No libbpf, no printing, no files.  Events arrive one at a time or in
 * batches, from the ring buffer or from a saved log; the core cannot tell.
 */
#ifndef TA_CORE_H
#define TA_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "tcpabort.h"

/* RST reasons the rules reason about, by kernel name (enum sk_rst_reason). */
enum ta_rst {
	TA_RST_NONE = 0, /* no reason known (kernel before 6.10, or none given) */
	TA_RST_NOT_SPECIFIED,
	TA_RST_NO_SOCKET,
	TA_RST_TCP_FLAGS,
	TA_RST_TCP_ABORT_ON_DATA,
	TA_RST_TCP_TIMEWAIT_SOCKET,
	TA_RST_TCP_ABORT_ON_CLOSE,
	TA_RST_TCP_ABORT_ON_LINGER,
	TA_RST_TCP_ABORT_ON_MEMORY,
	TA_RST_TCP_STATE,
	TA_RST_TCP_KEEPALIVE_TIMEOUT,
	TA_RST_TCP_DISCONNECT_WITH_DATA,
	TA_RST_OTHER, /* a name this build does not reason about */
};

#define TA_NAME_LEN 40

/* One event on a connection's timeline. */
struct tl_event {
	uint64_t seq; /* arrival order in the session, from 1 */
	struct ta_event ev;
	enum ta_rst rst;	    /* RST_SENT / PEER_RST: the reason */
	char rst_name[TA_NAME_LEN]; /* as the kernel names it ("" if none) */
};

struct conn {
	uint64_t cookie;
	struct tl_event *ev;
	size_t n, cap;
	bool ended;	    /* tcp_destroy_sock seen */
	bool timewait;	    /* ended by handing over to a timewait sock, which may still send RST */
	uint64_t end_ns;    /* ts_ns of the destroy */
	bool lost;	    /* an event of this socket may be missing */
	bool midlife;	    /* the socket predates the attach */
	bool listener;	    /* a listening socket: events, but no connection verdict */
	bool errors_unseen; /* the kernel cannot report stored errors (before 5.14) */
	uint32_t owner;	    /* owning TGID */
	char comm[TA_COMM_LEN];	  /* the owner's process name, "" until seen in its context */
	char thread[TA_COMM_LEN]; /* the name of the owner's thread last seen using it */
	/* Bounded history (see TA_HIST_*): what the timeline no longer holds. */
	uint64_t trimmed;	   /* events dropped from the middle of the timeline */
	uint64_t trimmed_tcp;	   /* of them, not I/O records (only past TA_HIST_TCP of those) */
	uint64_t trimmed_first_ns; /* ts_ns of the earliest event dropped (0: none dropped) */
	uint64_t trimmed_last_ns;  /* ts_ns of the latest event dropped */
	size_t fed_at;	   /* where the event ct_feed took last is in ev[]; SIZE_MAX: trimmed */
	size_t trim_at;	   /* n at which the next trim runs */
	bool midlife_flag; /* an event carried TA_F_MIDLIFE */
	uint64_t comm_ns;  /* ts_ns of the event comm and thread were taken from */
	/* Kept by the session (src/session.c); the rules never read these. */
	uint8_t phase;	     /* open, lingering, concluded and kept, amendment pending */
	uint32_t gen;	     /* bumped at each phase change: stale queue entries are skipped */
	size_t written;	     /* events already written to the output */
	uint64_t deadline;   /* when the current phase ends (event time) */
	uint64_t keep_until; /* when its timewait sock is surely gone */
	int told_row;	     /* summary row of the verdict last output, -1 if none */
	uint8_t told_flags;  /* what else that verdict counted in the summary */
	bool told_shown;     /* that verdict was printed in full */
	struct conn *next;   /* hash chain */
};

/*
 * Bounded history: a connection keeps every event that is not an I/O record
 * (state changes, RSTs, errors, destroy, join: TCP bounds them; past
 * TA_HIST_TCP of them the middle goes too), and of the I/O records (send,
 * recv, retransmit, syscall) the first TA_HIST_FIRST, the last TA_HIST_LAST
 * and, in between, up to TA_HIST_PINNED that are the first of their kind
 * and outcome since the last other event.  What is dropped is counted in
 * conn.trimmed.  At most TA_HIST_MAX events are held (see conn.c).
 */
#define TA_HIST_FIRST  32
#define TA_HIST_LAST   64
#define TA_HIST_PINNED 128
#define TA_HIST_TCP    256
#define TA_HIST_MAX    (TA_HIST_TCP + TA_HIST_FIRST + TA_HIST_PINNED + 2 * TA_HIST_LAST)

struct conn_table {
	struct conn **bucket;
	size_t nbucket;
	size_t count;
};

int ct_init(struct conn_table *ct);
void ct_free(struct conn_table *ct);
/*
 * Add an event to its connection, in timestamp order (an older event goes
 * after the last one no newer than it; the common case is an append), and
 * trim the history to its bound.  An event inserted below c->written counts
 * as written (the session writes it at once), and a trim keeps c->written
 * the number of events before it that are still held.  Returns the
 * connection, or NULL on ENOMEM.
 */
struct conn *ct_feed(struct conn_table *ct, const struct tl_event *e);
/*
 * Trims the history to its bound now (ct_feed does it every TA_HIST_LAST
 * events): what a verdict is decided on is then the same whatever the
 * schedule, and a log of exactly those events, replayed, gives them back
 * (unless more than TA_HIST_TCP events that are not I/O records came).
 */
void ct_trim(struct conn *c);
struct conn *ct_find(struct conn_table *ct, uint64_t cookie);
void ct_remove(struct conn_table *ct, struct conn *c);
/* Call fn on every connection; fn may not modify the table. */
void ct_each(struct conn_table *ct, void (*fn)(struct conn *, void *), void *arg);

/* Names: TCP states, errnos, event kinds, syscalls, RST reasons. */
const char *ta_state_name(unsigned int state);
unsigned int ta_state_from_name(const char *name); /* 0 when unknown */
const char *ta_errno_name(int err);		   /* "ECONNRESET"; NULL when unknown */
int ta_errno_from_name(const char *name);	   /* 0 when unknown */
const char *ta_errno_text(int err);		   /* short strerror-like text */
/* A set of TCP states (bit 1 << state) as "SYN_SENT ESTABLISHED ...", and back. */
void ta_states_list(uint32_t mask, char *buf, size_t len);
uint32_t ta_states_parse(const char *list, bool *ok);
const char *ta_kind_name(unsigned int kind);
unsigned int ta_kind_from_name(const char *name);
const char *ta_sys_name(unsigned int sys);
const char *ta_proc_name(unsigned int what); /* enum ta_proc: "fork", "exit" */
unsigned int ta_proc_from_name(const char *name);
unsigned int ta_sys_from_name(const char *name);
enum ta_rst ta_rst_from_name(const char *name);
const char *ta_rst_meaning(enum ta_rst r); /* why a socket sends such an RST */
const char *ta_winsock(int err);	   /* "WSAECONNRESET (10054)", NULL if none */
const char *ta_rst_name(enum ta_rst r);	   /* "TCP_ABORT_ON_CLOSE"; "" for none */

/* What the rules may cite. */
#define TA_MAX_EVIDENCE 12

struct evidence {
	size_t idx;    /* index into conn->ev */
	char why[256]; /* what this event proves */
};

/* What the application's next calls on this socket will return (0: unknown). */
struct next_calls {
	bool known;
	int recv;     /* 0 = EOF, >0 = errno */
	int send;     /* errno */
	bool sigpipe; /* the send raises SIGPIPE */
	int so_error; /* value SO_ERROR returns */
};

struct cause;

struct verdict {
	const struct cause *cause;
	int err;	     /* the errno this cause explains, 0 if none */
	const char *winsock; /* its Winsock equivalent, NULL if none */
	char sentence[640];
	struct evidence evidence[TA_MAX_EVIDENCE];
	size_t nevidence;
	bool complete;
	char missing[256]; /* what is unknown, "" if nothing */
	struct next_calls next;
};

struct cause {
	const char *id;	     /* stable, part of the output contract */
	int err;	     /* errno it explains (0: none) */
	const char *winsock; /* Winsock equivalent, or NULL */
	const char *summary; /* one line for --help and docs */
};

/* The verdict for a connection, from its events alone. */
void ta_decide(const struct conn *c, struct verdict *v);
/* The catalogue, in the order rules are tried; NULL past the end (the fallback is last). */
const struct cause *ta_cause_at(size_t i);
const struct cause *ta_cause_by_id(const char *id);

#endif /* TA_CORE_H */
