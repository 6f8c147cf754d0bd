// SPDX-License-Identifier: GPL-2.0
/*
 * churn: loopback connection churn for `make bench` (tests/bench/run.py).
 *
 * One process holds both ends: an epoll server thread on 127.0.0.1 and T
 * blocking client threads.  Each connection sends one byte and reads the
 * echo.  An orderly one then reads the server's FIN and closes (the server
 * closes first, so TIME_WAIT stays on the server side and ephemeral ports
 * are free again at once); a reset one closes with SO_LINGER {1,0}, which
 * sends an RST that the server reads as ECONNRESET.
 *
 * With -H N, N more connections are opened before the churn and held, idle,
 * while it runs; after it, each sends one byte, reads the echo and closes
 * with SO_LINGER {1,0}: every held connection ends in an RST, so a tracer
 * that lost track of one says so in its verdict.
 *
 * With -P it prints "paused" on stderr and waits for SIGUSR1 before the
 * first connection, so a tracer can attach (scripts/lib.sh).  At the end,
 * or on SIGINT/SIGTERM, it prints one line on stdout:
 *   churn: connections=N resets=N errors=N seconds=S rate=R/s [held=N held_reset=N]
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define ORDERLY	    'x'
#define RESET	    'R'

struct opts {
	unsigned long long count; /* connections in all; 0: until the duration ends */
	double seconds;		  /* 0: until count is reached */
	double reset_pct;
	int threads;
	int pause;
	unsigned long held; /* -H: connections held open through the churn */
};

struct client {
	pthread_t thread;
	int index;
	unsigned long long done;
	unsigned long long resets;
	unsigned long long errors;
};

static struct opts opt = { .seconds = 5, .reset_pct = 5, .threads = 1 };
static struct sockaddr_in server_addr;
static atomic_ullong started; /* connections claimed by clients (-n) */
static atomic_int stopping;   /* clients stop: time, count or signal */
static atomic_int server_stop;
static struct timespec t_start;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	atomic_store(&stopping, 1);
}

static double now_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int parse_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: churn [-n COUNT] [-d SECONDS] [-r RESET_PCT] [-t THREADS] [-P]\n"
		   "  -n COUNT      stop after COUNT connections (default: run for -d)\n"
		   "  -d SECONDS    stop after SECONDS (default 5; 0 with -n: no limit)\n"
		   "  -r RESET_PCT  share of connections closed with SO_LINGER {1,0} (default 5)\n"
		   "  -t THREADS    client threads (default 1)\n"
		   "  -H HELD       hold HELD connections open through the churn, then\n"
		   "                end each with an RST (SO_LINGER {1,0})\n"
		   "  -P            print \"paused\" on stderr, start on SIGUSR1\n");
}

static int parse_opts(int argc, char **argv)
{
	int c, n_given = 0, d_given = 0;
	double v;

	while ((c = getopt(argc, argv, "n:d:r:t:H:Ph")) != -1) {
		switch (c) {
		case 'n':
			if (parse_num(optarg, 1, 1e12, &v))
				goto bad;
			opt.count = (unsigned long long)v;
			n_given = 1;
			break;
		case 'd':
			if (parse_num(optarg, 0, 86400, &v))
				goto bad;
			opt.seconds = v;
			d_given = 1;
			break;
		case 'r':
			if (parse_num(optarg, 0, 100, &v))
				goto bad;
			opt.reset_pct = v;
			break;
		case 't':
			if (parse_num(optarg, 1, MAX_THREADS, &v) || v != (int)v)
				goto bad;
			opt.threads = (int)v;
			break;
		case 'H':
			if (parse_num(optarg, 0, 1e6, &v) || v != (unsigned long)v)
				goto bad;
			opt.held = (unsigned long)v;
			break;
		case 'P':
			opt.pause = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc)
		goto bad;
	if (n_given && !d_given)
		opt.seconds = 0;
	if (!opt.count && opt.seconds <= 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "churn: bad option or argument\n");
	usage(stderr);
	return -1;
}

static int listen_socket(void)
{
	socklen_t len = sizeof(server_addr);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server_addr.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)&server_addr, &len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Echo the first byte; an orderly connection is then closed by us, first. */
static void serve_one(int ep, int fd)
{
	char buf[16];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			if (write(fd, buf, 1) != 1 || buf[0] == ORDERLY)
				break;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		break; /* EOF, or ECONNRESET from a reset connection */
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static void *server(void *arg)
{
	struct epoll_event ev, evs[256];
	int lfd = (int)(intptr_t)arg, ep, n, i, fd;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("churn: epoll_create1");
		exit(1);
	}
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!atomic_load(&server_stop)) {
		n = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd != lfd) {
				serve_one(ep, evs[i].data.fd);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				ev.events = EPOLLIN;
				ev.data.fd = fd;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
					close(fd);
			}
		}
	}
	close(ep);
	return NULL;
}

/* One connection; returns 0 when it went as planned. */
static int one_connection(int reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char c = reset ? RESET : ORDERLY, r;
	int fd, ok = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) ||
	    write(fd, &c, 1) != 1 || read(fd, &r, 1) != 1 || r != c)
		goto out;
	if (reset) {
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0)
			ok = 0;
	} else if (read(fd, &r, 1) == 0) {
		ok = 0; /* the server's FIN */
	}
