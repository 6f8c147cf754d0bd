// SPDX-License-Identifier: GPL-2.0
/*
 * Live tracing: the skeleton's whole life in one place.  Probe the kernel,
 * pick programs, load, register the traced processes, install signal
 * handlers, attach, then poll the ring buffer into a session until the
 * traced processes are gone or we are told to stop.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcpabort.skel.h"
#include "kfeatures.h"
#include "session.h"
#include "trace.h"
#include "util.h"

/* After the last traced process exits, keep reading this long for its sockets' last words. */
#define EXIT_GRACE_MS 300
#define POLL_MS	      100

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return error("sigaction: %s", strerror(errno));
	return 0;
}

static int libbpf_level = -1; /* most verbose libbpf level printed; -1: none */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if ((int)level > libbpf_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct tracer {
	struct tcpabort_bpf *skel;
	struct ring_buffer *rb;
	struct kfeatures kf;
	struct session session;
	struct out out;
	FILE *out_file;
	int pidfd[TA_MAX_PIDS];
	bool exited[TA_MAX_PIDS];
	int npids;
	const int *pids;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	struct tl_event e = { 0 };

	if (size < sizeof(e.ev))
		return 0;
	memcpy(&e.ev, data, sizeof(e.ev));
	if (e.ev.kind == TA_EV_RST_SENT || e.ev.kind == TA_EV_PEER_RST) {
		snprintf(e.rst_name, sizeof(e.rst_name), "%s", rst_reason_name(&t->kf, e.ev.a));
		e.rst = ta_rst_from_name(e.rst_name);
	}
	if (session_feed(&t->session, &e))
		return -ENOMEM;
	return 0;
}

/*
 * Choose programs by what the kernel has.  Each fallback names the kernel it
 * serves; a missing optional hook only removes one kind of evidence, and the
 * start record says which.
 */
static int pick_programs(struct tracer *t)
{
	struct tcpabort_bpf *s = t->skel;

	if (!t->kf.set_state || !t->kf.tcp_tracepoints)
		return error("kernel %s lacks the TCP tracepoints (inet_sock_set_state: 4.16, "
			     "tcp_send_reset/receive_reset/destroy_sock: 4.15) with BTF",
			     t->kf.kernel);
	/* Before 6.10 tcp_send_reset has no reason argument. */
	bpf_program__set_autoload(s->progs.on_send_reset, t->kf.rst_reason);
	bpf_program__set_autoload(s->progs.on_send_reset_noreason, !t->kf.rst_reason);
	/* Before 6.3 there is no per-call send/recv result; syscall results remain. */
	bpf_program__set_autoload(s->progs.on_send_length, t->kf.send_recv_length);
	bpf_program__set_autoload(s->progs.on_recv_length, t->kf.send_recv_length);
	/* Retransmissions are counted from 4.15; their error argument came later. */
	bpf_program__set_autoload(s->progs.on_retransmit, t->kf.retransmit_err);
	bpf_program__set_autoload(s->progs.on_retransmit_noerr,
				  t->kf.retransmit && !t->kf.retransmit_err);
	/* Before 5.14 the stored error is seen only through the calls that return it. */
	bpf_program__set_autoload(s->progs.on_error_report, t->kf.error_report);
	return 0;
}

static int open_pidfds(struct tracer *t)
{
	for (int i = 0; i < t->npids; i++) {
		t->pidfd[i] = syscall(SYS_pidfd_open, t->pids[i], 0);
		if (t->pidfd[i] < 0) {
			if (errno == ESRCH)
				return error("process %d exited before tracing started",
					     t->pids[i]);
			return error("pidfd_open(%d): %s", t->pids[i], strerror(errno));
		}
	}
	return 0;
}

static uint64_t lost_events(struct tracer *t)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0, *v;
	__u32 zero = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.lost), &zero, v))
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

