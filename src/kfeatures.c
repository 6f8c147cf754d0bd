// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kfeatures.h"
#include "util.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

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
	kf->seed = btf__find_by_name_kind(btf, "bpf_iter__task_file", BTF_KIND_STRUCT) >= 0 &&
		   btf_enum_has(btf, "bpf_func_id", "BPF_FUNC_sock_from_file");
	kf->processes = probe_tp_btf(btf, "sched_process_fork") == 2 &&
			probe_tp_btf(btf, "sched_process_exec") == 3 &&
			probe_tp_btf(btf, "sched_process_exit") >= 1;
	btf__free(btf);
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
