// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of tcpabort-trace: thin hooks that record evidence about the
 * TCP sockets of the traced processes.  No verdicts here; user space decides.
 *
 * Ownership: a socket is traced when a traced process touches it from process
 * context (connect, listen, send, recv, one of the syscalls below), or when it
 * is born as the child of a traced listener.  Everything that fires later in
 * softirq or timer context (RSTs, state changes, errors) is attributed by
 * socket cookie through the `socks` map, never by `current`: on loopback the
 * peer's packets are processed in the sender's context.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpabort.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define SOL_SOCKET  1
#define SO_ERROR    4
#define SIGPIPE	    13
#define S_IFMT	    00170000
#define S_IFSOCK    0140000

/* sock_info.flags bits of our own, never sent (emit masks them off). */
#define SI_LISTENER (1 << 12) /* this socket is a traced listener */
#define SI_CLOSED   (1 << 13) /* its owner closed it, or exited: the kernel closed it */
#define SI_TIMEWAIT (1 << 14) /* destroyed, and a timewait sock carries on its tuple */
#define SI_STREAMED (1 << 15) /* recorder: an event of it went out on its own */
#define SI_NOSTORE  (1 << 11) /* recorder: traced, but its storage is not made yet */
#define SI_ABNORMAL (1 << 10) /* recorder: evidence a summary cannot carry */
#define SI_BORN	    (1 << 9)  /* its birth was seen: connect(), or cloned by a traced listener */

/* Bits of task_struct.flags (include/linux/sched.h), stable since 2.6. */
#define PF_EXITING 0x00000004

/* Configuration, set before load. */
const volatile bool follow_forks = true; /* trace children forked by traced processes */
const volatile bool scope_comm = false;	 /* --comm: processes that exec this name join */
const volatile char scope_comm_name[TA_COMM_LEN] = {};
const volatile bool scope_cgroup = false; /* --cgroup/--unit: processes in cgroup_scope join */

/*
 * Kernel-version fallbacks, chosen by src/kfeatures.c probes before load.
 * The verifier skips the branches these constants rule out, so a helper a
 * kernel lacks is never seen by it.
 */
const volatile bool cookie_helper = true;	/* bpf_get_socket_cookie in tracing: 5.12+ */
const volatile bool syscall_io = false;		/* send/recv results from syscalls: before 6.3 */
const volatile bool error_at_close = false;	/* sk_err read at CLOSE: before 5.14 */
const volatile bool tw_rst_at_receiver = false; /* timewait RSTs seen arriving: before 6.10 */
const volatile bool child_own_id = true; /* a child with its listener's cookie: 6.1 and before */
/*
 * The flight recorder (socket storage in tracing programs: 5.11+): each
 * traced socket keeps its events in its own storage; a healthy connection
 * sends one summary at its end, any other its whole history in one batch.
 * Off, every event goes out on its own as it happens.
 */
const volatile bool recorder = false;
const volatile bool record_all = false; /* --all: every connection's history, no summaries */
const volatile __u64 wake_bytes = 0;	/* wake the reader once this much waits; 0: always */

/* Counters user space reads (.bss). */
__u64 untracked = 0;	   /* sockets of traced processes not traced: the socket table was full */
__u64 nostore = 0;	   /* recorder: traced sockets whose storage is not made yet */
__u64 queued_children = 0; /* children waiting in seeded listeners' queues at attach */
__u64 ends_lost = 0;	   /* connections whose end reached user space in no form at all */
__u32 draining = 0;	   /* tracing ends: every recorder sends what it holds at once */

/* Per-socket state, keyed by cookie. */
struct sock_info {
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u32 tx_calls;
	__u32 rx_calls;
	__u32 tgid;
	__u32 netns;   /* inode number of its network namespace */
	__u32 retrans; /* retransmissions seen */
	__s32 tx_run;  /* class of the last emitted send of the current run */
	__s32 rx_run;
	__u16 flags; /* TA_F_IPV6, TA_F_MIDLIFE, SI_* */
	__u16 sport;
	__u16 dport;
	__u8 lost;	  /* an event was dropped, tell the next one */
	__u8 closed_from; /* the state the socket left for CLOSE */
	__u8 pad[3];	  /* keep the addresses 4-byte aligned */
	__u8 runs;	  /* open runs: 1 send, 2 recv, 4 retransmit */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 states;	  /* recorder: the states it passed through, 1 << state */
	__u16 sum;	  /* recorder: enum ta_sum */
	__u8 has_pending; /* recorder: pending holds a syscall record */
	__u8 pad2;
	/*
	 * A syscall record made where the socket's storage cannot be reached
	 * (the fd table gives no pointer the helpers accept): it joins the
	 * recorder at the socket's next event.
	 */
	struct ta_rev pending;
};

/* A socket's flight recorder, in its own storage. */
struct rec {
	struct ta_event head; /* the batch's head, filled when it is sent */
	struct ta_rev ev[TA_REC_SLOTS];
	__u64 first_ts;
	__u32 n;     /* events held */
	__u32 total; /* events recorded since it was traced */
	__u32 named; /* the owner whose process name head.pcomm holds */
	__u32 pad;
};

/* The traced socket's own view of its 4-tuple, for finding it from a peer's RST. */
struct tuple_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 v6;
	__u32 netns; /* the same loopback tuple can exist in every network namespace */
};

/*
 * A connecting socket before its local port is known: connect() moves to
 * SYN_SENT before it picks the port, and on loopback the answer to the SYN
 * arrives inside the same connect() call.
 */
struct connect_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 dport;
	__u16 v6;
	__u32 netns;
};

struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

/* Arguments saved at sys_enter for sys_exit, per thread. */
struct sys_args {
	__u64 sk;     /* send/recv before 6.3: the socket, resolved at entry */
	__u64 optval; /* getsockopt: user pointer */
	__s32 fd;
	__s32 arg;
	__u32 sys; /* enum ta_sys */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} traced_tgids SEC(".maps");

/* --cgroup/--unit: slot 0 holds the scope's cgroup (v2); descendants count. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_scope SEC(".maps");

/*
 * The traced sockets, by id.  A plain hash, sized by user space
 * (--max-sockets): a live socket's entry is never evicted, and one that does
 * not fit is counted (`untracked`), never silently dropped.  Entries leave at
 * tcp_destroy_sock; those whose timewait sock carries on move to tw_socks.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_info);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tuple_key);
	__type(value, __u64);
} tuples SEC(".maps");

/*
 * Closed sockets whose timewait sock may still answer late data with an
 * RST: kept apart, and retired by the LRU, so that they never take the
 * room of live ones.  Losing one only loses the attribution of a late RST.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sock_info);
} tw_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tuple_key);
	__type(value, __u64);
} tw_tuples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rec);
} recs SEC(".maps");

/* Entries leave when the socket leaves SYN_SENT: a plain hash, cheaper than an LRU. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct connect_key);
	__type(value, __u64);
} connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, __u32);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sys_args);
} sys_pending SEC(".maps");

/* Threads of traced processes that were just sent SIGPIPE by a send. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} sigpipe_pending SEC(".maps");

/*
 * Identities of our own, by socket pointer, where the kernel's cookie cannot
 * be used (sock_id()); deleted at tcp_destroy_sock, so a recycled pointer
 * never inherits one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} own_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} own_id_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Ring-buffer reservations that failed, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * A socket's identity (kernel-facts §6): its cookie, unless it was given one
 * of our own, which then wins for the rest of its life.  Own ids have bit 62
 * set, the CPU in the low byte and a per-CPU sequence between: never a
 * kernel cookie (a 64-bit counter from 1), never two sockets alike.
 */
#define OWN_ID_BIT (1ULL << 62)

static __always_inline __u64 *own_id_of(const void *sk)
{
	__u64 key = (__u64)sk;

	/* Only kernels that need them make own ids (6.1 and before): spare the lookup. */
	if (cookie_helper && !child_own_id)
		return NULL;
	return bpf_map_lookup_elem(&own_ids, &key);
}

static __always_inline __u64 own_id(const void *sk)
{
	__u64 key = (__u64)sk, id, *seq;
	__u32 zero = 0;

	seq = bpf_map_lookup_elem(&own_id_seq, &zero);
	if (!seq)
		return 0;
	*seq += 1;
	id = OWN_ID_BIT | (*seq & ((1ULL << 52) - 1)) << 8 | (bpf_get_smp_processor_id() & 0xff);
	/* Full: no id that would not last; the socket goes untraced, and counted. */
	if (bpf_map_update_elem(&own_ids, &key, &id, BPF_ANY))
		return 0;
	return id;
}