/* Returns true once every traced process has exited. */
static bool reap_exited(struct tracer *t, struct pollfd *pfd)
{
	int alive = 0;

	for (int i = 0; i < t->npids; i++) {
		if (!t->exited[i] && (pfd[i + 1].revents & POLLIN)) {
			__u32 tgid = t->pids[i];

			t->exited[i] = true;
			/* Its PID may be reused: stop adopting new sockets for it. */
			bpf_map_delete_elem(bpf_map__fd(t->skel->maps.traced_tgids), &tgid);
		}
		alive += !t->exited[i];
	}
	return alive == 0;
}

static int poll_loop(struct tracer *t)
{
	struct pollfd pfd[TA_MAX_PIDS + 1];
	uint64_t deadline = 0;
	int err;

	pfd[0] = (struct pollfd){ .fd = ring_buffer__epoll_fd(t->rb), .events = POLLIN };
	for (int i = 0; i < t->npids; i++)
		pfd[i + 1] = (struct pollfd){ .fd = t->pidfd[i], .events = POLLIN };

	while (!stop_signal) {
		int n = poll(pfd, t->npids + 1, POLL_MS);

		if (n < 0 && errno != EINTR)
			return error("poll: %s", strerror(errno));
		err = ring_buffer__consume(t->rb);
		if (err < 0 && err != -EINTR)
			return error("reading events: %s", strerror(-err));
		session_tick(&t->session, clock_ns(CLOCK_MONOTONIC));
		if (t->out.err)
			return error("writing the output: %s", strerror(t->out.err));
		if (n > 0 && !deadline && reap_exited(t, pfd))
			deadline = clock_ns(CLOCK_MONOTONIC) + EXIT_GRACE_MS * 1000000ULL;
		if (deadline && clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
	}
	/* Whatever is already in the buffer is ours to report. */
	ring_buffer__consume(t->rb);
	return 0;
}

static int open_output(struct tracer *t, const struct trace_opts *o)
{
	t->out.f = stdout;
	if (o->out_path) {
		t->out_file = fopen(o->out_path, "w");
		if (!t->out_file)
			return error("cannot write %s: %s", o->out_path, strerror(errno));
		t->out.f = t->out_file;
	}
	t->out.format = o->json ? OUT_JSON : OUT_TEXT;
	t->out.verbose = o->verbose > 1;
	return 0;
}

static void start_record(struct tracer *t)
{
	const struct feature features[] = {
		{ "rst_reason", t->kf.rst_reason },
		{ "send_recv_length", t->kf.send_recv_length },
		{ "error_report", t->kf.error_report },
		{ "retransmit", t->kf.retransmit },
	};
	struct start_info si = {
		.pids = t->pids,
		.npids = t->npids,
		.kernel = t->kf.kernel,
		.features = features,
		.nfeatures = sizeof(features) / sizeof(features[0]),
		.mono_ns = clock_ns(CLOCK_MONOTONIC),
		.real_ns = clock_ns(CLOCK_REALTIME),
	};

	out_start(&t->out, &si);
}

int trace_main(const struct trace_opts *o)
{
	struct tracer t = { .pids = o->pids, .npids = o->npids };
	int ret = EXIT_FAILURE_RUNTIME, err;
	bool started = false;

	for (int i = 0; i < TA_MAX_PIDS; i++)
		t.pidfd[i] = -1;
	/* -v: libbpf's warnings (the verifier's log on failure); -vv: everything. */
	libbpf_level = o->verbose >= 2 ? LIBBPF_DEBUG : o->verbose ? LIBBPF_WARN : -1;
	libbpf_set_print(libbpf_print);
	/* Fail on a bad -o before touching the kernel. */
	if (open_output(&t, o))
		return EXIT_FAILURE_RUNTIME;
	if (probe_kernel(&t.kf)) {
		ret = EXIT_KERNEL;
		goto out;
	}

	t.skel = tcpabort_bpf__open();
	if (!t.skel) {
		error("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	if (pick_programs(&t)) {
		ret = EXIT_KERNEL;
		goto out;
	}
	if (o->buffer_kib && bpf_map__set_max_entries(t.skel->maps.events, o->buffer_kib * 1024)) {
		error("cannot size the ring buffer to %u KiB", o->buffer_kib);
		goto out;
	}
	err = tcpabort_bpf__load(t.skel);
	if (err) {
		/*
		 * EACCES is the verifier refusing a program, not a missing privilege.
		 * Before 5.12 tracing programs cannot ask for socket cookies (and
		 * before 5.8 there is no ring buffer): say so rather than "failed".
		 */
		if (kernel_before(5, 12)) {
			error("kernel %s is too old: tcpabort-trace needs 5.12 or later (BPF ring "
			      "buffer, socket cookies in tracing programs)",
			      t.kf.kernel);
			ret = EXIT_KERNEL;
		} else {
			error("cannot load the BPF programs: %s%s", strerror(-err),
			      o->verbose ? "" : " (run with -v for the verifier's log)");
			ret = err == -EPERM ? EXIT_PRIVILEGE : EXIT_FAILURE_RUNTIME;
		}
		goto out;
	}
	for (int i = 0; i < t.npids; i++) {
		__u32 tgid = t.pids[i], one = 1;

		if (bpf_map_update_elem(bpf_map__fd(t.skel->maps.traced_tgids), &tgid, &one,
					BPF_ANY)) {
			error("cannot register pid %d: %s", t.pids[i], strerror(errno));
			goto out;
		}
	}
	if (open_pidfds(&t)) {
		ret = EXIT_NO_PROCESS;
		goto out;
	}
	if (session_init(&t.session, &t.out))
		goto out;
	t.session.errors_unseen = !t.kf.error_report;
	t.rb = ring_buffer__new(bpf_map__fd(t.skel->maps.events), on_event, &t, NULL);
	if (!t.rb) {
		error("cannot open the ring buffer: %s", strerror(errno));
		goto out_session;
	}
	/* Handlers before attach: a signal from now on flushes, never loses. */
	if (install_signals())
		goto out_session;
	err = tcpabort_bpf__attach(t.skel);
	if (err) {
		error("cannot attach: %s", strerror(-err));
		goto out_session;
	}
	start_record(&t);
	started = true;
	if (o->verbose)
		fprintf(stderr, "%s: attached; tracing until the process%s exit%s or Ctrl-C\n",
			progname, t.npids > 1 ? "es" : "", t.npids > 1 ? "" : "s");
	ret = poll_loop(&t) ? EXIT_FAILURE_RUNTIME : EXIT_OK;
	tcpabort_bpf__detach(t.skel);
	ring_buffer__consume(t.rb);

out_session:
	if (t.rb)
		t.session.lost = lost_events(&t);
	session_finish(&t.session);
	/* An end record only closes what a start record opened. */
	if (t.rb && started) {
		out_end(&t.out, t.session.events, t.session.lost, t.session.connections);
		if (t.session.lost)
			warn("%llu events were lost (ring buffer full; see -b); affected verdicts "
			     "say INCOMPLETE",
			     (unsigned long long)t.session.lost);
	}
out:
	if ((t.out_file && fclose(t.out_file)) || (!t.out_file && fflush(stdout))) {
		if (!t.out.err)
			t.out.err = errno;
	}
	if (t.out.err && ret == EXIT_OK) {
		error("writing %s: %s", o->out_path ? o->out_path : "standard output",
		      strerror(t.out.err));
		ret = EXIT_FAILURE_RUNTIME;
	}
	ring_buffer__free(t.rb);
	tcpabort_bpf__destroy(t.skel);
	for (int i = 0; i < t.npids; i++)
		if (t.pidfd[i] >= 0)
			close(t.pidfd[i]);
	return ret;
}
