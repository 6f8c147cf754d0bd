// SPDX-License-Identifier: GPL-2.0
/*
 * Live tracing: the skeleton's whole life in one place.  Probe the kernel,
 * pick programs, load, register the traced processes, install signal
 * handlers, attach, then poll the ring buffer into a session until the
 * traced processes are gone or we are told to stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcpabort.skel.h"
#include "kfeatures.h"
#include "scope.h"
#include "session.h"
#include "trace.h"
#include "util.h"

/* After the last traced process exits, keep reading this long for its sockets' last words. */
#define EXIT_GRACE_MS 300
#define POLL_MS	      100
/* At the end, how long orphans still closing get to send their recorders' contents. */
#define DRAIN_MS 200
/* Stopped by a signal: at most this long to read what is left, then count the rest. */
#define STOP_BUDGET_MS 500
/* How often the traced processes are checked for an exit whose event was lost. */
#define ALIVE_CHECK_MS 1000

static volatile sig_atomic_t stop_signal, stop_count, summary_wanted;

static void on_signal(int sig)
{
	stop_signal = sig;
	stop_count++;
}

/* SIGUSR1: the summary so far, written from the poll loop; tracing goes on. */
static void on_usr1(int sig)
{
	(void)sig;
	summary_wanted = 1;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return error("sigaction: %s", strerror(errno));
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL))
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
	struct pidset start; /* the processes in scope at the attach */
	struct pidset alive; /* the traced processes still running */
	bool open_scope;     /* --comm, --cgroup, --unit: processes may join at any time */
	bool reseed;	     /* a process joined by exec: look for its sockets */
	int cgroup_fd;
	pid_t cmd_pid;	    /* -- CMD: the command, held before exec until attached */
	int cmd_go;	    /* write end of its go-ahead pipe */
	uint64_t seeded;    /* sockets found open at the attach */
	uint64_t batches;   /* flight recorder batches read */
	uint64_t stop_by;   /* stopped by a signal: what is not read by then is skipped */
	uint64_t skipped;   /* events not read: the stop came with a backlog */
	unsigned int polls; /* events since the clock was last read while stopping */
	uint64_t flushed;   /* sockets whose recorder was emptied at the end */
	/* Programs on syscall tracepoints: their BPF links and perf events (attach_syscalls). */
	int sys_link[TA_SYSCALL_TPS];
	int sys_perf[TA_SYSCALL_TPS];
	int nsys;
};

static int traced_map(struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.traced_tgids);
}

/* A process event: the set of traced processes follows it. */
static void on_process(struct tracer *t, const struct ta_event *e)
{
	__u32 tgid = e->owner_tgid;

	switch (e->b) {
	case TA_PROC_FORK:
		pidset_add(&t->alive, tgid);
		break;
	case TA_PROC_EXEC:
		pidset_add(&t->alive, tgid);
		/* Descriptors survive exec: sockets it inherited are open already. */
		t->reseed = true;
		break;
	case TA_PROC_EXIT:
		pidset_del(&t->alive, tgid);
		/* Its PID may be reused: stop adopting new sockets for it. */
		bpf_map_delete_elem(traced_map(t), &tgid);
		break;
	}
}

/*
 * Stopped by a signal with a backlog: past STOP_BUDGET_MS what is left is
 * counted as not read, not processed, so that SIGINT ends the tracer within
 * a second however full the ring buffer is.  A second signal skips at once.
 */
static bool past_budget(struct tracer *t)
{
	uint64_t now;

	if (!stop_signal)
		return false;
	if (stop_count > 1)
		return true;
	if (t->stop_by && ++t->polls % 256)
		return false;
	now = clock_ns(CLOCK_MONOTONIC);
	if (!t->stop_by)
		t->stop_by = now + STOP_BUDGET_MS * 1000000ULL;
	return now >= t->stop_by;
}

static int feed(struct tracer *t, struct tl_event *e)
{
	if (e->ev.kind == TA_EV_PROC)
		on_process(t, &e->ev);
	if (e->ev.kind == TA_EV_RST_SENT || e->ev.kind == TA_EV_PEER_RST) {
		snprintf(e->rst_name, sizeof(e->rst_name), "%s", rst_reason_name(&t->kf, e->ev.a));
		e->rst = ta_rst_from_name(e->rst_name);
	}
	return session_feed(&t->session, e) ? -ENOMEM : 0;
}

