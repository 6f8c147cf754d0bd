// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "json.h"
#include "kfeatures.h"
#include "util.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
/* The new mount API (5.2), which not every libc wraps: the same numbers on every architecture. */
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif

const char *const ta_syscall_tps[TA_SYSCALL_TPS] = {
	"sys_enter_connect", "sys_exit_connect",     "sys_exit_accept",
	"sys_exit_accept4",  "sys_enter_shutdown",   "sys_exit_shutdown",
	"sys_enter_close",   "sys_enter_getsockopt", "sys_exit_getsockopt",
};

/*
 * Arguments of a tp_btf target after the context, or -1 if the kernel has
 * no such tracepoint.  A tp_btf program reading an argument the kernel does
 * not pass is refused by the verifier, so prototypes must be checked.
 */
static int probe_tp_btf(const struct btf *btf, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type); /* pointer */
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type); /* func proto */
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1;
}

/* Does enum `type` have a value named `name`? */
static bool btf_enum_has(const struct btf *btf, const char *type, const char *name)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	const struct btf_type *t;
	const struct btf_enum *e;

	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *n = btf__name_by_offset(btf, e->name_off);

		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

/* enum sk_rst_reason exists from 6.10; its numbering changes between kernels. */
static bool load_rst_reasons(const struct btf *btf, struct kfeatures *kf)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id = btf__find_by_name_kind(btf, "sk_rst_reason", BTF_KIND_ENUM);

	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *n = btf__name_by_offset(btf, e->name_off);

		if (e->val >= TA_MAX_RST_REASONS || !n)
			continue;
		if (!strncmp(n, "SK_RST_REASON_", 14))
			n += 14;
		snprintf(kf->rst_names[e->val], TA_NAME_LEN, "%s", n);
	}
	return true;
}

/*
 * tracefs, where the kernel gives each tracepoint's id (events/CAT/NAME/id),
 * as a directory fd, or -1.  It is not mounted everywhere (on a fresh
 * machine of ours it is not), and the tracer leaves no mount behind:
 *  - a tracefs mounted already (found in /proc/self/mounts) is used as is;
 *  - else a detached tracefs mount is made (fsopen + fsmount, 5.2): it is
 *    attached to no mount namespace, so nobody sees it, and it goes away
 *    with its fd (at the latest when the tracer exits, however it exits).
 * The tracer never changes mount namespace: -o paths, /proc, the cgroup
 * lookup (src/scope.c) and the -- CMD child all see the host's mounts.  The
 * loader opens the tracepoints' perf events itself with the ids read here,
 * since libbpf would look for them in a mounted tracefs only.
 * /sys/kernel/debug/tracing is not looked into unless it is mounted: where
 * debugfs is, that would automount tracefs there for good.
 */
