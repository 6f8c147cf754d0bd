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

/*
 * On 6.3 and later the tracer follows system calls on their own
 * tracepoints (the raw sys_enter/sys_exit are its fallback): the same here.
 * bench-empty attaches these with libbpf, which reads their ids from a
 * mounted tracefs; tests/bench/run.py mounts one in a private mount
 * namespace for it.
 */
#define EMPTY_SYS(name)                                                                            \
	SEC("tracepoint/syscalls/" #name)                                                          \
	int empty_##name(void *ctx)                                                                \
	{                                                                                          \
		return 0;                                                                          \
	}

EMPTY_SYS(sys_enter_connect)
EMPTY_SYS(sys_exit_connect)
EMPTY_SYS(sys_exit_accept)
EMPTY_SYS(sys_exit_accept4)
EMPTY_SYS(sys_enter_shutdown)
EMPTY_SYS(sys_exit_shutdown)
EMPTY_SYS(sys_enter_close)
EMPTY_SYS(sys_enter_getsockopt)
EMPTY_SYS(sys_exit_getsockopt)
EMPTY(sched_process_fork)
EMPTY(sched_process_exec)
EMPTY(sched_process_exit)