/*
 * A batch from a socket's flight recorder: the head carries what all its
 * events share, each ta_rev the rest.  They become ordinary events, in the
 * order they happened.
 */
static int on_batch(struct tracer *t, const struct ta_event *h, const void *data, size_t size)
{
	size_t n = (size - sizeof(*h)) / sizeof(struct ta_rev);
	const struct ta_rev *r = (const struct ta_rev *)((const char *)data + sizeof(*h));

	if (h->c < 0 || (size_t)h->c < n)
		n = h->c < 0 ? 0 : (size_t)h->c;
	for (size_t i = 0; i < n; i++) {
		struct tl_event e = { 0 };
		struct ta_rev v;
		int err;

		memcpy(&v, &r[i], sizeof(v));
		e.ev = *h;
		e.ev.ts_ns = v.ts_ns;
		e.ev.peer_cookie = 0;
		e.ev.tx_bytes = v.tx_bytes;
		e.ev.rx_bytes = v.rx_bytes;
		e.ev.tx_calls = v.tx_calls;
		e.ev.rx_calls = v.rx_calls;
		e.ev.task_tgid = v.task_tgid;
		e.ev.task_pid = v.task_pid;
		e.ev.a = v.a;
		e.ev.b = v.b;
		e.ev.c = v.c;
		e.ev.aux = v.aux;
		e.ev.kind = v.kind;
		e.ev.flags = v.flags;
		e.ev.state = v.state;
		e.ev.probes = v.probes;
		e.ev.retrans = v.retrans;
		memcpy(e.ev.comm, v.comm, sizeof(e.ev.comm));
		/* The head names the owner's process; another task's is its thread's name. */
		if (v.task_tgid == h->owner_tgid && h->pcomm[0])
			memcpy(e.ev.pcomm, h->pcomm, sizeof(e.ev.pcomm));
		else
			memcpy(e.ev.pcomm, v.comm, sizeof(e.ev.pcomm));
		err = feed(t, &e);
		if (err)
			return err;
	}
	t->batches++;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	struct tl_event e = { 0 };

	if (size < sizeof(e.ev))
		return 0;
	memcpy(&e.ev, data, sizeof(e.ev));
	if (t->skipped || past_budget(t)) {
		t->skipped += e.ev.kind == TA_EV_BATCH && e.ev.c > 0 ? (uint64_t)e.ev.c : 1;
		return 0;
	}
	if (e.ev.kind == TA_EV_BATCH)
		return on_batch(t, &e.ev, data, size);
	return feed(t, &e);
}

/*
 * Choose programs by what the kernel has.  Each fallback names the kernel it
 * serves; a missing optional hook only removes one kind of evidence, and the
 * start record says which.
 */
/*
 * TCPABORT_DISABLE=name,... switches fallbacks off, so that a kernel matrix
 * run (tests/kernels) can show each one is needed on the kernel it serves:
 * the native path is then taken as if the kernel had it.  Two names switch
 * a native path off instead, so that its fallback can be tested on a kernel
 * that has both: recorder, syscall_tracepoints (raw sys_enter/sys_exit).
 */
