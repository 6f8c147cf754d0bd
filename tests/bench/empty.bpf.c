// SPDX-License-Identifier: GPL-2.0
/*
 * The floor for `make bench`: one program on each hook that bpf/tcpabort.bpf.c
 * attaches on a 6.x kernel, each doing nothing.  What these cost is the price
 * of being attached at all (the trampoline, the call, the run-time stats); the
 * rest of the tracer's cost is its own.  Keep the list in step with the
 * tracer's SEC()s (its iter/task_file programs run once at attach, so they
 * have no counterpart here).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define EMPTY(hook)                                                                                \
	SEC("tp_btf/" #hook)                                                                       \
	int empty_##hook(__u64 *ctx)                                                               \
	{                                                                                          \
		return 0;                                                                          \
	}

EMPTY(inet_sock_set_state)
EMPTY(tcp_send_reset)
EMPTY(tcp_receive_reset)
EMPTY(inet_sk_error_report)
EMPTY(tcp_destroy_sock)
EMPTY(tcp_retransmit_skb)
EMPTY(sock_send_length)
EMPTY(sock_recv_length)
EMPTY(signal_generate)
EMPTY(sys_enter)
EMPTY(sys_exit)
EMPTY(sched_process_fork)
EMPTY(sched_process_exec)
EMPTY(sched_process_exit)
