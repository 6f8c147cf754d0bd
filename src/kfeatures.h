/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers, probed from its BTF at start-up.  Each
 * probe names the kernel version it tells apart; the loader picks programs
 * from these answers, never from version numbers.
 */
#ifndef TA_KFEATURES_H
#define TA_KFEATURES_H

#include <stdbool.h>

#include "core/core.h"

#define TA_MAX_RST_REASONS 64

/*
 * The syscall tracepoints that programs of bpf/tcpabort.bpf.c attach to one
 * by one (SEC("tracepoint/syscalls/NAME")), probed together.
 */
#define TA_SYSCALL_TPS 9
extern const char *const ta_syscall_tps[TA_SYSCALL_TPS];

struct kfeatures {
	bool rst_reason;       /* tcp_send_reset carries enum sk_rst_reason: 6.10+ */
	bool send_recv_length; /* sock:sock_send_length / sock_recv_length: 6.3+ */
	bool error_report;     /* sock:inet_sk_error_report: 5.14+ */
	bool set_state;	       /* sock:inet_sock_set_state: 4.16+ */
	bool retransmit;       /* tcp:tcp_retransmit_skb: 4.15+ */
	bool retransmit_err;   /* ... with its err argument */
	bool tcp_tracepoints;  /* tcp_send_reset, tcp_receive_reset, tcp_destroy_sock: 4.15+ */
	bool seed;	       /* iter/task_file (5.8): sockets held before the attach are
				* found at once */
	bool sock_from_file;   /* bpf_sock_from_file (5.11): else the iterator reads the
				* file's private_data (seed_sockets_core) */
	bool cookie_helper;    /* bpf_get_socket_cookie in tracing programs (5.12): else the
				* kernel's skc_cookie, or an id of our own */
	bool processes;	       /* sched_process_fork/exec/exit with BTF: 5.5+ */
	bool recorder;	       /* socket storage in tracing programs (5.11): the kernel-side
				* flight recorder */
	bool syscall_tp;       /* syscalls:sys_enter_X / sys_exit_X attach: their ids read
				* from tracefs, a perf event opened */
	/* Their ids, in the order of ta_syscall_tps[]; -1: not found. */
	int syscall_tp_ids[TA_SYSCALL_TPS];
	char rst_names[TA_MAX_RST_REASONS][TA_NAME_LEN]; /* by the kernel's numbers */
	char kernel[128];
};

/* One capability: which path the tracer takes on this kernel, and what it loses. */
struct kpath {
	const char *capability;
	const char *path;     /* in plain words */
	const char *degraded; /* what evidence is missing on this path; NULL: nothing */
};

#define TA_MAX_KPATHS 12

/* The paths the loader takes for kf; returns how many were filled. */
int kfeatures_paths(const struct kfeatures *kf, struct kpath *p, int max);
/* --features: prints them (JSON with json); returns an exit code. */
int kfeatures_main(bool json);

/* Fills kf; -1 with a message printed when the kernel has no usable BTF. */
int probe_kernel(struct kfeatures *kf);
/* Is the running kernel older than major.minor?  Only for wording a failure. */
bool kernel_before(int major, int minor);
/* The id of tracepoint syscalls/NAME probed into kf, or -1. */
int syscall_tp_id(const struct kfeatures *kf, const char *name);
/* The kernel's name for an RST reason number, "" if it has none. */
const char *rst_reason_name(const struct kfeatures *kf, int reason);

#endif /* TA_KFEATURES_H */