static bool disabled(const char *name)
{
	const char *list = getenv("TCPABORT_DISABLE"), *p;
	size_t n = strlen(name);

	for (p = list; p && (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static void fallbacks_off(struct tracer *t)
{
	struct tcpabort_bpf *s = t->skel;

	if (disabled("syscall_io"))
		s->rodata->syscall_io = false;
	if (disabled("error_at_close"))
		s->rodata->error_at_close = false;
	if (disabled("tw_rst_at_receiver"))
		s->rodata->tw_rst_at_receiver = false;
	if (disabled("child_own_id"))
		s->rodata->child_own_id = false;
	if (disabled("recorder")) {
		s->rodata->recorder = false;
		t->kf.recorder = false;
	}
	if (disabled("seed_core") && !t->kf.sock_from_file) {
		bpf_program__set_autoload(s->progs.seed_sockets_core, false);
		t->kf.seed = false;
	}
	if (disabled("syscall_tracepoints"))
		t->kf.syscall_tp = false;
}

#define SYSCALL_TP_SEC "tracepoint/syscalls/"

/* NAME for a program on the tracepoint syscalls:NAME, else NULL. */
static const char *syscall_tp_of(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	size_t n = strlen(SYSCALL_TP_SEC);

	return sec && !strncmp(sec, SYSCALL_TP_SEC, n) ? sec + n : NULL;
}

/*
 * System calls (bpf/tcpabort.bpf.c), one way or the other, never both.
 * Natively, connect, accept, accept4, shutdown, close and getsockopt each run
 * programs on their own tracepoints (syscalls:sys_enter_X/sys_exit_X), and
 * no other system call runs anything of ours.  The fallback, raw sys_enter
 * and sys_exit, runs on every system call of every process on the host:
 * before 6.3, where read and write (the hottest calls) need a hook for
 * their results anyway (syscall_io), and where the syscall tracepoints
 * cannot be attached: their ids are read from tracefs, mounted or not
 * (tracefs_open() in src/kfeatures.c says how, leaving no mount behind).
 */
static void pick_syscalls(struct tracer *t)
{
	struct tcpabort_bpf *s = t->skel;
	bool native = t->kf.syscall_tp && t->kf.send_recv_length;
	struct bpf_program *prog;
	const char *name;

	bpf_object__for_each_program(prog, s->obj)
	{
		name = syscall_tp_of(prog);
		if (name && syscall_tp_id(&t->kf, name) < 0) {
			/* A program whose tracepoint src/kfeatures.c does not probe. */
			if (t->kf.syscall_tp)
				warn("no id for syscalls:%s (ta_syscall_tps, src/kfeatures.c)",
				     name);
			native = false;
		}
	}
	bpf_object__for_each_program(prog, s->obj)
	{
		if (!syscall_tp_of(prog))
			continue;
		bpf_program__set_autoload(prog, native);
		/* attach_syscalls(), not libbpf: it would look for a mounted tracefs. */
		bpf_program__set_autoattach(prog, false);
	}
	bpf_program__set_autoload(s->progs.on_sys_enter, !native);
	bpf_program__set_autoload(s->progs.on_sys_exit, !native);
	/* What the start record and --features say. */
	t->kf.syscall_tp = native;
}

/*
 * The programs on syscall tracepoints, through perf events opened with the
 * ids probed (what libbpf's attach does once it has read an id), each with
 * a BPF link (5.15) of its own, not libbpf's: see detach_syscalls().
 */
static int attach_syscalls(struct tracer *t)
{
	struct bpf_object_skeleton *sk = t->skel->skeleton;

	for (int i = 0; i < sk->prog_cnt; i++) {
		struct bpf_program *prog = *sk->progs[i].prog;
		struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT,
						.size = sizeof(attr) };
		const char *name = syscall_tp_of(prog);
		int pfd, lfd, err;

		if (!name || !bpf_program__autoload(prog))
			continue;
		if (t->nsys == TA_SYSCALL_TPS)
			return error("more syscall programs than ta_syscall_tps (src/kfeatures.c)");
		attr.config = syscall_tp_id(&t->kf, name);
		pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (pfd < 0)
			return error("cannot open syscalls:%s: %s", name, strerror(errno));
		lfd = bpf_link_create(bpf_program__fd(prog), pfd, BPF_PERF_EVENT, NULL);
		if (lfd < 0) {
			err = errno;
			close(pfd);
			return error("cannot attach to syscalls:%s: %s", name, strerror(err));
		}
		t->sys_link[t->nsys] = lfd;
		t->sys_perf[t->nsys++] = pfd;
	}
	return 0;
}

/*
 * Each close of a syscall tracepoint's BPF link, and then of its perf event
 * (perf_trace_destroy), waits for RCU grace periods, one close after the
 * other: 20-30 ms each on 6.18 here, about 0.45 s for the nine programs.
 * The links, which stop the programs, go at the detach with the others; the
 * perf events once the output is written, so that it does not wait.
 */
static void detach_syscalls(struct tracer *t)
{
	for (int i = 0; i < t->nsys; i++) {
		if (t->sys_link[i] >= 0)
			close(t->sys_link[i]);
		t->sys_link[i] = -1;
	}
}

static void release_syscalls(struct tracer *t)
{
	detach_syscalls(t);
	for (int i = 0; i < t->nsys; i++)
		close(t->sys_perf[i]);
	t->nsys = 0;
}

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
	/*
	 * ... nor for timewait socks: their RSTs are seen where a receiver on
	 * this host gets them (tcp_receive_reset), and only there.
	 */
	s->rodata->tw_rst_at_receiver = !t->kf.rst_reason;
	/*
	 * Before 6.3 there is no per-call send/recv result: sys_exit of
	 * read, write, send and recv calls on a TCP socket give it (SIGPIPE
	 * from signal_generate rides on it as on sock_send_length).
	 */
	bpf_program__set_autoload(s->progs.on_send_length, t->kf.send_recv_length);
	bpf_program__set_autoload(s->progs.on_recv_length, t->kf.send_recv_length);
	s->rodata->syscall_io = !t->kf.send_recv_length;
	/* Retransmissions are counted from 4.15; their error argument came later. */
	bpf_program__set_autoload(s->progs.on_retransmit, t->kf.retransmit_err);
	bpf_program__set_autoload(s->progs.on_retransmit_noerr,
				  t->kf.retransmit && !t->kf.retransmit_err);
	/*
	 * Before 5.14 there is no inet_sk_error_report: the stored error is
	 * read at the move to CLOSE, where tcp_done() follows setting it.
	 */
	bpf_program__set_autoload(s->progs.on_error_report, t->kf.error_report);
	s->rodata->error_at_close = !t->kf.error_report;
	/*
	 * Before 5.12 tracing programs have no bpf_get_socket_cookie: the
	 * kernel's skc_cookie when something made it, else an id of our own.
	 */
	s->rodata->cookie_helper = t->kf.cookie_helper;
	/*
	 * Sockets open at the attach: iter/task_file (5.8) with
	 * bpf_sock_from_file (5.11), or reading the file's private_data.
	 */
	bpf_program__set_autoload(s->progs.seed_sockets, t->kf.seed && t->kf.sock_from_file);
	bpf_program__set_autoload(s->progs.seed_sockets_core, t->kf.seed && !t->kf.sock_from_file);
	/*
	 * The flight recorder needs socket storage in tracing programs (5.11):
	 * before, every event goes out as it happens.
	 */
	s->rodata->recorder = t->kf.recorder;
	/* Without the sched tracepoints' BTF, forks are not followed; exits are polled. */
	bpf_program__set_autoload(s->progs.on_fork, t->kf.processes);
	bpf_program__set_autoload(s->progs.on_exec, t->kf.processes);
	bpf_program__set_autoload(s->progs.on_exit, t->kf.processes);
	fallbacks_off(t);
	pick_syscalls(t);
	bpf_program__set_autoload(s->progs.flush_held, s->rodata->recorder);
	if (t->open_scope && !t->kf.processes)
		return error("kernel %s lacks the sched_process_exec tracepoint with BTF: "
			     "--comm, --cgroup and --unit cannot follow new processes",
			     t->kf.kernel);
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

/* Drops the processes that are gone although no exit event said so (lost, or an old kernel). */
static void check_alive(struct tracer *t)
{
	for (size_t i = 0; i < t->alive.n;) {
		__u32 tgid = t->alive.v[i];

		if (scope_alive(tgid)) {
			i++;
			continue;
		}
		pidset_del(&t->alive, tgid);
		bpf_map_delete_elem(traced_map(t), &tgid);
	}
	if (t->cmd_pid > 0 && waitpid(t->cmd_pid, NULL, WNOHANG) == t->cmd_pid)
		t->cmd_pid = 0;
}

/*
 * Runs an iterator program once: it writes 8 bytes per socket it handles,
 * so each read returns after a few hundred and the ring buffer is drained
 * in between (a server with 100,000 connections does not overflow it).
 * Adds the sockets to *count.  `what` names it in errors.
 */
static int run_iter(struct tracer *t, struct bpf_program *prog, const char *what, uint64_t *count)
{
	struct bpf_link *link;
	char buf[4096];
	ssize_t n;
	int fd, err = 0;

	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return error("cannot attach the %s iterator: %s", what, strerror(errno));
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = error("cannot start the %s iterator: %s", what, strerror(errno));
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EAGAIN)) {
		if (n > 0)
			*count += n / sizeof(__u64);
		ring_buffer__consume(t->rb);
	}
	if (n < 0)
		err = error("reading the %s iterator: %s", what, strerror(errno));
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

/*
 * Every TCP socket of a traced process that is not traced yet joins now
 * (TA_EV_JOIN): at the attach, and when a process joins the scope.
 */
static int seed(struct tracer *t)
{
	if (!t->kf.seed)
		return 0;
	return run_iter(t,
			t->kf.sock_from_file ? t->skel->progs.seed_sockets
					     : t->skel->progs.seed_sockets_core,
			"socket", &t->seeded);
}

/*
 * Before the detach: every socket the traced processes hold sends what its
 * recorder holds (the open connections' histories).  Orphans still
 * finishing their close send theirs at their next event (`draining`); the
 * caller gives them DRAIN_MS.
 */
static int flush_recorders(struct tracer *t)
{
	if (!t->skel->rodata->recorder)
		return 0;
	/* From now on every recorder sends what it holds at its next event. */
	t->skel->bss->draining = 1;
	return run_iter(t, t->skel->progs.flush_held, "recorder", &t->flushed);
}

/* Orphans closing quietly end within milliseconds: read what they send meanwhile. */
static void drain(struct tracer *t)
{
	uint64_t until;

	if (!t->skel->rodata->recorder)
		return;
	until = clock_ns(CLOCK_MONOTONIC) + DRAIN_MS * 1000000ULL;
	while (clock_ns(CLOCK_MONOTONIC) < until) {
		ring_buffer__poll(t->rb, 20);
		/* Stopped with a backlog, out of time: the rest is counted as not read. */
		if (stop_count > 1 || t->skipped ||
		    (t->stop_by && clock_ns(CLOCK_MONOTONIC) >= t->stop_by))
			break;
	}
}

static int poll_loop(struct tracer *t, uint64_t stop_at)
{
	struct pollfd pfd = { .fd = ring_buffer__epoll_fd(t->rb), .events = POLLIN };
	uint64_t deadline = 0, next_check = 0;
	int err;

	while (!stop_signal) {
		uint64_t now;
		int n = poll(&pfd, 1, POLL_MS);

		if (n < 0 && errno != EINTR)
			return error("poll: %s", strerror(errno));
		err = ring_buffer__consume(t->rb);
		if (err < 0 && err != -EINTR)
			return error("reading events: %s", strerror(-err));
		now = clock_ns(CLOCK_MONOTONIC);
		session_tick(&t->session, now);
		if (summary_wanted) {
			summary_wanted = 0;
			session_summary(&t->session);
		}
		if (t->out.err)
			return error("writing the output: %s", strerror(t->out.err));
		if (t->reseed) {
			t->reseed = false;
			if (seed(t))
				return -1;
		}
		if (now >= next_check) {
			check_alive(t);
			next_check = now + ALIVE_CHECK_MS * 1000000ULL;
		}
		if (stop_at && now >= stop_at)
			break;
		/* With a fixed set of processes, tracing ends when the last one exits. */
		if (!t->open_scope && !t->alive.n && !deadline)
			deadline = now + EXIT_GRACE_MS * 1000000ULL;
		if (deadline && now >= deadline)
			break;
	}
	/* Whatever is already in the buffer is ours to report (within STOP_BUDGET_MS). */
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
		/* Records go out at every connection's end anyway (flush); fewer writes between. */
		setvbuf(t->out_file, NULL, _IOFBF, 256 << 10);
	}
	t->out.format = o->json ? OUT_JSON : OUT_TEXT;
	t->out.verbose = o->verbose > 1;
	return 0;
}