/*
 * sock_id: for a socket pointer the verifier trusts (a tp_btf argument).
 * Before 5.12 tracing programs cannot call bpf_get_socket_cookie: the
 * kernel's skc_cookie is read instead, and is 0 until something asked for
 * it, so a socket we start to trace then gets an id of its own (ensure_id).
 */
static __always_inline __u64 sock_id(const struct sock *sk)
{
	__u64 *own = own_id_of(sk);

	if (own)
		return *own;
	if (cookie_helper)
		return bpf_get_socket_cookie((void *)sk);
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/* The same for a pointer found by probe reads (syscalls, the fd table). */
static __always_inline __u64 sock_id_read(const struct sock *sk)
{
	__u64 *own;

	if (!sk)
		return 0;
	own = own_id_of(sk);
	if (own)
		return *own;
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/* An identity for a socket we are about to trace. */
static __always_inline __u64 ensure_id(const struct sock *sk, __u64 id)
{
	return id ? id : own_id(sk);
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced_tgids, &tgid) != NULL;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP &&
	       (family == AF_INET || family == AF_INET6);
}

static __always_inline bool v4_mapped(const __u8 *a)
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}

/*
 * Refresh the tuple from the socket unless its local port is already gone:
 * connect() sets SYN_SENT before it picks a port, and the port reads 0 again
 * at CLOSE and at destroy.  So the tuple is the last one seen with a port.
 */
static __always_inline void read_tuple(const struct sock_common *skc, struct sock_info *si,
				       __u16 sport)
{
	__u16 family = BPF_CORE_READ(skc, skc_family);
	__u16 dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));

	/* A listener has no remote port; a socket without a local port has no tuple yet. */
	if (!sport)
		return;
	si->sport = sport;
	si->dport = dport;
	if (family == AF_INET6) {
		bpf_core_read(si->saddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(si->daddr, 16, &skc->skc_v6_daddr);
		if (v4_mapped(si->saddr) && v4_mapped(si->daddr)) {
			__builtin_memcpy(si->saddr, si->saddr + 12, 4);
			__builtin_memcpy(si->daddr, si->daddr + 12, 4);
			__builtin_memset(si->saddr + 4, 0, 12);
			__builtin_memset(si->daddr + 4, 0, 12);
			si->flags &= ~TA_F_IPV6;
		} else {
			si->flags |= TA_F_IPV6;
		}
	} else {
		__builtin_memset(si->saddr, 0, sizeof(si->saddr));
		__builtin_memset(si->daddr, 0, sizeof(si->daddr));
		/* Explicit sizes: BPF_CORE_READ_INTO on an array would read one byte. */
		bpf_core_read(si->saddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(si->daddr, 4, &skc->skc_daddr);
		si->flags &= ~TA_F_IPV6;
	}
}

/*
 * The local port: skc_num, or, once CLOSE has released it (an accepted child
 * reset in the accept queue, a refused connect), the full socket's
 * inet_sport, which stays.  Timewait and request socks keep skc_num.
 */
static __always_inline __u16 local_port(const struct sock_common *skc)
{
	__u16 port = BPF_CORE_READ(skc, skc_num);
	__u8 state = BPF_CORE_READ(skc, skc_state);

	if (port || state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return port;
	return bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)skc, inet_sport));
}

static __always_inline void tuple_key_of(const struct sock_info *si, struct tuple_key *k)
{
	__builtin_memcpy(k->saddr, si->saddr, sizeof(k->saddr));
	__builtin_memcpy(k->daddr, si->daddr, sizeof(k->daddr));
	k->sport = si->sport;
	k->dport = si->dport;
	k->v6 = !!(si->flags & TA_F_IPV6);
	k->netns = si->netns;
}

static __always_inline __u32 netns_of(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Start tracing a socket for tgid.  Returns its state, or NULL when the map is full. */
static __always_inline struct sock_info *track(__u64 cookie, const struct sock_common *skc,
					       __u32 tgid)
{
	struct sock_info si = {};
	struct sock_info *p;

	if (!cookie) {
		__sync_fetch_and_add(&untracked, 1);
		return NULL;
	}
	si.tgid = tgid;
	si.netns = netns_of((const struct sock *)skc);
	read_tuple(skc, &si, local_port(skc));
	/* Its storage is made by its first event that can reach it (emit). */
	if (recorder)
		si.flags |= SI_NOSTORE;
	if (bpf_map_update_elem(&socks, &cookie, &si, BPF_NOEXIST)) {
		p = bpf_map_lookup_elem(&socks, &cookie);
		if (!p)
			__sync_fetch_and_add(&untracked, 1);
		return p;
	}
	if (recorder)
		__sync_fetch_and_add(&nostore, 1);
	p = bpf_map_lookup_elem(&socks, &cookie);
	if (p && p->sport) {
		struct tuple_key k = {};

		tuple_key_of(p, &k);
		bpf_map_update_elem(&tuples, &k, &cookie, BPF_ANY);
	}
	return p;
}

static __always_inline void refresh_tuple(__u64 cookie, const struct sock_common *skc,
					  struct sock_info *si)
{
	__u16 had = si->sport;

	/* A socket keeps its tuple once it has one. */
	if (had)
		return;
	read_tuple(skc, si, local_port(skc));
	if (!had && si->sport) {
		struct tuple_key k = {};

		tuple_key_of(si, &k);
		bpf_map_update_elem(&tuples, &k, &cookie, BPF_ANY);
	}
}

/* What one record says beyond the socket's own state; zero means nothing. */
struct ev_args {
	struct task_struct *task; /* the task the event is about, when not current */
	const struct sock *sk;	  /* the socket, as a hook's argument: its recorder is reachable */
	__u64 peer;
	__s32 a;
	__s32 b;
	__s32 c;
	__u32 aux;
	__u16 kind;
	__u8 state;
	__u8 probes;
};

#define EV(...) (&(struct ev_args){ __VA_ARGS__ })

static __always_inline void count_lost(__u64 n)
{
	__u32 zero = 0;
	__u64 *p = bpf_map_lookup_elem(&lost, &zero);

	if (p)
		*p += n;
}

/*
 * Wake the reader in batches: it reads every POLL_MS anyway, and is woken
 * early only once wake_bytes wait.  A wake-up per record costs the traced
 * process more than the record (irq_work, then the reader's context switch).
 */
static __always_inline __u64 wake_flags(void)
{
	if (!wake_bytes)
		return 0;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes ? BPF_RB_FORCE_WAKEUP
									   : BPF_RB_NO_WAKEUP;
}

/*
 * What a record says beyond the connection's identity: the same fields, by
 * name, in a ta_event (sent alone) and a ta_rev (kept in the recorder).
 */
#define FILL_EVENT(r, si, x, task, id)                                                             \
	do {                                                                                       \
		(r)->ts_ns = bpf_ktime_get_ns();                                                   \
		(r)->tx_bytes = (si)->tx_bytes;                                                    \
		(r)->rx_bytes = (si)->rx_bytes;                                                    \
		(r)->tx_calls = (si)->tx_calls;                                                    \
		(r)->rx_calls = (si)->rx_calls;                                                    \
		if (task)                                                                          \
			id = (__u64)BPF_CORE_READ(task, tgid) << 32 | BPF_CORE_READ(task, pid);    \
		(r)->task_tgid = (id) >> 32;                                                       \
		(r)->task_pid = (__u32)(id);                                                       \
		(r)->a = (x)->a;                                                                   \
		(r)->b = (x)->b;                                                                   \
		(r)->c = (x)->c;                                                                   \
		(r)->aux = (x)->aux;                                                               \
		(r)->kind = (x)->kind;                                                             \
		(r)->flags = (si)->flags & (TA_F_IPV6 | TA_F_MIDLIFE);                             \
		if ((si)->lost)                                                                    \
			(r)->flags |= TA_F_LOST_BEFORE;                                            \
		if ((__u32)((id) >> 32) != (si)->tgid)                                             \
			(r)->flags |= TA_F_SOFTIRQ;                                                \
		(r)->state = (x)->state;                                                           \
		(r)->probes = (x)->probes;                                                         \
		(r)->retrans = (si)->retrans > 0xffff ? 0xffff : (si)->retrans;                    \
	} while (0)

/* One record on its own, now. */
static __always_inline void stream(__u64 cookie, struct sock_info *si, const struct ev_args *x)
{
	/* A plain local: CO-RE relocates kernel types only, not struct ev_args. */
	struct task_struct *task = x->task;
	struct ta_event *e;
	__u64 id = bpf_get_current_pid_tgid();

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(1);
		si->lost = 1;
		return;
	}
	FILL_EVENT(e, si, x, task, id);
	e->cookie = cookie;
	e->peer_cookie = x->peer;
	e->owner_tgid = si->tgid;
	e->sport = si->sport;
	e->dport = si->dport;
	__builtin_memcpy(e->saddr, si->saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, si->daddr, sizeof(e->daddr));
	if (task) {
		BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
		BPF_CORE_READ_STR_INTO(&e->pcomm, task, group_leader, comm);
	} else {
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		BPF_CORE_READ_STR_INTO(&e->pcomm, (struct task_struct *)bpf_get_current_task(),
				       group_leader, comm);
	}
	bpf_ringbuf_submit(e, wake_flags());
	si->lost = 0;
}

