// SPDX-License-Identifier: GPL-2.0
/*
 * bench-empty OBJ: loads and attaches every program of OBJ (tests/bench/empty.bpf.c),
 * prints "attached N" and each program's id on stdout, and holds them until
 * SIGINT or SIGTERM.  bpftool 7.1 cannot auto-attach tp_btf programs, hence
 * this loader.  A program whose hook this kernel lacks is skipped with a
 * warning, as the tracer's feature probes would skip it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_link *link;
	struct bpf_prog_info info;
	__u32 len;
	int n = 0, err;

	if (argc != 2) {
		fprintf(stderr, "usage: bench-empty OBJ\n");
		return 2;
	}
	libbpf_set_print(quiet);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "bench-empty: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* Programs for hooks this kernel lacks would fail the whole load. */
	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);
		const char *hook = strchr(sec, '/') + 1;
		char path[256];

		/* A syscall tracepoint is there when tracefs lists it. */
		if (!strncmp(sec, "tracepoint/", 11)) {
			snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", hook);
			if (access(path, R_OK)) {
				fprintf(stderr, "bench-empty: no tracepoint %s here, skipped\n",
					hook);
				bpf_program__set_autoload(prog, false);
			}
			continue;
		}
		if (libbpf_find_vmlinux_btf_id(hook, BPF_TRACE_RAW_TP) < 0) {
			fprintf(stderr, "bench-empty: no tracepoint %s here, skipped\n", hook);
			bpf_program__set_autoload(prog, false);
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "bench-empty: cannot load %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
	{
		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "bench-empty: cannot attach %s: %s\n",
				bpf_program__name(prog), strerror(errno));
			return 1;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			printf("prog %u %s\n", info.id, bpf_program__name(prog));
		n++;
	}
	printf("attached %d\n", n);
	fflush(stdout);
	while (!stop)
		pause();
	bpf_object__close(obj);
	return 0;
}