/* One line on stderr naming what this kernel degrades; --features says how. */
static void note_degraded(const struct tracer *t)
{
	struct kpath p[TA_MAX_KPATHS];
	int n = kfeatures_paths(&t->kf, p, TA_MAX_KPATHS), k = 0;

	for (int i = 0; i < n; i++) {
		if (!p[i].degraded)
			continue;
		fprintf(stderr, "%s%s",
			k++ ? ", " : "tcpabort-trace: on this kernel, evidence is degraded for: ",
			p[i].capability);
	}
	if (k)
		fprintf(stderr, " (tcpabort-trace --features says what is missing)\n");
}

static void start_record(struct tracer *t)
{
	const struct feature features[] = {
		{ "rst_reason", t->kf.rst_reason },
		/* Before 6.3 from syscall exits: present either way. */
		{ "send_recv_length", t->kf.send_recv_length || t->skel->rodata->syscall_io },
		{ "error_report", t->kf.error_report },
		{ "retransmit", t->kf.retransmit },
		{ "seed", t->kf.seed },
		{ "processes", t->kf.processes },
	};
	struct kpath kp[TA_MAX_KPATHS];
	struct capability_path paths[TA_MAX_KPATHS];
	int npaths = kfeatures_paths(&t->kf, kp, TA_MAX_KPATHS);
	struct start_info si = {
		.pids = t->start.v,
		.npids = t->start.n,
		.kernel = t->kf.kernel,
		.features = features,
		.nfeatures = sizeof(features) / sizeof(features[0]),
		.paths = paths,
		.npaths = npaths,
		.mono_ns = clock_ns(CLOCK_MONOTONIC),
		.real_ns = clock_ns(CLOCK_REALTIME),
	};

	for (int i = 0; i < npaths; i++)
		paths[i] = (struct capability_path){ kp[i].capability, kp[i].path, kp[i].degraded };
	out_start(&t->out, &si);
}