static __always_inline bool transient(int ret)
{
	return ret == -11 || ret == -4 || ret == -115 || ret == -114; /* EAGAIN EINTR
								       * EINPROGRESS EALREADY */
}

/*
 * The recorder's triage, evidence by evidence (no verdicts): what a healthy
 * summary could not carry marks the socket SI_ABNORMAL, and its whole
 * history goes to user space.  The summary's own facts (which FIN came
 * first, whether close() was called) are collected here too.  Anything not
 * named as harmless is abnormal.
 */
static __always_inline void triage(struct sock_info *si, const struct ev_args *x)
{
	int o = x->a, n = x->b;

	switch (x->kind) {
	case TA_EV_STATE:
		si->states |= 1U << (n & 31);
		if ((o == TCP_ESTABLISHED && n == TCP_FIN_WAIT1) ||
		    (o == TCP_CLOSE_WAIT && n == TCP_LAST_ACK)) {
			if (!(si->sum & TA_SUM_PEER_FIN))
				si->sum |= TA_SUM_OURS_FIRST;
			si->sum |= TA_SUM_OUR_FIN;
		} else if ((o == TCP_ESTABLISHED && n == TCP_CLOSE_WAIT) ||
			   (o == TCP_FIN_WAIT1 && n == TCP_CLOSING) ||
			   (o == TCP_FIN_WAIT2 && n == TCP_TIME_WAIT)) {
			si->sum |= TA_SUM_PEER_FIN;
		} else if (n == TCP_CLOSE) {
			/*
			 * The passive closer's last ACK, or an orphan handed to its
			 * timewait sock after our close().  From anywhere else
			 * (SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2 with no close
			 * seen...) the move needs the whole history to be read.
			 */
			if (o == TCP_LAST_ACK)
				break;
			if ((o == TCP_FIN_WAIT2 || o == TCP_CLOSING || o == TCP_TIME_WAIT) &&
			    (si->sum & TA_SUM_CLOSED))
				si->sum |= TA_SUM_HANDOFF;
			else
				si->flags |= SI_ABNORMAL;
		} else if (n == TCP_LISTEN) {
			si->flags |= SI_ABNORMAL;
		}
		break;
	case TA_EV_SEND:
	case TA_EV_RECV:
		if ((o < 0 && !transient(o)) || x->c)
			si->flags |= SI_ABNORMAL;
		break;
	case TA_EV_SYSCALL:
		if (n == TA_SYS_CLOSE) {
			if (!x->aux)
				si->sum |= TA_SUM_CLOSED;
		} else if (n == TA_SYS_CONNECT) {
			if ((o < 0 && !transient(o)) || x->c == 0 /* AF_UNSPEC */)
				si->flags |= SI_ABNORMAL;
		} else if (n == TA_SYS_SO_ERROR) {
			if (o || x->c)
				si->flags |= SI_ABNORMAL;
		} else if (n != TA_SYS_ACCEPT) {
			si->flags |= SI_ABNORMAL; /* shutdown, the owner's exit */
		}
		break;
	case TA_EV_RETRANS:
	case TA_EV_DESTROY:
		break;
	default:
		si->flags |= SI_ABNORMAL; /* RSTs, errors, a socket that predates the attach */
	}
}

/* Sends what the recorder holds as one batch: a ta_event head, then n ta_rev. */
static __always_inline void flush(__u64 cookie, struct sock_info *si, struct rec *rec)
{
	__u32 n = rec->n;
	struct ta_event *h = &rec->head;

	if (!n)
		return;
	if (n > TA_REC_SLOTS)
		n = TA_REC_SLOTS;
	h->cookie = cookie;
	h->kind = TA_EV_BATCH;
	h->c = n;
	h->owner_tgid = si->tgid;
	h->flags = si->flags & (TA_F_IPV6 | TA_F_MIDLIFE);
	h->sport = si->sport;
	h->dport = si->dport;
	__builtin_memcpy(h->saddr, si->saddr, sizeof(h->saddr));
	__builtin_memcpy(h->daddr, si->daddr, sizeof(h->daddr));
	if (bpf_ringbuf_output(&events, h, sizeof(*h) + n * sizeof(struct ta_rev), wake_flags())) {
		count_lost(n);
		si->lost = 1;
	}
	rec->n = 0;
	/* User space holds part of its events now: its end is sent in full. */
	si->flags |= SI_STREAMED;
}

/* The next free slot; a full recorder is sent on first. */
static __always_inline struct ta_rev *slot(__u64 cookie, struct sock_info *si, struct rec *rec)
{
	__u32 n = rec->n;

	if (n >= TA_REC_SLOTS) {
		flush(cookie, si, rec);
		n = 0;
	}
	rec->n = n + 1;
	rec->total++;
	return &rec->ev[n & (TA_REC_SLOTS - 1)];
}

static __always_inline void fill_rev(struct ta_rev *r, struct sock_info *si,
				     const struct ev_args *x)
{
	struct task_struct *task = x->task;
	__u64 id = bpf_get_current_pid_tgid();

	FILL_EVENT(r, si, x, task, id);
	if (task)
		BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	else
		bpf_get_current_comm(r->comm, sizeof(r->comm));
	si->lost = 0;
}

static __always_inline bool full_sock(const struct sock *sk)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	return state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
}

/* The socket's recorder, made on first use; NULL where it cannot be reached. */
static __always_inline struct rec *sock_rec(__u64 cookie, struct sock_info *si,
					    const struct sock *sk)
{
	struct rec *rec;

	/* After tcp_destroy_sock nothing of it is read again: what follows goes out alone. */
	if (!recorder || !sk || (si->flags & SI_TIMEWAIT) || !full_sock(sk))
		return NULL;
	rec = bpf_sk_storage_get(&recs, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rec)
		return NULL;
	if (si->flags & SI_NOSTORE) {
		si->flags &= ~SI_NOSTORE;
		__sync_fetch_and_sub(&nostore, 1);
	}
	if (!rec->first_ts)
		rec->first_ts = bpf_ktime_get_ns();
	/* For the flush at the end of tracing, which finds the storage, not the entry. */
	rec->head.cookie = cookie;
	/* A syscall record made where the storage could not be reached comes first. */
	if (si->has_pending) {
		struct ta_rev *r = slot(cookie, si, rec);

		__builtin_memcpy(r, &si->pending, sizeof(*r));
		si->has_pending = 0;
	}
	return rec;
}

/*
 * Every record of a traced socket goes through here: into its recorder
 * when the hook handed us the socket, else out on its own at once.
 */
static __always_inline void emit(__u64 cookie, struct sock_info *si, const struct ev_args *x)
{
	struct rec *rec;
	struct ta_rev *r;

	if (!recorder) {
		stream(cookie, si, x);
		return;
	}
	triage(si, x);
	rec = sock_rec(cookie, si, x->sk);
	if (!rec) {
		si->flags |= SI_STREAMED;
		stream(cookie, si, x);
		return;
	}
	r = slot(cookie, si, rec);
	fill_rev(r, si, x);
	if (draining) {
		flush(cookie, si, rec);
		return;
	}
	/* The owner's process name, once per owner, for the batch's head. */
	if (r->task_tgid == si->tgid && rec->named != si->tgid) {
		BPF_CORE_READ_STR_INTO(&rec->head.pcomm,
				       (struct task_struct *)bpf_get_current_task(), group_leader,
				       comm);
		rec->named = si->tgid;
	}
}

/*
 * A syscall record where only a probe-read socket pointer is at hand: kept
 * in the socket's entry until its next event reaches the recorder.
 */
static __always_inline void emit_pending(__u64 cookie, struct sock_info *si,
					 const struct ev_args *x)
{
	if (!recorder) {
		stream(cookie, si, x);
		return;
	}
	triage(si, x);
	if (si->has_pending) {
		/* One slot: this one goes out on its own (user space orders by time). */
		si->flags |= SI_STREAMED;
		stream(cookie, si, x);
		return;
	}
	fill_rev(&si->pending, si, x);
	si->has_pending = 1;
}

