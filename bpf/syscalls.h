/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Syscall numbers the sys_enter/sys_exit hooks care about, per architecture
 * (vmlinux.h carries no __NR_* constants).  Add an architecture here and in
 * vmlinux/ together.
 */
#ifndef TA_SYSCALLS_H
#define TA_SYSCALLS_H

#if defined(__TARGET_ARCH_x86)
#define TA_NR_read	 0
#define TA_NR_write	 1
#define TA_NR_close	 3
#define TA_NR_readv	 19
#define TA_NR_writev	 20
#define TA_NR_connect	 42
#define TA_NR_accept	 43
#define TA_NR_sendto	 44
#define TA_NR_recvfrom	 45
#define TA_NR_sendmsg	 46
#define TA_NR_recvmsg	 47
#define TA_NR_shutdown	 48
#define TA_NR_getsockopt 55
#define TA_NR_accept4	 288
/* The syscall number at sys_exit, where the tracepoint does not pass it. */
#define TA_SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#else
#error "tcpabort-trace: syscall numbers for this architecture are missing (bpf/syscalls.h)"
#endif

#endif /* TA_SYSCALLS_H */