/*
 * The processes in scope at the attach, each as a process event of its own,
 * so a saved log says who was traced (report reads them like live events).
 */
static void announce_start(struct tracer *t, char **cmd)
{
	for (size_t i = 0; i < t->start.n; i++) {
		struct tl_event e = { 0 };
		char comm[64];

		e.ev.ts_ns = clock_ns(CLOCK_MONOTONIC);
		e.ev.kind = TA_EV_PROC;
		e.ev.b = TA_PROC_START;
		e.ev.owner_tgid = e.ev.task_tgid = e.ev.task_pid = t->start.v[i];
		e.ev.a = scope_parent(t->start.v[i]);
		/* The command is still us, held before its exec: name it as it will be. */
		if ((pid_t)t->start.v[i] == t->cmd_pid && cmd)
			snprintf(comm, sizeof(comm), "%s", basename(cmd[0]));
		else
			scope_comm_of(t->start.v[i], comm, sizeof(comm));
		snprintf(e.ev.comm, sizeof(e.ev.comm), "%.15s", comm);
		snprintf(e.ev.pcomm, sizeof(e.ev.pcomm), "%.15s", comm);
		session_feed(&t->session, &e);
	}
}

/*
 * `-p MASTER` of a pre-forked server traces the master alone: its workers
 * exist already, and only later forks are followed.  Say so.
 */