/* Any record other than a coalesced send/recv/retransmit closes the runs. */
static __always_inline void emit_other(__u64 cookie, struct sock_info *si, const struct ev_args *x)
{
	si->runs = 0;
	emit(cookie, si, x);
}

/*
 * The owner is exiting and the kernel is closing its descriptors on its
 * behalf (exit_files runs after sched_process_exit): say so once, before the
 * socket's first teardown event, so no rule reads the teardown as the peer's.
 */
static __always_inline void note_exit_close(__u64 cookie, struct sock_info *si, __u8 state,
					    const struct sock *sk)
{
	struct task_struct *task;

	if (si->flags & SI_CLOSED)
		return;
	/* The owner's own context first: a softirq or a peer never is its exit. */
	if (current_tgid() != si->tgid)
		return;
	task = (struct task_struct *)bpf_get_current_task();
	if (!(BPF_CORE_READ(task, flags) & PF_EXITING))
		return;
	si->flags |= SI_CLOSED;
	emit_other(cookie, si,
		   EV(.kind = TA_EV_SYSCALL, .sk = sk, .state = state, .b = TA_SYS_EXIT,
		      .c = BPF_CORE_READ(task, exit_code)));
}

/* The traced listener on this socket's local port, if any: the socket is its child. */
static __always_inline __u32 *listener_owner(const struct sock *sk)
{
	struct listen_key lk = {
		.netns = netns_of(sk),
		.port = BPF_CORE_READ(sk, __sk_common.skc_num),
	};

	return bpf_map_lookup_elem(&listeners, &lk);
}

static __always_inline void connect_key_of(const struct sock *sk, struct connect_key *ck)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	ck->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ck->netns = netns_of(sk);
	if (family == AF_INET6) {
		bpf_core_read(ck->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(ck->daddr, 16, &sk->__sk_common.skc_v6_daddr);
		ck->v6 = 1;
	} else {
		bpf_core_read(ck->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(ck->daddr, 4, &sk->__sk_common.skc_daddr);
	}
}

/* The stored error, and what decides between the timeouts: user timeout, probes, retransmits. */
static __always_inline void error_record(__u64 cookie, struct sock_info *si, const struct sock *sk,
					 __u8 state)
{
	const struct inet_connection_sock *icsk = (const struct inet_connection_sock *)sk;

	emit_other(cookie, si,
		   EV(.kind = TA_EV_SK_ERROR, .sk = sk, .state = state,
		      .a = BPF_CORE_READ(sk, sk_err), .b = BPF_CORE_READ(sk, sk_err_soft),
		      .c = BPF_CORE_READ(icsk, icsk_user_timeout),
		      .probes = BPF_CORE_READ(icsk, icsk_probes_out),
		      .aux = BPF_CORE_READ(icsk, icsk_retransmits)));
}

/* A traced socket's entry by id: live, or closed with a timewait sock carrying on. */
static __always_inline struct sock_info *si_of(__u64 cookie)
{
	struct sock_info *si = bpf_map_lookup_elem(&socks, &cookie);

	return si ? si : bpf_map_lookup_elem(&tw_socks, &cookie);
}

static __always_inline __u64 *cookie_of_tuple(const struct tuple_key *k)
{
	__u64 *c = bpf_map_lookup_elem(&tuples, k);

	return c ? c : bpf_map_lookup_elem(&tw_tuples, k);
}

/* Cheap: could this full socket be traced?  (Recorder: only then has it storage.) */
static __always_inline bool traced_sock(const struct sock *sk)
{
	return !recorder || nostore || bpf_sk_storage_get(&recs, (void *)sk, 0, 0);
}

/*
 * With the recorder, a traced socket has storage: one without it is not
 * ours unless this move makes it ours (connect, listen, a traced listener's
 * child, or one that waited in a seeded listener's queue) or some traced
 * entry still waits for its storage.  Every untraced socket of the host
 * stops here, before a cookie is made for it: one storage lookup, and one
 * map lookup on the moves that may make it ours.
 */
enum { NOT_OURS = 0, MAYBE_OURS, OURS };

static __always_inline int maybe_ours(const struct sock *sk, int oldstate, int newstate)
{
	if (!recorder || nostore)
		return MAYBE_OURS;
	/* Storage is made only for traced TCP sockets: no need to ask is_tcp() again. */
	if (bpf_sk_storage_get(&recs, (void *)sk, 0, 0))
		return OURS;
	if (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN)
		return tgid_traced(current_tgid()) ? MAYBE_OURS : NOT_OURS;
	if (oldstate == TCP_LISTEN ||
	    (queued_children && (oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT)))
		return listener_owner(sk) ? MAYBE_OURS : NOT_OURS;
	return NOT_OURS;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct sock_info *si;
	int ours;
	__u64 cookie;
	__u32 tgid;

	ours = maybe_ours(sk, oldstate, newstate);
	if (ours == NOT_OURS || (ours == MAYBE_OURS && !is_tcp(sk)))
		return 0;
	cookie = sock_id(sk);
	si = cookie ? bpf_map_lookup_elem(&socks, &cookie) : NULL;
	if (child_own_id && oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV && si &&
	    (si->flags & SI_LISTENER)) {
		/*
		 * A child still carrying its listener's cookie.  Seen on 6.1
		 * (Debian 12), not on 6.12: the child's LISTEN -> SYN_RECV event
		 * reads the listener's cookie and its later events another one.
		 * Our reading: the clone is a copy of the listener, and
		 * inet_csk_clone_lock() sets SYN_RECV before the child's own
		 * cookie is set.  Neither value is the child's for good, so it
		 * gets an id of our own (child_own_id).
		 */
		cookie = own_id(sk);
		si = NULL;
	}
	if (!si) {
		__u32 *owner;

		tgid = current_tgid();
		if ((newstate == TCP_SYN_SENT || newstate == TCP_LISTEN) && tgid_traced(tgid)) {
			/* connect() and listen() run in the owner's context. */
			cookie = ensure_id(sk, cookie);
			si = track(cookie, &sk->__sk_common, tgid);
			if (si && oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
				si->flags |= SI_BORN, si->sum |= TA_SUM_CONNECT;
		} else if (!(oldstate == TCP_LISTEN && newstate == TCP_CLOSE) &&
			   (owner = listener_owner(sk))) {
			/*
			 * A child of a traced listener: born in softirq (LISTEN ->
			 * SYN_RECV), or already waiting in the accept queue of a
			 * listener found at attach, whose FIN or RST moves it now.
			 */
			cookie = ensure_id(sk, cookie);
			si = track(cookie, &sk->__sk_common, *owner);
			if (si && oldstate != TCP_LISTEN)
				si->flags |= TA_F_MIDLIFE;
			else if (si)
				si->flags |= SI_BORN;
		}
		if (!si)
			return 0;
	}
	refresh_tuple(cookie, &sk->__sk_common, si);
	if (newstate == TCP_CLOSE || (oldstate == TCP_ESTABLISHED && newstate == TCP_FIN_WAIT1) ||
	    (oldstate == TCP_CLOSE_WAIT && newstate == TCP_LAST_ACK))
		note_exit_close(cookie, si, oldstate, sk);
	/*
	 * Only the listener itself adds or removes the adoption entry: its
	 * children are cloned in LISTEN and leave it too (LISTEN -> SYN_RECV).
	 */
	if (newstate == TCP_LISTEN || (oldstate == TCP_LISTEN && (si->flags & SI_LISTENER))) {
		struct listen_key lk = { .netns = netns_of(sk), .port = si->sport };

		if (!lk.port)
			lk.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		if (newstate == TCP_LISTEN) {
			si->flags |= SI_LISTENER;
			bpf_map_update_elem(&listeners, &lk, &si->tgid, BPF_ANY);
		} else {
			si->flags &= ~SI_LISTENER;
			bpf_map_delete_elem(&listeners, &lk);
		}
	}
	if (newstate == TCP_SYN_SENT || oldstate == TCP_SYN_SENT) {
		struct connect_key ck = {};

		connect_key_of(sk, &ck);
		if (newstate == TCP_SYN_SENT)
			bpf_map_update_elem(&connecting, &ck, &cookie, BPF_ANY);
		else
			bpf_map_delete_elem(&connecting, &ck);
	}
	if (newstate == TCP_CLOSE)
		si->closed_from = oldstate;
	if (error_at_close && newstate == TCP_CLOSE) {
		/*
		 * Before 5.14 (no inet_sk_error_report) the stored error is read
		 * where tcp_done() moves to CLOSE: tcp_reset(), tcp_write_err()
		 * and tcp_abort() set sk_err first.  tcp_disconnect() sets it
		 * after, so that one stays unseen.
		 */
		int err = BPF_CORE_READ(sk, sk_err);

		if (err)
			error_record(cookie, si, sk, oldstate);
	}
	emit_other(
		cookie, si,
		EV(.kind = TA_EV_STATE, .sk = sk, .state = oldstate, .a = oldstate, .b = newstate));
	return 0;
}

/*
 * Find the traced socket an RST is addressed to.  With an skb (the segment
 * that provoked it), the receiver's local side is the skb's source; without
 * one (an active reset) it is the sender's remote side.
 */
static __always_inline __u64 rst_target(const struct sock *sk, const struct sk_buff *skb)
{
	struct tuple_key k = {};
	bool syn = false;
	__u64 *cookie;

	if (skb) {
		unsigned char *head = BPF_CORE_READ(skb, head);
		__u16 nh = BPF_CORE_READ(skb, network_header);
		__u16 th = BPF_CORE_READ(skb, transport_header);
		__u8 ver = 0;
		struct tcphdr tcp;

		if (bpf_probe_read_kernel(&ver, 1, head + nh))
			return 0;
		if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
			return 0;
		if ((ver >> 4) == 4) {
			struct iphdr ip;

			if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
				return 0;
			__builtin_memcpy(k.saddr, &ip.saddr, 4);
			__builtin_memcpy(k.daddr, &ip.daddr, 4);
		} else if ((ver >> 4) == 6) {
			struct ipv6hdr ip6;

			if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
				return 0;
			__builtin_memcpy(k.saddr, &ip6.saddr, 16);
			__builtin_memcpy(k.daddr, &ip6.daddr, 16);
			k.v6 = 1;
		} else {
			return 0;
		}
		k.sport = bpf_ntohs(tcp.source);
		k.dport = bpf_ntohs(tcp.dest);
		syn = tcp.syn && !tcp.ack;
		/* The sender's namespace: its socket's, or (no socket) the receiving device's. */
		k.netns = sk ? netns_of(sk) : BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	} else if (sk) {
		/*
		 * An active reset comes from a full socket that is already CLOSE,
		 * and CLOSE released its port (skc_num reads 0); inet_sport keeps it.
		 */
		struct sock_info tmp = {};
		__u16 sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));

		read_tuple(&sk->__sk_common, &tmp, sport);
		__builtin_memcpy(k.saddr, tmp.daddr, 16);
		__builtin_memcpy(k.daddr, tmp.saddr, 16);
		k.sport = tmp.dport;
		k.dport = tmp.sport;
		k.v6 = !!(tmp.flags & TA_F_IPV6);
		k.netns = netns_of(sk);
	} else {
		return 0;
	}
	cookie = cookie_of_tuple(&k);
	if (!cookie && syn) {
		/* A refused SYN: its socket's port may not be known yet. */
		struct connect_key ck = { .dport = k.dport, .v6 = k.v6, .netns = k.netns };

		__builtin_memcpy(ck.saddr, k.saddr, 16);
		__builtin_memcpy(ck.daddr, k.daddr, 16);
		cookie = bpf_map_lookup_elem(&connecting, &ck);
	}
	return cookie ? *cookie : 0;
}