out:
	close(fd);
	return ok;
}

/* -H: open the held connections; returns how many were opened. */
static unsigned long hold_open(int *fds)
{
	unsigned long i;

	for (i = 0; i < opt.held; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 ||
		    connect(fds[i], (struct sockaddr *)&server_addr, sizeof(server_addr))) {
			fprintf(stderr, "churn: held connection %lu: %s\n", i, strerror(errno));
			if (fds[i] >= 0)
				close(fds[i]);
			break;
		}
	}
	return i;
}

/* Each held connection: one byte, its echo, then an RST. */
static unsigned long hold_end(const int *fds, unsigned long n)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned long ok = 0;
	char c = RESET, r;

	for (unsigned long i = 0; i < n; i++) {
		if (write(fds[i], &c, 1) == 1 && read(fds[i], &r, 1) == 1 && r == c &&
		    !setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			ok++;
		close(fds[i]);
	}
	return ok;
}

/* Connection i of a client is reset when i crosses the next multiple of 100 / pct. */
static int is_reset(unsigned long long i)
{
	return floor((double)(i + 1) * opt.reset_pct / 100.0) >
	       floor((double)i * opt.reset_pct / 100.0);
}

static void *client(void *arg)
{
	struct client *cl = arg;
	unsigned long long i, consecutive = 0;
	int reset;

	for (i = 0; !atomic_load(&stopping); i++) {
		if (opt.count && atomic_fetch_add(&started, 1) >= opt.count)
			break;
		if (opt.seconds > 0 && (i & 63) == 0 && now_since(&t_start) >= opt.seconds)
			break;
		reset = is_reset(i);
		if (one_connection(reset)) {
			cl->errors++;
			if (++consecutive > 10000) {
				fprintf(stderr, "churn: 10000 failed connections in a row: %s\n",
					strerror(errno));
				break;
			}
			continue;
		}
		consecutive = 0;
		cl->done++;
		cl->resets += reset;
	}
	atomic_store(&stopping, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long long done = 0, resets = 0, errors = 0;
	static struct client clients[MAX_THREADS];
	unsigned long held = 0, held_reset = 0;
	int *held_fds = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t srv;
	sigset_t usr1;
	double secs;
	int lfd, i, sig;

	if (parse_opts(argc, argv))
		return 2;
	lfd = listen_socket();
	if (lfd < 0) {
		perror("churn: listen");
		return 1;
	}
	/* Blocked in every thread, so that only sigwait() takes it. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (pthread_create(&srv, NULL, server, (void *)(intptr_t)lfd)) {
		fprintf(stderr, "churn: cannot start the server thread\n");
		return 1;
	}
	if (opt.pause) {
		fprintf(stderr, "churn: pid %d listening on 127.0.0.1:%d, paused\n", (int)getpid(),
			ntohs(server_addr.sin_port));
		do {
			if (sigwait(&usr1, &sig))
				return 1;
		} while (sig != SIGUSR1);
	}
	if (opt.held) {
		/* Both ends are ours: two descriptors per held connection. */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 2 * opt.held + 1024) {
			/* Root may raise the hard limit too, where it has CAP_SYS_RESOURCE. */
			rl.rlim_cur = rl.rlim_max = 2 * opt.held + 1024;
			if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
				rl.rlim_cur = rl.rlim_max;
				setrlimit(RLIMIT_NOFILE, &rl);
			}
			getrlimit(RLIMIT_NOFILE, &rl);
			/* Room for the churn: what the limit allows, less 1024. */
			if (rl.rlim_cur < 2 * opt.held + 1024) {
				unsigned long room = rl.rlim_cur > 2048 ? (rl.rlim_cur - 1024) / 2 : 0;

				fprintf(stderr,
					"churn: RLIMIT_NOFILE is %lu: holding %lu connections, not %lu\n",
					(unsigned long)rl.rlim_cur, room, opt.held);
				opt.held = room;
			}
		}
		held_fds = calloc(opt.held, sizeof(*held_fds));
		if (!held_fds)
			return 1;
		held = hold_open(held_fds);
	}
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	for (i = 0; i < opt.threads; i++) {
		clients[i].index = i;
		if (pthread_create(&clients[i].thread, NULL, client, &clients[i])) {
			fprintf(stderr, "churn: cannot start client thread %d\n", i);
			return 1;
		}
	}
	for (i = 0; i < opt.threads; i++) {
		pthread_join(clients[i].thread, NULL);
		done += clients[i].done;
		resets += clients[i].resets;
		errors += clients[i].errors;
	}
	secs = now_since(&t_start);
	if (held)
		held_reset = hold_end(held_fds, held);
	free(held_fds);
	atomic_store(&server_stop, 1);
	pthread_join(srv, NULL);
	close(lfd);
	printf("churn: connections=%llu resets=%llu errors=%llu seconds=%.3f rate=%.1f/s", done,
	       resets, errors, secs, secs > 0 ? (double)done / secs : 0.0);
	if (opt.held)
		printf(" held=%lu held_reset=%lu", held, held_reset);
	printf("%s\n", got_signal ? " (stopped by a signal)" : "");
	return errors && !done ? 1 : 0;
}
