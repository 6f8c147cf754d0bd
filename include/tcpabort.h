/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format shared by the BPF programs (bpf/) and the user side (src/).
 *
 * Fixed-width fields, explicit padding, no libc: the BPF side includes this
 * after vmlinux.h, the user side after <linux/types.h>.  A record is the same
 * whether it comes straight from the ring buffer or from a saved log read back
 * by `report` (and, once the flight recorder exists, from a batch sent at the
 * end of a connection).
 *
 * Bump TA_WIRE_VERSION whenever a field changes meaning or position.
 */
#ifndef TCPABORT_H
#define TCPABORT_H

#define TA_WIRE_VERSION 3
#define TA_COMM_LEN	16

/* What a record says happened.  Numbers are part of the wire format. */
enum ta_kind {
	TA_EV_NONE = 0,
	TA_EV_STATE = 1,    /* inet_sock_set_state: a = old, b = new */
	TA_EV_RST_SENT = 2, /* tcp_send_reset by this socket: a = reason, aux = unread */
	TA_EV_RST_RECV = 3, /* tcp_receive_reset: state = state before */
	TA_EV_SK_ERROR = 4, /* inet_sk_error_report: a = sk_err, b = sk_err_soft,
			     * c = TCP_USER_TIMEOUT (ms), probes, aux = head retransmits */
	TA_EV_DESTROY = 5,  /* tcp_destroy_sock */
	TA_EV_SEND = 6,	    /* sock_send_length: a = ret, b = flags, c = enum ta_sigpipe */
	TA_EV_RECV = 7,	    /* sock_recv_length: a = ret, b = flags */
	TA_EV_SYSCALL = 8,  /* a = ret, b = enum ta_sys, c = argument */
	TA_EV_PEER_RST = 9, /* RST sent to us by another socket of this host (or by none):
			     * a = reason, b = sender's state, aux = sender's unread bytes,
			     * peer_cookie = the sender, 0 if no socket */
	TA_EV_RETRANS = 10, /* tcp_retransmit_skb, the first of a run: a = err */
	TA_EV_JOIN = 11,    /* the socket was already open when tracing began (found at
			     * attach in a traced process's fd table, or when a process
			     * joined the scope): state = its state then, a = bytes
			     * received and not read, b = bytes sent and not acked,
			     * c = the fd, aux = a listener's accept-queue length */
	TA_EV_PROC = 12,    /* a traced process, not a socket (cookie 0): b = enum
			     * ta_proc, owner_tgid = the process, a = its parent (FORK,
			     * START) or its exit status as wait() reports it (EXIT) */
	TA_EV_SUMMARY = 13, /* the flight recorder's record of a healthy connection, sent at
			     * its end in place of its events (see struct ta_rev):
			     * a = the TCP states it passed through (bit 1 << state),
			     * b = enum ta_sum, c = events summarized, aux = the state
			     * it left for CLOSE, peer_cookie = ts_ns of its first event;
			     * ends the connection as TA_EV_DESTROY does */
	TA_EV_MAX,
	/*
	 * Between the kernel and the loader only, never in a log: a batch of a
	 * connection's recorded events.  The record is this ta_event (identity,
	 * tuple, owner; c = how many) followed by c struct ta_rev.
	 */
	TA_EV_BATCH = 0x100,
};

/* What a healthy connection's summary says (TA_EV_SUMMARY, field b). */
enum ta_sum {
	TA_SUM_OUR_FIN = 1 << 0,    /* we sent a FIN (ESTABLISHED -> FIN_WAIT1, CLOSE_WAIT ->
				     * LAST_ACK) */
	TA_SUM_PEER_FIN = 1 << 1,   /* a state move shows the peer's FIN */
	TA_SUM_OURS_FIRST = 1 << 2, /* our FIN went out before the peer's arrived */
	TA_SUM_HANDOFF = 1 << 3,    /* closed from FIN_WAIT2/CLOSING after our close(): the
				     * kernel went on in a timewait sock */
	TA_SUM_CLOSED = 1 << 4,	    /* the owner called close() (no exit, no other descriptor) */
	TA_SUM_CONNECT = 1 << 5,    /* born by connect() (else a child of a traced listener) */
};

/* Syscalls seen through sys_enter/sys_exit (TA_EV_SYSCALL, field b). */
enum ta_sys {
	TA_SYS_NONE = 0,
	TA_SYS_CONNECT = 1,  /* c = address family asked for */
	TA_SYS_ACCEPT = 2,   /* the record belongs to the accepted socket */
	TA_SYS_SHUTDOWN = 3, /* c = how */
	TA_SYS_CLOSE = 4,    /* c = fd; aux = other references to the open file that remain
			      * (a forked copy of the fd): when not 0, this close() released
			      * one descriptor and the socket stays open */
	TA_SYS_SO_ERROR = 5, /* getsockopt(SO_ERROR): c = value returned */
	TA_SYS_EXIT = 6,     /* the owner exited with the socket open: the kernel closed it on
			      * the process's behalf; c = the exit status as wait() reports it */
	TA_SYS_MAX
};