/*
 * Bytes a full socket had received but not read: what makes close() send
 * TCP_ABORT_ON_CLOSE.  A received FIN takes a sequence number of its own.
 */
static __always_inline __u32 unread_bytes(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	__u32 n;

	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV || state == TCP_LISTEN)
		return 0;
	n = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
	if (n && (BPF_CORE_READ(sk, __sk_common.skc_flags) & (1UL << SOCK_DONE)))
		n--;
	return n;
}

static __always_inline void send_reset(const struct sock *sk, const struct sk_buff *skb, int reason)
{
	struct sock_info *si;
	__u64 cookie = 0, target;
	__u32 unread = 0;
	__u8 state = 0;

	if (sk) {
		cookie = sock_id(sk);
		state = BPF_CORE_READ(sk, __sk_common.skc_state);
		unread = unread_bytes(sk);
		si = si_of(cookie);
		if (si)
			emit_other(cookie, si,
				   EV(.kind = TA_EV_RST_SENT, .sk = sk, .state = state, .a = reason,
				      .aux = unread));
	}
	/* Both ends may be traced: the receiver hears of it too. */
	target = rst_target(sk, skb);
	if (target && target != cookie) {
		si = si_of(target);
		if (si)
			emit_other(target, si,
				   EV(.kind = TA_EV_PEER_RST, .a = reason, .b = state,
				      .aux = unread, .peer = cookie));
	}
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_send_reset, const struct sock *sk, const struct sk_buff *skb, int reason)
{
	send_reset(sk, skb, reason);
	return 0;
}

/* Before 6.10 the tracepoint has no reason, and fires only for full sockets. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_send_reset_noreason, const struct sock *sk, const struct sk_buff *skb)
{
	send_reset(sk, skb, -1);
	return 0;
}

/*
 * Before 6.10 tcp_send_reset does not fire for a timewait sock, so the RST
 * that our closed socket's successor sends leaves no record on our side.
 * When its receiver is on this host (same namespace) its tcp_receive_reset
 * shows it: the receiver's tuple, reversed, is our socket's.  Recorded as our
 * RST, reason unknown (user space infers TCP_TIMEWAIT_SOCKET from the state).
 */