static void note_untraced_children(struct tracer *t)
{
	struct pidset all = { 0 };
	size_t n;

	for (size_t i = 0; i < t->start.n; i++)
		pidset_add(&all, t->start.v[i]);
	if (!scope_add_descendants(&all) && (n = all.n - t->start.n))
		warn("%zu child process%s of the traced process%s %s not traced (add --tree to "
		     "trace them too)",
		     n, n == 1 ? "" : "es", t->start.n == 1 ? "" : "es", n == 1 ? "is" : "are");
	pidset_free(&all);
}

/*
 * Whom to trace now: -p, their descendants with --tree, --comm, --cgroup,
 * --unit.  Exit code on failure.
 */
static int resolve_scope(struct tracer *t, const struct trace_opts *o)
{
	char dir[4096];

	for (size_t i = 0; i < o->pids.n; i++)
		if (pidset_add(&t->start, o->pids.v[i]))
			return error("out of memory"), EXIT_FAILURE_RUNTIME;
	if (o->tree && scope_add_descendants(&t->start))
		return EXIT_FAILURE_RUNTIME;
	if (o->comm && scope_add_comm(&t->start, o->comm))
		return EXIT_FAILURE_RUNTIME;
	if (o->cgroup || o->unit) {
		t->cgroup_fd = scope_cgroup_open(o->cgroup ? o->cgroup : o->unit, !o->cgroup, dir,
						 sizeof(dir));
		if (t->cgroup_fd < 0)
			return EXIT_NO_PROCESS;
		if (scope_add_cgroup(&t->start, dir))
			return EXIT_FAILURE_RUNTIME;
		if (o->verbose)
			fprintf(stderr, "%s: cgroup %s\n", progname, dir);
	}
	t->open_scope = o->comm || o->cgroup || o->unit;
	return 0;
}

/*
 * -- CMD: fork now, exec only once everything is attached, so the command's
 * first connect is traced.  Its pid joins the scope before the attach.
 */
