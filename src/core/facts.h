/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Facts: what a connection's timeline establishes, independent of the order
 * in which the application called into the socket.  Private to the core:
 * gathered by facts.c, read by the rules in rules.c.
 */
#ifndef TA_FACTS_H
#define TA_FACTS_H

#include "core.h"

#define NONE ((size_t)-1)

struct facts {
	const struct conn *c;
	size_t established;
	size_t syn_sent;	  /* connect's CLOSE -> SYN_SENT */
	size_t peer_fin;	  /* the event that shows the peer's FIN */
	bool peer_fin_unseen;	  /* ...only by the state it left: the FIN came before tracing */
	size_t our_fin;		  /* the state change that shows our FIN */
	size_t handoff;		  /* the orphan went on as a timewait sock */
	size_t closed;		  /* first move to CLOSE */
	unsigned int closed_from; /* the state it left for CLOSE */
	size_t rst_recv;	  /* first tcp_receive_reset */
	unsigned int rst_recv_state;
	size_t rst_sent;	/* first RST this socket sent */
	enum ta_rst rst_reason; /* its reason, given or inferred */
	bool rst_inferred;	/* the kernel gave no reason: rst_reason is ours */
	size_t peer_rst;	/* first RST another local socket sent us */
	size_t sk_error;	/* first error report with sk_err set */
	int sk_err;
	size_t first_retrans;	/* first retransmission */
	unsigned int retrans;	/* retransmissions seen in all */
	size_t connect_call;	/* first connect() */
	size_t connect_unspec;	/* connect(AF_UNSPEC): a disconnect */
	size_t connect_aborted; /* connect() that returned ECONNABORTED */
	size_t shutdown_call;	/* first successful shutdown() */
	int shutdown_how;
	size_t close_call;  /* the owner's close: close() of its last descriptor, or exit */
	size_t owner_exit;  /* the owner exited with the socket open: the kernel closed it */
	size_t close_copy;  /* first close() that left other references: not a close */
	size_t fw2_unclear; /* FIN_WAIT2 -> CLOSE that may be the peer's FIN or our orphan's
			     * handover: no close, exit or later use tells which */
	size_t join;	    /* the socket was already open when tracing began */
	size_t summary;	    /* the kernel summarized this healthy connection (flight recorder):
			     * the facts it vouches for all point at it */
	size_t first_known; /* first event of a midlife socket that shows its state */
	size_t connect_err; /* first connect() that failed with a connection error */
	size_t destroy;
	size_t recv_eof;       /* first recv that returned 0 */
	size_t recv_err;       /* first recv that failed with a connection error */
	size_t send_err;       /* first send that failed */
	size_t send_after_fin; /* first successful send after the peer's FIN */
	size_t so_error;       /* first getsockopt(SO_ERROR) that returned an error */
	size_t consumed;       /* first call that returned sk_err to the application */
	unsigned int last_state;
	unsigned int cur_state; /* the latest state any event shows (0: none) */
};

void gather_facts(const struct conn *c, struct facts *f);

/* Errors that say nothing about the connection's fate. */
bool transient_errno(int err);

#endif /* TA_FACTS_H */