static __always_inline void timewait_rst_seen(const struct sock *sk, __u64 receiver)
{
	struct sock_info tmp = {}, *si;
	struct tuple_key k = {};
	__u64 *target;

	read_tuple(&sk->__sk_common, &tmp, local_port(&sk->__sk_common));
	if (!tmp.sport)
		return;
	__builtin_memcpy(k.saddr, tmp.daddr, 16);
	__builtin_memcpy(k.daddr, tmp.saddr, 16);
	k.sport = tmp.dport;
	k.dport = tmp.sport;
	k.v6 = !!(tmp.flags & TA_F_IPV6);
	k.netns = netns_of(sk);
	target = cookie_of_tuple(&k);
	if (!target || *target == receiver)
		return;
	si = si_of(*target);
	if (!si || !(si->flags & SI_TIMEWAIT))
		return;
	emit_other(*target, si, EV(.kind = TA_EV_RST_SENT, .state = TCP_TIME_WAIT, .a = -1));
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(on_receive_reset, struct sock *sk)
{
	struct sock_info *si = NULL;
	__u64 cookie = 0;

	if (traced_sock(sk)) {
		cookie = sock_id(sk);
		si = cookie ? bpf_map_lookup_elem(&socks, &cookie) : NULL;
	}
	if (si)
		refresh_tuple(cookie, &sk->__sk_common, si);
	if (tw_rst_at_receiver)
		timewait_rst_seen(sk, cookie);
	if (si)
		emit_other(cookie, si,
			   EV(.kind = TA_EV_RST_RECV, .sk = sk,
			      .state = BPF_CORE_READ(sk, __sk_common.skc_state)));
	return 0;
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(on_error_report, const struct sock *sk)
{
	struct sock_info *si;
	__u64 cookie;

	if (!traced_sock(sk) || !is_tcp(sk))
		return 0;
	cookie = sock_id(sk);
	si = bpf_map_lookup_elem(&socks, &cookie);
	if (!si)
		return 0;
	refresh_tuple(cookie, &sk->__sk_common, si);
	error_record(cookie, si, sk, BPF_CORE_READ(sk, __sk_common.skc_state));
	return 0;
}

/*
 * May the recorder keep this connection's history to itself and send a
 * summary?  Only when every record was harmless (triage), its birth was
 * seen, both FINs (or ours and a timewait handover after our close()) and
 * the owner's close() are in, nothing was lost or sent on already, and it
 * is not a request answered by silence (data sent, none received: the
 * application's own timeout may hide there).  Anything else: the history.
 */
static __always_inline bool healthy(const struct sock_info *si)
{
	__u16 need = TA_SUM_OUR_FIN | TA_SUM_CLOSED;

	if (record_all || si->lost || si->has_pending || !(si->flags & SI_BORN))
		return false;
	if (si->flags & (SI_ABNORMAL | SI_STREAMED | SI_NOSTORE | SI_LISTENER | TA_F_MIDLIFE))
		return false;
	if ((si->sum & need) != need || !(si->sum & (TA_SUM_PEER_FIN | TA_SUM_HANDOFF)))
		return false;
	return !(si->tx_bytes && !si->rx_bytes);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(on_destroy, struct sock *sk)
{
	__u64 cookie, key = (__u64)sk;
	struct tuple_key k = {};
	struct sock_info *si;
	struct rec *rec;
	__u8 state;

	if (!traced_sock(sk)) {
		/* The pointer will be reused: an own id must not outlive its socket. */
		if (!cookie_helper || child_own_id)
			bpf_map_delete_elem(&own_ids, &key);
		return 0;
	}
	/* Its id first: an own id is deleted just below. */
	cookie = sock_id(sk);
	if (!cookie_helper || child_own_id)
		bpf_map_delete_elem(&own_ids, &key);
	si = bpf_map_lookup_elem(&socks, &cookie);
	if (!si)
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	/* A socket already CLOSE (after an error) has no teardown move of its own. */
	note_exit_close(cookie, si, state, sk);
	rec = sock_rec(cookie, si, sk);
	if (rec && healthy(si)) {
		stream(cookie, si,
		       EV(.kind = TA_EV_SUMMARY, .state = state, .a = si->states, .b = si->sum,
			  .c = rec->total + 1, .aux = si->closed_from, .peer = rec->first_ts));
		rec->n = 0;
		/* The summary found the ring buffer full: the connection is counted, not lost
		 * unsaid. */
		if (si->lost)
			__sync_fetch_and_add(&ends_lost, 1);
	} else {
		emit_other(cookie, si, EV(.kind = TA_EV_DESTROY, .sk = sk, .state = state));
		if (rec)
			flush(cookie, si, rec);
		/*
		 * Its history did not fit in the ring buffer (a burst of ends):
		 * a bare destroy still may, and then user space knows that this
		 * connection ended with its events lost, not only that some were.
		 */
		if (rec && si->lost)
			stream(cookie, si, EV(.kind = TA_EV_DESTROY, .state = state));
		/* Not even that: counted, so that no connection goes missing unsaid. */
		if (rec && si->lost)
			__sync_fetch_and_add(&ends_lost, 1);
	}
	if (si->flags & SI_NOSTORE) {
		si->flags &= ~SI_NOSTORE;
		__sync_fetch_and_sub(&nostore, 1);
	}
	/*
	 * A socket closed from FIN_WAIT1/2 or CLOSING lives on as a timewait
	 * sock (TIME_WAIT, or FIN_WAIT2 for an orphan) with the same cookie and
	 * tuple, and may still answer late data with an RST: its entries move
	 * to the timewait maps, whose LRU retires them.
	 */
	tuple_key_of(si, &k);
	if (ta_has_timewait_successor(si->closed_from)) {
		si->flags |= SI_TIMEWAIT;
		bpf_map_update_elem(&tw_socks, &cookie, si, BPF_ANY);
		/* Its tuple is looked for only where timewait RSTs are seen at the receiver. */
		if (k.sport && tw_rst_at_receiver)
			bpf_map_update_elem(&tw_tuples, &k, &cookie, BPF_ANY);
	}
	bpf_map_delete_elem(&tuples, &k);
	bpf_map_delete_elem(&socks, &cookie);
	return 0;
}

/*
 * Retransmissions: every one is counted, only the first of a run becomes a
 * record; the count rides on every later record, so the error that ends the
 * connection says how many there were.
 */
static __always_inline void retransmit(const struct sock *sk, int err)
{
	struct sock_info *si;
	__u64 cookie;

	if (!traced_sock(sk))
		return;
	cookie = sock_id(sk);
	si = bpf_map_lookup_elem(&socks, &cookie);
	if (!si)
		return;
	si->retrans++;
	if (si->runs & 4)
		return;
	si->runs |= 4;
	emit(cookie, si,
	     EV(.kind = TA_EV_RETRANS, .sk = sk, .state = BPF_CORE_READ(sk, __sk_common.skc_state),
		.a = err));
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(on_retransmit, const struct sock *sk, const struct sk_buff *skb, int err)
{
	retransmit(sk, err);
	return 0;
}

/* Before 6.11 the tracepoint has no err argument. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(on_retransmit_noerr, const struct sock *sk, const struct sk_buff *skb)
{
	retransmit(sk, 0);
	return 0;
}

/*
 * A send or recv result.  Successful calls (and repeats of the same error,
 * such as EAGAIN) are coalesced: the first of a run is emitted, the rest
 * only move the counters that every later record carries.
 */
static __always_inline void io_result(__u64 cookie, const struct sock *sk,
				      const struct sock *trusted, int ret, int flags, bool tx)
{
	__u32 tgid = current_tgid(), tid = (__u32)bpf_get_current_pid_tgid();
	__s32 class = ret > 0 ? 1 : ret;
	struct sock_info *si;
	__u8 bit = tx ? 1 : 2;
	__s32 sigpipe = 0;

	if (!cookie)
		return;
	si = bpf_map_lookup_elem(&socks, &cookie);
	if (!si) {
		/* The caller owns the socket. */
		si = track(cookie, &sk->__sk_common, tgid);
		if (!si)
			return;
	} else if (si->tgid != tgid) {
		/*
		 * A socket belongs to the process that uses it: a forked worker or
		 * backend that inherited it, not the parent that accepted it.
		 */
		si->tgid = tgid;
	}
	if (tx && ret < 0) {
		__u8 *fate = bpf_map_lookup_elem(&sigpipe_pending, &tid);

		if (fate) {
			sigpipe = *fate;
			bpf_map_delete_elem(&sigpipe_pending, &tid);
		}
	}
	if (tx) {
		if (ret > 0) {
			si->tx_bytes += ret;
			si->tx_calls += 1;
		}
		if ((si->runs & bit) && si->tx_run == class && !sigpipe)
			return;
		si->tx_run = class;
	} else {
		if (ret > 0) {
			si->rx_bytes += ret;
			si->rx_calls += 1;
		}
		if ((si->runs & bit) && si->rx_run == class)
			return;
		si->rx_run = class;
	}
	si->runs |= bit;
	emit(cookie, si,
	     EV(.kind = tx ? TA_EV_SEND : TA_EV_RECV, .sk = trusted,
		.state = BPF_CORE_READ(sk, __sk_common.skc_state), .a = ret, .b = flags,
		.c = sigpipe));
}

static __always_inline void on_length(struct sock *sk, int ret, int flags, bool tx)
{
	/*
	 * send/recv run in the caller's context, and every one on the host
	 * passes here: decide by the caller first, before a socket cookie is
	 * made for a socket that is not ours.  (A traced socket used by an
	 * untraced process, after fd passing or fork, is not followed here.)
	 */
	if (!tgid_traced(current_tgid()) || !is_tcp(sk))
		return;
	io_result(sock_id(sk), sk, sk, ret, flags, tx);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_length, struct sock *sk, int ret, int flags)
{
	on_length(sk, ret, flags, true);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv_length, struct sock *sk, int ret, int flags)
{
	on_length(sk, ret, flags, false);
	return 0;
}

/* SIGPIPE is raised inside tcp_sendmsg, before sock_send_length reports the EPIPE. */
/*
 * SIGPIPE is raised inside tcp_sendmsg, before sock_send_length reports the
 * EPIPE.  Whether it kills is decided here already: default action, not
 * blocked.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	__u8 fate = TA_SIGPIPE_HANDLED;
	void *handler;
	__u64 blocked;
	__u32 tid;

	/* bpf_get_current_task_btf is 5.11+: compare addresses. */
	if (sig != SIGPIPE || (__u64)task != bpf_get_current_task())
		return 0;
	if (!tgid_traced(task->tgid))
		return 0;
	handler = BPF_CORE_READ(task, sighand, action[SIGPIPE - 1].sa.sa_handler);
	blocked = BPF_CORE_READ(task, blocked.sig[0]);
	if (!handler && !(blocked & (1ULL << (SIGPIPE - 1))))
		fate = TA_SIGPIPE_FATAL;
	tid = task->pid;
	bpf_map_update_elem(&sigpipe_pending, &tid, &fate, BPF_ANY);
	return 0;
}

/*
 * fd -> struct sock of the current task.  bpf_sock_from_file is refused in
 * syscall hooks, so walk the fd table with CO-RE reads.  NULL unless it is a
 * TCP socket.
 */
static __always_inline struct sock *fd_to_sock_file(int fd, struct file **filep)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	struct socket *sock;
	struct sock *sk;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || !is_tcp(sk))
		return NULL;
	*filep = f;
	return sk;
}

static __always_inline struct sock *fd_to_sock(int fd)
{
	struct file *f;

	return fd_to_sock_file(fd, &f);
}

/* struct file before 6.13 counted its references in f_count. */
struct file___f_count {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/*
 * References to an open file besides the one a close() drops: other
 * descriptors (dup, or a copy a fork left in another process).  6.13
 * replaced f_count with f_ref, a file_ref_t that reads 0 for one reference.
 */
static __always_inline __u32 other_refs(struct file *f)
{
	long refs;

	if (bpf_core_field_exists(f->f_ref))
		refs = BPF_CORE_READ(f, f_ref.refcnt.counter) + 1;
	else
		refs = BPF_CORE_READ((struct file___f_count *)f, f_count.counter);
	return refs > 1 ? refs - 1 : 0;
}

/*
 * ---- system calls ----
 *
 * Two ways in, chosen by pick_programs() (src/trace.c):
 *  - natively, one program per call we follow, on that call's own tracepoint
 *    (syscalls:sys_enter_connect, ...): no other system call of any process
 *    runs anything of ours;
 *  - the fallback, raw sys_enter/sys_exit, which every system call of every
 *    process on the host runs: kept before 6.3, where the results of
 *    read/write/send/recv come from syscall exits (syscall_io; those are the
 *    hottest calls anyway), and where the syscall tracepoints cannot be
 *    attached (their ids are read from tracefs: src/kfeatures.c).
 * Both take the same bodies below: what is recorded and when is the same.
 * close() is recorded at entry, the others at exit.  Arguments the exit
 * needs are kept per thread in sys_pending.  The caller is checked before a
 * body runs (sys_exit_accept checks it itself): the bodies assume a traced
 * process.
 */

/* Keeps a call's arguments for its exit. */
static __always_inline void sys_keep(const struct sys_args *args)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&sys_pending, &tid, args, BPF_ANY);
}