static int tracefs_open(void)
{
	FILE *m = setmntent("/proc/self/mounts", "r");
	struct mntent *e;
	struct statfs st;
	int fd = -1, fs;

	while (m && (e = getmntent(m))) {
		if (strcmp(e->mnt_type, "tracefs"))
			continue;
		fd = open(e->mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && !fstatfs(fd, &st) && st.f_type == TRACEFS_MAGIC)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (m)
		endmntent(m);
	if (fd >= 0)
		return fd;
	fs = syscall(SYS_fsopen, "tracefs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	if (!syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		fd = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	close(fs);
	return fd;
}

static int tracepoint_id(int tracefs, const char *category, const char *name)
{
	char path[192], buf[32], *end;
	ssize_t n;
	long id;
	int fd;

	snprintf(path, sizeof(path), "events/%s/%s/id", category, name);
	fd = openat(tracefs, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	id = strtol(buf, &end, 10);
	return end != buf && id > 0 && id < 1L << 30 ? (int)id : -1;
}

/*
 * The syscall tracepoints (CONFIG_FTRACE_SYSCALLS): every id found, and a
 * perf event opens on one (the loader attaches through perf events).
 */
static bool probe_syscall_tracepoints(struct kfeatures *kf)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.disabled = 1,
	};
	int dir = tracefs_open(), fd;
	bool all = dir >= 0;

	for (int i = 0; i < TA_SYSCALL_TPS; i++) {
		kf->syscall_tp_ids[i] =
			dir >= 0 ? tracepoint_id(dir, "syscalls", ta_syscall_tps[i]) : -1;
		all = all && kf->syscall_tp_ids[i] > 0;
	}
	if (dir >= 0)
		close(dir);
	if (!all)
		return false;
	attr.config = kf->syscall_tp_ids[0];
	fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int syscall_tp_id(const struct kfeatures *kf, const char *name)
{
	for (int i = 0; i < TA_SYSCALL_TPS; i++)
		if (!strcmp(name, ta_syscall_tps[i]))
			return kf->syscall_tp_ids[i];
	return -1;
}

int probe_kernel(struct kfeatures *kf)
{
	struct utsname u;
	struct btf *btf;

	memset(kf, 0, sizeof(*kf));
	if (uname(&u) == 0)
		snprintf(kf->kernel, sizeof(kf->kernel), "%s", u.release);
	if (access(VMLINUX_BTF, R_OK))
		return error("kernel has no BTF (%s: %s); tcpabort-trace needs "
			     "CONFIG_DEBUG_INFO_BTF=y (Debian and Ubuntu kernels have it)",
			     VMLINUX_BTF, strerror(errno));
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return error("cannot read the kernel's BTF (%s): %s", VMLINUX_BTF, strerror(errno));
	kf->set_state = probe_tp_btf(btf, "inet_sock_set_state") == 3;
	kf->tcp_tracepoints = probe_tp_btf(btf, "tcp_receive_reset") == 1 &&
			      probe_tp_btf(btf, "tcp_destroy_sock") == 1 &&
			      probe_tp_btf(btf, "tcp_send_reset") >= 2;
	kf->rst_reason = probe_tp_btf(btf, "tcp_send_reset") == 3 && load_rst_reasons(btf, kf);
	kf->send_recv_length = probe_tp_btf(btf, "sock_send_length") == 3 &&
			       probe_tp_btf(btf, "sock_recv_length") == 3;
	kf->error_report = probe_tp_btf(btf, "inet_sk_error_report") == 1;
	kf->retransmit = probe_tp_btf(btf, "tcp_retransmit_skb") >= 2;
	kf->retransmit_err = probe_tp_btf(btf, "tcp_retransmit_skb") == 3;
	kf->seed = btf__find_by_name_kind(btf, "bpf_iter__task_file", BTF_KIND_STRUCT) >= 0;
	kf->sock_from_file = btf_enum_has(btf, "bpf_func_id", "BPF_FUNC_sock_from_file");
	/*
	 * 5.12 (c5dbb89fc2ac, "bpf: Expose bpf_get_socket_cookie to tracing
	 * programs") added the helper's tracing flavour, bpf_get_socket_ptr_cookie;
	 * the enum value is older (4.12), so look for the function.
	 */
	kf->cookie_helper =
		btf__find_by_name_kind(btf, "bpf_get_socket_ptr_cookie", BTF_KIND_FUNC) >= 0;
	/*
	 * 5.11 (8e4597c627fb, "bpf: Allow using bpf_sk_storage in
	 * FENTRY/FEXIT/RAW_TP") added the tracing flavour of the socket storage
	 * helpers: look for that function.
	 */
	kf->recorder =
		btf__find_by_name_kind(btf, "bpf_sk_storage_get_tracing", BTF_KIND_FUNC) >= 0;
	kf->processes = probe_tp_btf(btf, "sched_process_fork") == 2 &&
			probe_tp_btf(btf, "sched_process_exec") == 3 &&
			probe_tp_btf(btf, "sched_process_exit") >= 1;
	btf__free(btf);
	kf->syscall_tp = probe_syscall_tracepoints(kf);
	return 0;
}

const char *rst_reason_name(const struct kfeatures *kf, int reason)
{
	if (!kf->rst_reason || reason < 0 || reason >= TA_MAX_RST_REASONS)
		return "";
	return kf->rst_names[reason];
}

bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

/*
 * Each capability's path, in the words --features prints.  The choices are
 * the ones pick_programs() (src/trace.c) makes from the same probes.
 */
int kfeatures_paths(const struct kfeatures *kf, struct kpath *p, int max)
{
	int n = 0;

#define PATH(cap, yes, native, fallback, lost)                                                     \
	do {                                                                                       \
		if (n < max)                                                                       \
			p[n++] = (struct kpath){ cap, (yes) ? native : fallback,                   \
						 (yes) ? NULL : lost };                            \
	} while (0)

	PATH("socket identity", kf->cookie_helper,
	     "the kernel's socket cookie (bpf_get_socket_cookie)",
	     "the kernel's cookie where something made it, else an id of our own per socket "
	     "(no bpf_get_socket_cookie in tracing programs before 5.12)",
	     NULL);
	PATH("send/recv results", kf->send_recv_length,
	     "every call's result (sock_send_length, sock_recv_length)",
	     "read, write, send and recv results from syscall exits (no sock_send_length "
	     "before 6.3)",
	     "sendfile, splice, io_uring and sendmmsg/recvmmsg calls are not seen");
	PATH("system calls", kf->send_recv_length && kf->syscall_tp,
	     "only connect, accept, shutdown, close and getsockopt run our programs, on their "
	     "own tracepoints (syscalls:sys_enter_*, sys_exit_*)",
	     kf->send_recv_length
		     ? "every system call of every process runs our programs (raw sys_enter, "
		       "sys_exit): the syscall tracepoints cannot be attached (their ids are "
		       "read from tracefs)"
		     : "every system call of every process runs our programs (raw sys_enter, "
		       "sys_exit): before 6.3, read, write, send and recv results come from "
		       "their exits",
	     NULL);
	PATH("stored socket errors", kf->error_report, "every error report (inet_sk_error_report)",
	     "the socket's error read when it moves to CLOSE (no inet_sk_error_report before "
	     "5.14)",
	     "an error stored without a move to CLOSE (the ECONNRESET of connect(AF_UNSPEC) "
	     "or of shutdown() while connecting) is not seen, and no verdict predicts what "
	     "the next call returns");
	PATH("RST reason", kf->rst_reason,
	     "the kernel's own reason for every RST, also from TIME_WAIT and closed ports "
	     "(tcp_send_reset with a reason)",
	     "inferred from state and context, and marked inferred (no reason before 6.10)",
	     "an RST sent by a TIME_WAIT socket is seen only when its receiver is on this "
	     "host, and one sent for a port with no socket leaves no sender record");
	PATH("retransmissions", kf->retransmit, "counted (tcp_retransmit_skb)", "not seen",
	     "timeouts cannot be told apart by their retransmissions");
	if (!kf->seed)
		PATH("sockets open at the attach", false, "", "found at their next event only",
		     "a socket that stays quiet after the attach is not reported");
	else
		PATH("sockets open at the attach", kf->sock_from_file,
		     "found at once (iter/task_file, bpf_sock_from_file)",
		     "found at once (iter/task_file, reading the file's socket; no "
		     "bpf_sock_from_file before 5.11)",
		     NULL);
	PATH("connection histories", kf->recorder,
	     "kept in the kernel per socket (flight recorder): a healthy connection sends "
	     "one summary, any other its history in one batch",
	     "every event sent to user space as it happens (no socket storage in tracing "
	     "programs before 5.11)",
	     NULL);
	PATH("processes", kf->processes, "forks, execs and exits followed (sched_process_*)",
	     "exits polled; forks and execs not followed",
	     "children forked after the attach "
	     "are not traced");
#undef PATH
	return n;
}

int kfeatures_main(bool json)
{
	struct kpath p[TA_MAX_KPATHS];
	struct kfeatures kf;
	struct jw w;
	int n, degraded = 0;

	if (probe_kernel(&kf))
		return EXIT_KERNEL;
	n = kfeatures_paths(&kf, p, TA_MAX_KPATHS);
	if (json) {
		jw_init(&w, stdout);
		jw_obj_open(&w, NULL);
		jw_str(&w, "type", "features");
		jw_str(&w, "kernel", kf.kernel);
		jw_arr_open(&w, "paths");
		for (int i = 0; i < n; i++) {
			jw_obj_open(&w, NULL);
			jw_str(&w, "capability", p[i].capability);
			jw_str(&w, "path", p[i].path);
			jw_str(&w, "degraded", p[i].degraded);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
		return EXIT_OK;
	}
	printf("Linux %s\n", kf.kernel);
	for (int i = 0; i < n; i++) {
		printf("  %-27s %s\n", p[i].capability, p[i].path);
		if (p[i].degraded) {
			printf("  %-27s degraded: %s\n", "", p[i].degraded);
			degraded++;
		}
	}
	printf(degraded ? "%d capabilit%s degraded on this kernel\n"
			: "nothing is degraded on this kernel\n",
	       degraded, degraded == 1 ? "y is" : "ies are");
	return EXIT_OK;
}