static int start_command(struct tracer *t, char **cmd)
{
	int go[2];
	char c;

	if (pipe2(go, O_CLOEXEC))
		return error("pipe: %s", strerror(errno));
	t->cmd_pid = fork();
	if (t->cmd_pid < 0)
		return error("fork: %s", strerror(errno));
	if (!t->cmd_pid) {
		close(go[1]);
		/* The tracer gave up (the pipe closed unwritten): run nothing. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(cmd[0], cmd);
		fprintf(stderr, "%s: cannot run %s: %s\n", progname, cmd[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	t->cmd_go = go[1];
	return pidset_add(&t->start, t->cmd_pid) ? error("out of memory") : 0;
}

static void release_command(struct tracer *t)
{
	if (t->cmd_go < 0)
		return;
	if (write(t->cmd_go, "", 1) != 1)
		warn("cannot start the command: %s", strerror(errno));
	close(t->cmd_go);
	t->cmd_go = -1;
}

int trace_main(const struct trace_opts *o)
{
	struct tracer t = { .cgroup_fd = -1, .cmd_go = -1 };
	uint64_t kernel_lost = 0;
	int ret = EXIT_FAILURE_RUNTIME, err;
	uint64_t stop_at = 0;
	bool started = false;

	/* -v: libbpf's warnings (the verifier's log on failure); -vv: everything. */
	libbpf_level = o->verbose >= 2 ? LIBBPF_DEBUG : o->verbose ? LIBBPF_WARN : -1;
	libbpf_set_print(libbpf_print);
	/* Fail on a bad -o before touching the kernel. */
	if (open_output(&t, o))
		return EXIT_FAILURE_RUNTIME;
	ret = resolve_scope(&t, o);
	if (ret)
		goto out;
	ret = EXIT_FAILURE_RUNTIME;
	if (!t.start.n && !t.open_scope && !o->cmd) {
		error("no process to trace: none in scope");
		ret = EXIT_NO_PROCESS;
		goto out;
	}
	if (probe_kernel(&t.kf)) {
		ret = EXIT_KERNEL;
		goto out;
	}

	t.skel = tcpabort_bpf__open();
	if (!t.skel) {
		error("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	t.skel->rodata->follow_forks = !o->no_children;
	if (o->comm) {
		t.skel->rodata->scope_comm = true;
		/* The kernel keeps 15 characters of a name, as /proc/PID/comm shows. */
		snprintf((char *)t.skel->rodata->scope_comm_name,
			 sizeof(t.skel->rodata->scope_comm_name), "%s", o->comm);
	}
	t.skel->rodata->scope_cgroup = t.cgroup_fd >= 0;
	if (pick_programs(&t)) {
		ret = EXIT_KERNEL;
		goto out;
	}
	if (o->buffer_kib && bpf_map__set_max_entries(t.skel->maps.events, o->buffer_kib * 1024)) {
		error("cannot size the ring buffer to %u KiB", o->buffer_kib);
		goto out;
	}
	/*
	 * With the recorder most connections are one summary record: half the
	 * ring buffer is room enough (it is mapped twice: this is most of the
	 * tracer's resident memory).
	 */
	if (!o->buffer_kib && t.skel->rodata->recorder && !o->filter.all &&
	    bpf_map__set_max_entries(t.skel->maps.events, 2 << 20)) {
		error("cannot size the ring buffer to 2048 KiB");
		goto out;
	}
	/* --all: every connection's history, as it was; no summaries. */
	t.skel->rodata->record_all = o->filter.all;
	/* Woken once an eighth of the ring waits; else read every POLL_MS. */
	t.skel->rodata->wake_bytes = bpf_map__max_entries(t.skel->maps.events) / 8;
	if (o->max_sockets && (bpf_map__set_max_entries(t.skel->maps.socks, o->max_sockets) ||
			       bpf_map__set_max_entries(t.skel->maps.tuples, o->max_sockets) ||
			       bpf_map__set_max_entries(t.skel->maps.own_ids, o->max_sockets))) {
		error("cannot size the socket table to %u", o->max_sockets);
		goto out;
	}
	err = tcpabort_bpf__load(t.skel);
	if (err) {
		/*
		 * EACCES is the verifier refusing a program, not a missing privilege.
		 * Before 5.8 there is no ring buffer: say so rather than "failed".
		 */
		if (kernel_before(5, 8)) {
			error("kernel %s is too old: tcpabort-trace needs 5.8 or later (BPF ring "
			      "buffer, iter/task_file)",
			      t.kf.kernel);
			ret = EXIT_KERNEL;
		} else {
			error("cannot load the BPF programs: %s%s", strerror(-err),
			      o->verbose ? "" : " (run with -v for the verifier's log)");
			ret = err == -EPERM ? EXIT_PRIVILEGE : EXIT_FAILURE_RUNTIME;
		}
		goto out;
	}
	if (t.cgroup_fd >= 0) {
		__u32 zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(t.skel->maps.cgroup_scope), &zero, &t.cgroup_fd,
					BPF_ANY)) {
			error("cannot use the cgroup: %s", strerror(errno));
			goto out;
		}
	}
	if (o->cmd && start_command(&t, o->cmd))
		goto out;
	for (size_t i = 0; i < t.start.n; i++) {
		__u32 tgid = t.start.v[i], one = 1;

		if (bpf_map_update_elem(traced_map(&t), &tgid, &one, BPF_ANY)) {
			error("cannot register pid %u: %s", tgid, strerror(errno));
			goto out;
		}
		pidset_add(&t.alive, tgid);
	}
	if (session_init(&t.session, &t.out))
		goto out;
	session_set_filter(&t.session, &o->filter);
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
	if (attach_syscalls(&t))
		goto out_session;
	start_record(&t);
	started = true;
	announce_start(&t, o->cmd);
	/* After the attach: a socket that changes between the two is seen by both, once. */
	if (seed(&t))
		goto out_session;
	release_command(&t);
	/* After the attach, so that an error before it stays one line. */
	if (!o->tree && o->pids.n)
		note_untraced_children(&t);
	note_degraded(&t);
	if (o->verbose)
		fprintf(stderr,
			"%s: attached to %zu process%s, %llu socket%s already open; tracing "
			"until %s\n",
			progname, t.start.n, t.start.n == 1 ? "" : "es",
			(unsigned long long)t.seeded, t.seeded == 1 ? "" : "s",
			t.open_scope ? "Ctrl-C" : "they exit or Ctrl-C");
	if (o->duration_s)
		stop_at = clock_ns(CLOCK_MONOTONIC) + o->duration_s * 1000000000ULL;
	ret = poll_loop(&t, stop_at) ? EXIT_FAILURE_RUNTIME : EXIT_OK;
	/* What the recorders of open connections hold: their verdicts need it. */
	if (flush_recorders(&t) && ret == EXIT_OK)
		ret = EXIT_FAILURE_RUNTIME;
	drain(&t);
	if (o->verbose && t.skel->rodata->recorder)
		fprintf(stderr,
			"%s: %llu flight-recorder batch%s read; %llu open socket%s' recorders "
			"emptied at the end\n",
			progname, (unsigned long long)t.batches, t.batches == 1 ? "" : "es",
			(unsigned long long)t.flushed, t.flushed == 1 ? "" : "s");
	detach_syscalls(&t);
	tcpabort_bpf__detach(t.skel);
	ring_buffer__consume(t.rb);

out_session:
	if (t.rb)
		kernel_lost = lost_events(&t);
	/* Not read is as good as lost for the connections still open. */
	t.session.lost = kernel_lost + t.skipped;
	if (t.skipped)
		warn("%llu events were not read: tracing was stopped with a backlog; the "
		     "connections still open are marked INCOMPLETE",
		     (unsigned long long)t.skipped);
	if (t.rb && t.skel->bss->untracked)
		warn("%llu socket%s of the traced processes could not be traced: the socket table "
		     "was full (see --max-sockets)",
		     (unsigned long long)t.skel->bss->untracked,
		     t.skel->bss->untracked == 1 ? "" : "s");
	session_finish(&t.session);
	/* An end record only closes what a start record opened. */
	if (t.rb && started) {
		struct end_info end = { .events = t.session.events,
					.lost = kernel_lost,
					.unread = t.skipped,
					.connections = t.session.connections,
					.untracked = t.skel->bss->untracked,
					.ends_lost = t.skel->bss->ends_lost };

		out_end(&t.out, &end);
		if (kernel_lost)
			warn("%llu events were lost (ring buffer full; see -b); affected verdicts "
			     "say INCOMPLETE",
			     (unsigned long long)kernel_lost);
		if (t.skel->bss->ends_lost)
			warn("%llu connection%s ended with their history lost (a burst of ends "
			     "the reader could not keep up with; see -b): no verdict, or an "
			     "INCOMPLETE one",
			     (unsigned long long)t.skel->bss->ends_lost,
			     t.skel->bss->ends_lost == 1 ? "" : "s");
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
	release_syscalls(&t);
	tcpabort_bpf__destroy(t.skel);
	/* A command never released exits at once; one that runs is left running. */
	if (t.cmd_go >= 0)
		close(t.cmd_go);
	if (t.cmd_pid > 0 && !started)
		waitpid(t.cmd_pid, NULL, 0);
	if (t.cgroup_fd >= 0)
		close(t.cgroup_fd);
	pidset_free(&t.start);
	pidset_free(&t.alive);
	return ret;
}