/* connect(fd, addr, len): the address family asked for (AF_UNSPEC disconnects). */
static __always_inline void sys_enter_connect(int fd, const void *uaddr)
{
	struct sys_args args = { .sys = TA_SYS_CONNECT, .fd = fd };
	__u16 family = 0;

	bpf_probe_read_user(&family, sizeof(family), uaddr);
	args.arg = family;
	sys_keep(&args);
}

static __always_inline void sys_enter_shutdown(int fd, int how)
{
	struct sys_args args = { .sys = TA_SYS_SHUTDOWN, .fd = fd, .arg = how };

	sys_keep(&args);
}

/* getsockopt(fd, level, optname, optval, optlen): only SO_ERROR, whose value is read at exit. */
static __always_inline void sys_enter_getsockopt(int fd, unsigned long level, unsigned long optname,
						 __u64 optval)
{
	struct sys_args args = { .sys = TA_SYS_SO_ERROR, .fd = fd, .optval = optval };

	if (level != SOL_SOCKET || optname != SO_ERROR)
		return;
	sys_keep(&args);
}

/* close() is recorded at entry: its teardown (FIN, RST, destroy) follows. */
static __always_inline void sys_enter_close(int fd)
{
	struct file *f = NULL;
	struct sock *sk = fd_to_sock_file(fd, &f);
	__u64 cookie = sock_id_read(sk);
	struct sock_info *si = cookie ? bpf_map_lookup_elem(&socks, &cookie) : NULL;
	__u32 refs;

	if (!si)
		return;
	refs = other_refs(f);
	if (!refs)
		si->flags |= SI_CLOSED;
	si->runs = 0;
	emit_pending(cookie, si,
		     EV(.kind = TA_EV_SYSCALL, .state = BPF_CORE_READ(sk, __sk_common.skc_state),
			.b = TA_SYS_CLOSE, .c = fd, .aux = refs));
}

/* A call's result on the socket behind fd (accept: the new one). */
static __always_inline void sys_result(__u32 sys, int fd, __s32 c, long ret)
{
	struct sock_info *si;
	struct sock *sk = fd_to_sock(fd);
	__u64 cookie = sock_id_read(sk);

	if (!cookie)
		return;
	si = bpf_map_lookup_elem(&socks, &cookie);
	if (!si) {
		/* The fd is in our fd table: we own it. */
		si = track(cookie, (void *)sk, current_tgid());
		if (!si)
			return;
	}
	si->runs = 0;
	emit_pending(cookie, si,
		     EV(.kind = TA_EV_SYSCALL, .state = BPF_CORE_READ(sk, __sk_common.skc_state),
			.a = ret, .b = sys, .c = c));
}

/* The exit of connect, shutdown or getsockopt(SO_ERROR), with what its entry kept. */
static __always_inline void sys_exit_kept(struct sys_args *args, __u32 tid, long ret)
{
	__u32 sys = args->sys;
	int fd = args->fd;
	__s32 c = args->arg;

	if (sys == TA_SYS_SO_ERROR && ret == 0)
		bpf_probe_read_user(&c, sizeof(c), (void *)args->optval);
	bpf_map_delete_elem(&sys_pending, &tid);
	sys_result(sys, fd, c, ret);
}

/*
 * accept/accept4: the new socket, taken at exit only (the caller is checked
 * here).  An error has no socket to pin it on.
 */
static __always_inline void sys_exit_accept(long ret)
{
	if (ret < 0 || !tgid_traced(current_tgid()))
		return;
	sys_result(TA_SYS_ACCEPT, (int)ret, 0, ret);
}

/* The exit programs of calls whose entry kept their arguments. */
static __always_inline void sys_exit_pending(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_args *args = bpf_map_lookup_elem(&sys_pending, &tid);

	if (args)
		sys_exit_kept(args, tid, ret);
}

/* -- natively: the calls' own tracepoints (classic format: args[6] / ret) -- */