/* What a SIGPIPE raised by a send will do (TA_EV_SEND, field c). */
enum ta_sigpipe {
	TA_SIGPIPE_NONE = 0,
	TA_SIGPIPE_HANDLED = 1, /* raised; caught, ignored or blocked: the process lives */
	TA_SIGPIPE_FATAL = 2,	/* raised with the default action: the process is killed */
};

/* What happened to a traced process (TA_EV_PROC, field b). */
enum ta_proc {
	TA_PROC_NONE = 0,
	TA_PROC_START = 1, /* traced from the start: given on the command line, or found in scope */
	TA_PROC_FORK = 2,  /* forked by a traced process after the attach: followed */
	TA_PROC_EXEC = 3,  /* entered the scope by exec (--comm, --cgroup): comm is the new name */
	TA_PROC_EXIT = 4,  /* the whole process exited */
};

/* Bits in ta_event.flags. */
enum ta_flag {
	TA_F_LOST_BEFORE = 1 << 0, /* an event of this socket was dropped before */
	TA_F_SOFTIRQ = 1 << 1,	   /* emitted outside the owner's process context */
	TA_F_IPV6 = 1 << 2,	   /* addresses are IPv6 (else IPv4 in the first 4 bytes) */
	TA_F_MIDLIFE = 1 << 3,	   /* socket predates the attach */
};

/*
 * One event.  Addresses and ports are those of the traced socket (local =
 * s*, remote = d*), host byte order for ports.  tx and rx count the bytes
 * and calls that succeeded since the socket was first seen: successful
 * send/recv calls are coalesced in the kernel, only the first of a run is
 * emitted as its own record.
 */
struct ta_event {
	__u64 ts_ns;	   /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cookie;	   /* socket cookie: the connection's identity */
	__u64 peer_cookie; /* TA_EV_PEER_RST: the sender's cookie, 0 if none */
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u32 tx_calls;
	__u32 rx_calls;
	__u32 owner_tgid; /* process that owns the socket */
	__u32 task_tgid;  /* process running when the event fired */
	__u32 task_pid;	  /* its thread */
	__s32 a;	  /* kind-specific, see enum ta_kind */
	__s32 b;
	__s32 c;
	__u16 kind;  /* enum ta_kind */
	__u16 flags; /* enum ta_flag */
	__u16 sport;
	__u16 dport;
	__u8 state;    /* TCP state of the socket when the event fired (0: unknown) */
	__u8 probes;   /* SK_ERROR: keepalive probes sent, unanswered (icsk_probes_out) */
	__u16 retrans; /* retransmissions seen on this socket so far (saturates) */
	__u32 aux;     /* SK_ERROR: retransmissions of the unacked head (icsk_retransmits);
			* RST_SENT, PEER_RST: bytes the sender had received but not read */
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TA_COMM_LEN];	 /* comm of the running task (the thread's name) */
	char pcomm[TA_COMM_LEN]; /* its process's name (the thread group leader's comm) */
};

/*
 * One event in the kernel's flight recorder (per-socket storage) and in a
 * TA_EV_BATCH record: a ta_event without what the whole connection shares
 * (cookie, tuple, owner, the owner's process name).  comm is the running
 * thread's name; the loader takes the process name from the batch's head
 * when the thread belongs to the owner, else uses comm.
 */
struct ta_rev {
	__u64 ts_ns;
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u32 tx_calls;
	__u32 rx_calls;
	__u32 task_tgid;
	__u32 task_pid;
	__s32 a;
	__s32 b;
	__s32 c;
	__u32 aux;
	__u16 kind;
	__u16 flags;
	__u8 state;
	__u8 probes;
	__u16 retrans;
	char comm[TA_COMM_LEN];
};

/* Events a socket's recorder holds before it sends them on as a batch. */
#define TA_REC_SLOTS 16

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum ta_tcp_state {
	TA_TCP_ESTABLISHED = 1,
	TA_TCP_SYN_SENT,
	TA_TCP_SYN_RECV,
	TA_TCP_FIN_WAIT1,
	TA_TCP_FIN_WAIT2,
	TA_TCP_TIME_WAIT,
	TA_TCP_CLOSE,
	TA_TCP_CLOSE_WAIT,
	TA_TCP_LAST_ACK,
	TA_TCP_LISTEN,
	TA_TCP_CLOSING,
	TA_TCP_NEW_SYN_RECV,
	TA_TCP_BOUND_INACTIVE,
	TA_TCP_MAX_STATES
};

/*
 * A socket closed from these states without an RST goes on as a timewait
 * sock with the same cookie, which may still answer late data with an RST:
 * the BPF side keeps its entries for it, the session waits for it.
 */
static inline int ta_has_timewait_successor(unsigned int closed_from)
{
	return closed_from == TA_TCP_FIN_WAIT1 || closed_from == TA_TCP_FIN_WAIT2 ||
	       closed_from == TA_TCP_CLOSING;
}

#endif /* TCPABORT_H */
