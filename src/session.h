/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A session turns events into verdicts and output, whatever their source:
 * the ring buffer (trace) or a saved log (report, unit tests).
 */
#ifndef TA_SESSION_H
#define TA_SESSION_H

#include "core/core.h"
#include "output.h"

struct session {
	struct conn_table conns;
	struct out *out;
	uint64_t events;
	uint64_t connections;
	uint64_t seq;
	bool print_events;  /* pass each event to the output as it arrives */
	size_t lingering;   /* ended connections waiting for their timewait sock */
	uint64_t lost;	    /* events the kernel side could not deliver, as far as known */
	bool errors_unseen; /* the kernel cannot report stored errors (before 5.14) */
};

/*
 * How long a connection handed to a timewait sock waits for that sock's RST
 * before its verdict is printed.  Later RSTs still reach the output, as a
 * connection of their own with the same cookie.
 */
#define TA_TIMEWAIT_LINGER_NS 1000000000ULL

int session_init(struct session *s, struct out *out);
/* Takes one event; prints the verdict of its connection if it ended. -1 on ENOMEM. */
int session_feed(struct session *s, const struct tl_event *e);
/* Concludes lingering connections whose time is up at now_ns (CLOCK_MONOTONIC). */
void session_tick(struct session *s, uint64_t now_ns);
/*
 * Prints verdicts for the connections still open, then frees everything.
 * With s->lost set, an open connection may simply have lost its last events:
 * those verdicts are marked incomplete.
 */
void session_finish(struct session *s);
/* Frees everything without printing: for input found to be bad. */
void session_discard(struct session *s);

#endif /* TA_SESSION_H */