SEC("tracepoint/syscalls/sys_enter_connect")
int on_connect(struct trace_event_raw_sys_enter *ctx)
{
	if (tgid_traced(current_tgid()))
		sys_enter_connect((int)ctx->args[0], (const void *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int on_connect_ret(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit_pending(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int on_accept_ret(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit_accept(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int on_accept4_ret(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit_accept(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_shutdown")
int on_shutdown(struct trace_event_raw_sys_enter *ctx)
{
	if (tgid_traced(current_tgid()))
		sys_enter_shutdown((int)ctx->args[0], (int)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_shutdown")
int on_shutdown_ret(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit_pending(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int on_close(struct trace_event_raw_sys_enter *ctx)
{
	if (tgid_traced(current_tgid()))
		sys_enter_close((int)ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getsockopt")
int on_sockopt(struct trace_event_raw_sys_enter *ctx)
{
	if (tgid_traced(current_tgid()))
		sys_enter_getsockopt((int)ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getsockopt")
int on_sockopt_ret(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit_pending(ctx->ret);
	return 0;
}

/* -- the fallback: every system call (raw sys_enter/sys_exit) -- */

/*
 * Before 6.3 there is no sock_send_length/sock_recv_length: the results of
 * send/recv/read/write (and their vector forms) on a TCP socket are taken
 * at sys_exit instead.  Internal codes, never emitted as syscall records.
 */
#define SYS_IO_SEND 100
#define SYS_IO_RECV 101

static __always_inline bool io_syscall(long id)
{
	return id == TA_NR_read || id == TA_NR_write || id == TA_NR_readv || id == TA_NR_writev ||
	       id == TA_NR_sendto || id == TA_NR_recvfrom || id == TA_NR_sendmsg ||
	       id == TA_NR_recvmsg;
}

/* The few syscalls we follow; checked before any map is touched. */
static __always_inline bool ta_syscall_wanted(long id)
{
	return id == TA_NR_connect || id == TA_NR_accept || id == TA_NR_accept4 ||
	       id == TA_NR_shutdown || id == TA_NR_close || id == TA_NR_getsockopt ||
	       (syscall_io && io_syscall(id));
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct sys_args args = {};
	struct sock *sk;

	/* accept and accept4 are taken at their exit alone. */
	if (!ta_syscall_wanted(id) || id == TA_NR_accept || id == TA_NR_accept4 ||
	    !tgid_traced(current_tgid()))
		return 0;
	switch (id) {
	case TA_NR_connect:
		sys_enter_connect((int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				  (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs));
		return 0;
	case TA_NR_shutdown:
		sys_enter_shutdown((int)PT_REGS_PARM1_CORE_SYSCALL(regs),
				   (int)PT_REGS_PARM2_CORE_SYSCALL(regs));
		return 0;
	case TA_NR_close:
		sys_enter_close((int)PT_REGS_PARM1_CORE_SYSCALL(regs));
		return 0;
	case TA_NR_getsockopt:
		sys_enter_getsockopt(
			(int)PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
			PT_REGS_PARM3_CORE_SYSCALL(regs), PT_REGS_PARM4_CORE_SYSCALL(regs));
		return 0;
	}
	/* syscall_io: the socket is resolved at entry, the result taken at exit. */
	sk = fd_to_sock((int)PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!sk)
		return 0;
	args.sk = (__u64)sk;
	args.sys =
		id == TA_NR_write || id == TA_NR_writev || id == TA_NR_sendto || id == TA_NR_sendmsg
			? SYS_IO_SEND
			: SYS_IO_RECV;
	if (id == TA_NR_sendto || id == TA_NR_recvfrom)
		args.arg = (int)PT_REGS_PARM4_CORE_SYSCALL(regs);
	else if (id == TA_NR_sendmsg || id == TA_NR_recvmsg)
		args.arg = (int)PT_REGS_PARM3_CORE_SYSCALL(regs);
	sys_keep(&args);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	long id = TA_SYSCALL_NR(regs);
	struct sys_args *args;
	struct sock *sk;
	__u64 cookie;
	bool tx;
	__s32 c;

	/* Every process's every syscall passes here: no map lookup unless it is ours. */
	if (!ta_syscall_wanted(id))
		return 0;
	if (id == TA_NR_accept || id == TA_NR_accept4) {
		sys_exit_accept(ret);
		return 0;
	}
	args = bpf_map_lookup_elem(&sys_pending, &tid);
	if (!args)
		return 0;
	if (args->sys != SYS_IO_SEND && args->sys != SYS_IO_RECV) {
		sys_exit_kept(args, tid, ret);
		return 0;
	}
	/* The fd holds the socket for the whole call: the pointer is still it. */
	sk = (struct sock *)args->sk;
	c = args->arg;
	tx = args->sys == SYS_IO_SEND;
	bpf_map_delete_elem(&sys_pending, &tid);
	/* Never seen by any hook yet: the caller owns it, and it needs an id. */
	cookie = ensure_id(sk, sock_id_read(sk));
	io_result(cookie, sk, NULL, ret, c, tx);
	return 0;
}

/* ---- the traced processes: followed across fork, joined by exec, seen exit ---- */

static __always_inline void emit_proc(struct task_struct *task, __u32 what, __s32 a)
{
	struct ta_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_lost(1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = TA_EV_PROC;
	e->owner_tgid = BPF_CORE_READ(task, tgid);
	e->task_tgid = e->owner_tgid;
	e->task_pid = BPF_CORE_READ(task, pid);
	e->a = a;
	e->b = what;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&e->pcomm, task, group_leader, comm);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void trace_tgid(__u32 tgid)
{
	__u32 one = 1;

	bpf_map_update_elem(&traced_tgids, &tgid, &one, BPF_ANY);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);

	/* A new thread is not a new process. */
	if (!follow_forks || ptgid == ctgid || !tgid_traced(ptgid))
		return 0;
	trace_tgid(ctgid);
	emit_proc(child, TA_PROC_FORK, ptgid);
	return 0;
}

static __always_inline bool comm_in_scope(struct task_struct *task)
{
	char comm[TA_COMM_LEN];

	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	for (int i = 0; i < TA_COMM_LEN; i++) {
		if (comm[i] != scope_comm_name[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* exec sets the new comm (begin_new_exec) before this tracepoint fires. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (tgid_traced(tgid))
		return 0;
	if (!(scope_comm && comm_in_scope(task)) &&
	    !(scope_cgroup && bpf_current_task_under_cgroup(&cgroup_scope, 0) == 1))
		return 0;
	trace_tgid(tgid);
	emit_proc(task, TA_PROC_EXEC, BPF_CORE_READ(task, real_parent, tgid));
	return 0;
}

/*
 * The last thread of a traced process exits.  Its descriptors are closed
 * after this (exit_files), in its context: note_exit_close() names that.
 * Threads killed together can all read signal->live as 0: the one whose
 * delete of the traced entry succeeds reports the exit, once.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (bpf_map_delete_elem(&traced_tgids, &tgid))
		return 0;
	emit_proc(task, TA_PROC_EXIT, BPF_CORE_READ(task, exit_code));
	return 0;
}

/*
 * Sockets the traced processes already hold at attach: a task_file
 * iterator, run once by user space right after the hooks are attached
 * (and again when a process joins the scope).  Each new one is traced from
 * now on, with what can be known of its past: state and queues.
 */
static __always_inline int seed_one(struct bpf_iter__task_file *ctx, struct task_struct *task,
				    const struct sock *sk, const struct sock *trusted, __u64 cookie,
				    __u32 tgid)
{
	const struct tcp_sock *tp;
	struct sock_info *si;
	__u8 state;

	if (!cookie || bpf_map_lookup_elem(&socks, &cookie))
		return 0; /* already traced: seen since the attach, or another fd of it */
	si = track(cookie, &sk->__sk_common, tgid);
	if (!si)
		return 0;
	si->flags |= TA_F_MIDLIFE;
	/* One record per socket in the iterator's output: user space counts and paces on it. */
	bpf_seq_write(ctx->meta->seq, &cookie, sizeof(cookie));
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	tp = (const struct tcp_sock *)sk;
	if (state == TCP_LISTEN) {
		struct listen_key lk = { .netns = netns_of(sk),
					 .port = BPF_CORE_READ(sk, __sk_common.skc_num) };

		__u32 backlog = BPF_CORE_READ(sk, sk_ack_backlog);

		si->flags |= SI_LISTENER;
		bpf_map_update_elem(&listeners, &lk, &tgid, BPF_ANY);
		/* Its queued children are not traced yet: set_state looks for them from now on. */
		if (backlog)
			__sync_fetch_and_add(&queued_children, backlog);
		emit_other(cookie, si,
			   EV(.kind = TA_EV_JOIN, .task = task, .sk = trusted, .state = state,
			      .c = ctx->fd, .aux = backlog));
		return 0;
	}
	if (state == TCP_SYN_SENT) {
		struct connect_key ck = {};

		connect_key_of(sk, &ck);
		bpf_map_update_elem(&connecting, &ck, &cookie, BPF_ANY);
	}
	emit_other(cookie, si,
		   EV(.kind = TA_EV_JOIN, .task = task, .sk = trusted, .state = state,
		      .a = unread_bytes(sk),
		      .b = BPF_CORE_READ(tp, write_seq) - BPF_CORE_READ(tp, snd_una),
		      .c = ctx->fd));
	return 0;
}

/*
 * Sockets the traced processes already hold at attach: a task_file
 * iterator, run once by user space right after the hooks are attached
 * (and again when a process joins the scope).  Each new one is traced from
 * now on, with what can be known of its past: state and queues.
 */
/*
 * The TCP socket behind a traced process's file, for task_file iterators
 * (5.11+): a trusted pointer, as bpf_get_socket_cookie and the storage
 * helpers want.  NULL for anything else.
 */
static __always_inline struct sock *traced_file_sock(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct socket *sock;
	struct sock *sk;

	if (!task || !file || !tgid_traced(task->tgid))
		return NULL;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return NULL;
	sk = sock->sk;
	if (!sk || !is_tcp(sk))
		return NULL;
	return sk;
}

SEC("iter/task_file")
int seed_sockets(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct sock *sk = traced_file_sock(ctx);

	/* Each load of ctx->task may be NULL to the verifier: this one is checked too. */
	if (!sk || !task)
		return 0;
	return seed_one(ctx, task, sk, sk, ensure_id(sk, sock_id(sk)), task->tgid);
}

/*
 * The same before 5.11, which has no bpf_sock_from_file: a socket's file is
 * told by its inode's mode, and its socket read from private_data.
 */
SEC("iter/task_file")
int seed_sockets_core(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct socket *sock;
	struct sock *sk;

	if (!task || !file || !tgid_traced(task->tgid))
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || !is_tcp(sk))
		return 0;
	return seed_one(ctx, task, sk, NULL, ensure_id(sk, sock_id_read(sk)), task->tgid);
}

/*
 * At the end of tracing, what the recorders of the traced processes'
 * sockets hold goes to user space: a task_file iterator, run once by user
 * space before the detach (bpf_sock_from_file gives a socket pointer the
 * storage helpers take; an iterator over the storage map itself is refused
 * on some kernels).  One 8-byte record per socket sent, so that user space
 * drains the ring buffer between reads.  Sockets no process holds (orphans
 * finishing their close) are sent on by their own next event: `draining`.
 */
SEC("iter/task_file")
int flush_held(struct bpf_iter__task_file *ctx)
{
	struct sock_info *si;
	struct rec *rec;
	struct sock *sk;
	__u64 cookie;

	if (!recorder)
		return 0;
	sk = traced_file_sock(ctx);
	if (!sk)
		return 0;
	cookie = sock_id(sk);
	si = cookie ? bpf_map_lookup_elem(&socks, &cookie) : NULL;
	if (!si)
		return 0;
	rec = sock_rec(cookie, si, sk);
	if (!rec || !rec->n)
		return 0;
	flush(cookie, si, rec);
	bpf_seq_write(ctx->meta->seq, &cookie, sizeof(cookie));
	return 0;
}
