// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by all scenarios: output, client and server calls, child. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "repro.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static volatile sig_atomic_t sigpipe_seen;
static volatile sig_atomic_t sigusr1_seen;

/* ------------------------------------------------------------------ output */

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= n;
	}
}

/*
 * Both processes share stdout; one write() per line (well below PIPE_BUF)
 * keeps their lines whole.
 */
static void vline(int fd, const char *prefix, const char *fmt, va_list ap)
{
	char buf[512];
	int saved = errno;
	size_t len, room;
	int n;

	len = strnlen(prefix, 64);
	memcpy(buf, prefix, len);
	room = sizeof(buf) - 1 - len; /* one byte is kept for the '\n' */
	n = vsnprintf(buf + len, room, fmt, ap);
	if (n > 0)
		len += (size_t)n < room ? (size_t)n : room - 1;
	buf[len++] = '\n';
	write_all(fd, buf, len);
	errno = saved;
}

void repro_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(STDOUT_FILENO, "", fmt, ap);
	va_end(ap);
}

static void err_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like repro_err(), without the program name: for "# paused" */
static void err_plain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(STDERR_FILENO, "", fmt, ap);
	va_end(ap);
}

void repro_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(STDERR_FILENO, "tcpabort-repro: ", fmt, ap);
	va_end(ap);
}

#define ERRNO_NAME(e)                                                                              \
	{                                                                                          \
		e, #e                                                                              \
	}

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	ERRNO_NAME(ECONNRESET),	   ERRNO_NAME(EPIPE),	     ERRNO_NAME(ECONNABORTED),
	ERRNO_NAME(ETIMEDOUT),	   ERRNO_NAME(ECONNREFUSED), ERRNO_NAME(EHOSTUNREACH),
	ERRNO_NAME(ENETUNREACH),   ERRNO_NAME(EHOSTDOWN),    ERRNO_NAME(ENETDOWN),
	ERRNO_NAME(ENETRESET),	   ERRNO_NAME(ENOTCONN),     ERRNO_NAME(EISCONN),
	ERRNO_NAME(EINPROGRESS),   ERRNO_NAME(EALREADY),     ERRNO_NAME(EAGAIN),
	ERRNO_NAME(EINTR),	   ERRNO_NAME(EINVAL),	     ERRNO_NAME(EBADF),
	ERRNO_NAME(EFAULT),	   ERRNO_NAME(ENOTSOCK),     ERRNO_NAME(EADDRINUSE),
	ERRNO_NAME(EADDRNOTAVAIL), ERRNO_NAME(EACCES),	     ERRNO_NAME(EPERM),
	ERRNO_NAME(ENOBUFS),	   ERRNO_NAME(ENOMEM),	     ERRNO_NAME(EMFILE),
	ERRNO_NAME(ENFILE),	   ERRNO_NAME(EPROTO),	     ERRNO_NAME(EMSGSIZE),
	ERRNO_NAME(EOPNOTSUPP),	   ERRNO_NAME(ESHUTDOWN),    ERRNO_NAME(ESRCH),
	ERRNO_NAME(ECHILD),	   ERRNO_NAME(ENOENT),	     ERRNO_NAME(ESTALE),
	ERRNO_NAME(ENOPROTOOPT),
};

/* Unknown numbers come back as "E%d" in a static buffer. */
const char *repro_errname(int err)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* "client  send(1 byte)         = -1 EPIPE (Broken pipe) + SIGPIPE" */
void repro_call_line(const char *who, const char *call, ssize_t ret, int err, const char *note)
{
	if (ret >= 0)
		repro_out("%-6s  %-20s = %zd%s", who, call, ret, note);
	else
		repro_out("%-6s  %-20s = -1 %s (%s)%s", who, call, repro_errname(err),
			  strerror(err), note);
}

static void setup_error(const char *what, int err)
{
	repro_err("%s: %s (%s)", what, repro_errname(err), strerror(err));
}

static const char *revents_str(short rev, char *buf, size_t len)
{
	static const struct {
		short bit;
		const char *name;
	} bits[] = {
		{ POLLIN, "POLLIN" },	  { POLLPRI, "POLLPRI" }, { POLLOUT, "POLLOUT" },
		{ POLLERR, "POLLERR" },	  { POLLHUP, "POLLHUP" }, { POLLRDHUP, "POLLRDHUP" },
		{ POLLNVAL, "POLLNVAL" },
	};
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(bits) && used < len; i++) {
		if (!(rev & bits[i].bit))
			continue;
		used += snprintf(buf + used, len - used, "%s%s", used ? "|" : "", bits[i].name);
	}
	return buf;
}

/* ------------------------------------------------------------ tcp state */

static const char *const tcp_states[] = {
	[TCP_ESTABLISHED] = "ESTABLISHED",
	[TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV",
	[TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2",
	[TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE",
	[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK",
	[TCP_LISTEN] = "LISTEN",
	[TCP_CLOSING] = "CLOSING",
};

/*
 * TCP_INFO only reads the socket; SO_ERROR would consume the pending error
 * the next recv() or send() is supposed to report.
 */
int repro_tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_state;
}

const char *repro_tcp_state_name(int state)
{
	if (state > 0 && (size_t)state < ARRAY_SIZE(tcp_states) && tcp_states[state])
		return tcp_states[state];
	return "?";
}

/* ------------------------------------------------------------- time, poll */

long long repro_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void repro_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * A child forked after the client's socket exists holds a reference to it:
 * the client's close() would then not close the connection.
 */
void repro_close_fds_except(int keep1, int keep2, int keep3)
{
	int fd;

	for (fd = STDERR_FILENO + 1; fd < 1024; fd++)
		if (fd != keep1 && fd != keep2 && fd != keep3)
			close(fd);
}

/* poll() that survives signals without stretching the timeout. */
static int poll_ms(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	long long deadline = repro_now_ns() + timeout_ms * 1000000LL;
	long long left;
	int rc, ms = timeout_ms;

	for (;;) {
		rc = poll(pfd, n, ms);
		if (rc >= 0 || errno != EINTR)
			return rc;
		if (timeout_ms < 0)
			continue;
		left = deadline - repro_now_ns();
		ms = left > 0 ? (int)((left + 999999) / 1000000) : 0;
	}
}

/* 1: got a byte, 0: the other end is gone, -1: timeout or error. */
static int read_byte(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t n;

	if (poll_ms(&pfd, 1, timeout_ms) <= 0)
		return -1;
	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : (int)n;
}

static int write_byte(int fd)
{
	ssize_t n;

	do {
		n = write(fd, "t", 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

static int set_timeouts(int fd, int ms)
{
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (ms % 1000) * 1000,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -1;
	return 0;
}

/* ----------------------------------------------------------------- signals */

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipe_seen = 1;
}

static void on_sigusr1(int sig)
{
	(void)sig;
	sigusr1_seen = 1;
}

/*
 * With --pause, SIGUSR1 is caught and blocked from the start, so a script
 * that signals as soon as it sees the pid line neither kills us nor loses
 * the signal; the pause unblocks it atomically in ppoll().
 */
int repro_signals_init(bool pause)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL))
		return -1;
	if (!pause)
		return 0;
	sa.sa_handler = on_sigusr1;
	if (sigaction(SIGUSR1, &sa, NULL))
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

/* ---------------------------------------------------------- setup, result */

void repro_init(struct repro *r)
{
	memset(r, 0, sizeof(*r));
	r->addr.sin_family = AF_INET;
	r->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->turn_fd = -1;
	r->done_fd = -1;
	r->client_fd = -1;
	r->listen_fd = -1;
	r->wait_ms = REPRO_WAIT_MS;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Whatever path a scenario took, no child and no descriptor outlives it. */
void repro_cleanup(struct repro *r)
{
	int status;

	if (r->server_pid > 0) {
		kill(r->server_pid, SIGKILL);
		while (waitpid(r->server_pid, &status, 0) < 0 && errno == EINTR)
			;
		r->server_pid = 0;
	}
	close_fd(&r->client_fd);
	close_fd(&r->listen_fd);
	close_fd(&r->turn_fd);
	close_fd(&r->done_fd);
}

static const char *last_token(const struct repro_last *l, char *buf, size_t len)
{
	if (!l->done)
		return "none";
	if (l->ret < 0)
		return repro_errname(l->err);
	if (!l->is_recv)
		return "OK";
	if (l->ret == 0)
		return "EOF";
	snprintf(buf, len, "%zd", l->ret);
	return buf;
}

static const char *so_error_token(const struct repro *r)
{
	if (!r->so_error_done)
		return "none";
	return r->so_error ? repro_errname(r->so_error) : "0";
}

void repro_result_line(const struct repro *r)
{
	char rbuf[24], sbuf[24], pbuf[24], extra[160];
	size_t used = 0;

	extra[0] = '\0';
	if (r->show & REPRO_SHOW_CONNECT)
		used += snprintf(extra + used, sizeof(extra) - used, " connect=%s",
				 last_token(&r->connect, sbuf, sizeof(sbuf)));
	if ((r->show & REPRO_SHOW_SO_ERROR) && used < sizeof(extra))
		used += snprintf(extra + used, sizeof(extra) - used, " so_error=%s",
				 so_error_token(r));
	if ((r->show & REPRO_SHOW_PEER) && used < sizeof(extra) && r->shared)
		snprintf(extra + used, sizeof(extra) - used, " peer=%s",
			 last_token(&r->shared->peer, pbuf, sizeof(pbuf)));
	repro_out("result: recv=%s send=%s sigpipe=%s%s", last_token(&r->recv, rbuf, sizeof(rbuf)),
		  last_token(&r->send, sbuf, sizeof(sbuf)), r->sigpipe ? "yes" : "no", extra);
}

static int expect_token(const char *what, const char *got, const char *want)
{
	if (!strcmp(got, want))
		return REPRO_EXIT_OK;
	repro_out("# unexpected: %s gave %s, expected %s", what, got, want);
	return REPRO_EXIT_UNEXPECTED;
}

/* recv and send are tokens as in the result line: EOF, 3, OK, EPIPE, ... */
int repro_expect(const struct repro *r, const char *recv, const char *send)
{
	char buf[24];
	int rc;

	rc = expect_token("last recv()", last_token(&r->recv, buf, sizeof(buf)), recv);
	rc |= expect_token("last send()", last_token(&r->send, buf, sizeof(buf)), send);
	return rc;
}

int repro_expect_connect(struct repro *r, const char *want)
{
	char buf[24];

	r->show |= REPRO_SHOW_CONNECT;
	return expect_token("last connect()", last_token(&r->connect, buf, sizeof(buf)), want);
}

int repro_expect_so_error(struct repro *r, const char *want)
{
	r->show |= REPRO_SHOW_SO_ERROR;
	return expect_token("last SO_ERROR", so_error_token(r), want);
}

/* The server's latest recv() or send(), as it reported it in shared memory. */
int repro_expect_peer(struct repro *r, const char *want)
{
	char buf[24];

	r->show |= REPRO_SHOW_PEER;
	if (!r->shared)
		return expect_token("the server's last call", "none", want);
	return expect_token("the server's last call",
			    last_token(&r->shared->peer, buf, sizeof(buf)), want);
}

int repro_expect_sigpipe(const struct repro *r, bool want)
{
	return expect_token("SIGPIPE", r->sigpipe ? "yes" : "no", want ? "yes" : "no");
}

/* Prints why, returns REPRO_EXIT_SETUP: `return repro_setup_failed(...)` */
int repro_setup_failed(const char *why)
{
	repro_out("# setup failed: %s", why);
	return REPRO_EXIT_SETUP;
}

/* ------------------------------------------------------------------- pause */

/*
 * Reading the terminal from a background job would stop us with SIGTTIN,
 * so stdin counts only when it is not a terminal or we own the terminal.
 */
static bool stdin_usable(void)
{
	if (!isatty(STDIN_FILENO))
		return fcntl(STDIN_FILENO, F_GETFL) >= 0;
	return tcgetpgrp(STDIN_FILENO) == getpgrp();
}

/* 1: a whole line was read, 0: not yet, -1: stdin is at EOF or unusable. */
static int read_stdin_line(void)
{
	char buf[256];
	ssize_t n;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	return memchr(buf, '\n', n) ? 1 : 0;
}

static int pause_for_tracer(void)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	bool use_stdin = stdin_usable();
	const char *how = "SIGUSR1";
	sigset_t waitmask, set;
	int pid = getpid();
	int n;

	err_plain("# paused: attach now (sudo tcpabort-trace -p %d), then press Enter or send "
		  "SIGUSR1 to %d",
		  pid, pid);
	sigprocmask(SIG_BLOCK, NULL, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	while (!sigusr1_seen) {
		n = ppoll(&pfd, use_stdin ? 1 : 0, NULL, &waitmask);
		if (n < 0 && errno != EINTR) {
			setup_error("ppoll()", errno);
			return -1;
		}
		if (n <= 0 || !use_stdin || !pfd.revents)
			continue;
		n = pfd.revents & POLLNVAL ? -1 : read_stdin_line();
		if (n < 0)
			use_stdin = false;
		if (n > 0) {
			how = "Enter";
			break;
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	repro_out("# resumed by %s", how);
	return 0;
}

/* ------------------------------------------------------------ server child */

/* The page the server writes its outcomes to; set in the child only. */
static struct repro_shared *peer_page;

static int bound_socket(struct repro *r, const char *who, bool do_listen)
{
	socklen_t len = sizeof(r->addr);
	char what[64], ip[INET_ADDRSTRLEN];
	int one = 1;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		snprintf(what, sizeof(what), "%s socket()", who);
		setup_error(what, errno);
		return -1;
	}
	/* a fixed --port must work again right after the previous run */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_ntop(AF_INET, &r->addr.sin_addr, ip, sizeof(ip));
	snprintf(what, sizeof(what), "bind(%s:%u)", ip, ntohs(r->addr.sin_port));
	if (bind(fd, (struct sockaddr *)&r->addr, sizeof(r->addr))) {
		setup_error(what, errno);
	} else if (do_listen && listen(fd, 1)) {
		setup_error("listen()", errno);
	} else if (getsockname(fd, (struct sockaddr *)&r->addr, &len)) {
		setup_error("getsockname()", errno);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

static void server_main(struct repro_server *s, pid_t parent, repro_server_fn fn)
{
	sigset_t none;

	/* never outlive the client, whatever happens to it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	/* whatever else the client had open is none of the server's business */
	repro_close_fds_except(s->listen_fd, s->turn_fd, s->done_fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	_exit(fn(s));
}

static int map_shared(struct repro *r)
{
	void *p;

	if (r->shared)
		return 0;
	p = mmap(NULL, sizeof(*r->shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED) {
		setup_error("mmap()", errno);
		return -1;
	}
	r->shared = p;
	return 0;
}

/*
 * The child's socket and the pipes exist before fork(), so the client knows
 * the port.  A REPRO_SPAWN_NO_SOCKET child learns the address later, through
 * the shared page, from the client's own listener.
 */
int repro_spawn_child(struct repro *r, repro_server_fn fn, enum repro_spawn how)
{
	struct repro_server s = {
		.listen_fd = -1,
		.turn_ms = r->pause ? -1 : REPRO_SERVER_MS,
	};
	char ip[INET_ADDRSTRLEN];
	int turn[2], done[2];
	pid_t parent = getpid();
	pid_t pid;

	if (map_shared(r))
		return REPRO_EXIT_SETUP;
	s.addr = &r->shared->addr;
	if (how != REPRO_SPAWN_NO_SOCKET) {
		s.listen_fd = bound_socket(r, "server", how == REPRO_SPAWN_LISTEN);
		if (s.listen_fd < 0)
			return REPRO_EXIT_SETUP;
	}
	if (pipe(turn)) {
		setup_error("pipe()", errno);
		if (s.listen_fd >= 0)
			close(s.listen_fd);
		return REPRO_EXIT_SETUP;
	}
	if (pipe(done)) {
		setup_error("pipe()", errno);
		close(turn[0]);
		close(turn[1]);
		if (s.listen_fd >= 0)
			close(s.listen_fd);
		return REPRO_EXIT_SETUP;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(turn[1]);
		close(done[0]);
		s.turn_fd = turn[0];
		s.done_fd = done[1];
		peer_page = r->shared;
		server_main(&s, parent, fn);
	}
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	close(turn[0]);
	close(done[1]);
	r->turn_fd = turn[1];
	r->done_fd = done[0];
	if (pid < 0) {
		setup_error("fork()", errno);
		return REPRO_EXIT_SETUP;
	}
	r->server_pid = pid;
	inet_ntop(AF_INET, &r->addr.sin_addr, ip, sizeof(ip));
	if (how == REPRO_SPAWN_NO_SOCKET)
		repro_out("# client pid %d, server pid %d (it will connect to the client)",
			  (int)parent, (int)pid);
	else
		repro_out("# client pid %d, server pid %d, %s:%u%s", (int)parent, (int)pid, ip,
			  ntohs(r->addr.sin_port),
			  how == REPRO_SPAWN_BIND_ONLY ? " (bound, not listening)" : "");
	if (r->pause && pause_for_tracer())
		return REPRO_EXIT_SETUP;
	return 0;
}

int repro_spawn_server(struct repro *r, repro_server_fn fn)
{
	return repro_spawn_child(r, fn, REPRO_SPAWN_LISTEN);
}

/* Let the server do its next step; come back when it is done with it. */
int repro_server_turn(struct repro *r)
{
	int n;

	if (write_byte(r->turn_fd)) {
		repro_out("# server pid %d cannot be told to go on: %s", (int)r->server_pid,
			  repro_errname(errno));
		return -1;
	}
	n = read_byte(r->done_fd, REPRO_SERVER_MS);
	if (n == 1)
		return 0;
	if (n == 0)
		repro_out("# server pid %d quit before finishing its step", (int)r->server_pid);
	else
		repro_out("# server pid %d did not finish its step within %d ms",
			  (int)r->server_pid, REPRO_SERVER_MS);
	return -1;
}

static void describe_status(const char *what, pid_t pid, int status)
{
	if (WIFEXITED(status))
		repro_out("# %s pid %d exited with status %d", what, (int)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		repro_out("# %s pid %d was killed by signal %d (%s)", what, (int)pid,
			  WTERMSIG(status), strsignal(WTERMSIG(status)));
}

/*
 * Waits timeout_ms for the child to end on its own, then kills it.  With a
 * status pointer the caller describes the end itself.
 */
int repro_reap_child(pid_t pid, const char *what, int timeout_ms, int *status)
{
	long long deadline = repro_now_ns() + timeout_ms * 1000000LL;
	int st;
	pid_t got;

	for (;;) {
		got = waitpid(pid, &st, WNOHANG);
		if (got == pid)
			break;
		if (got < 0 && errno != EINTR) {
			repro_out("# waitpid(%d) = -1 %s", (int)pid, repro_errname(errno));
			return -1;
		}
		if (repro_now_ns() > deadline) {
			repro_out("# %s pid %d still running after %d ms, killing it", what,
				  (int)pid, timeout_ms);
			kill(pid, SIGKILL);
			deadline = repro_now_ns() + timeout_ms * 1000000LL;
		}
		repro_sleep_ms(1);
	}
	if (status)
		*status = st;
	else
		describe_status(what, pid, st);
	return 0;
}

int repro_reap_server(struct repro *r)
{
	pid_t pid = r->server_pid;
	int rc;

	rc = repro_reap_child(pid, "server", REPRO_WAIT_MS, NULL);
	r->server_pid = 0;
	return rc;
}

int repro_kill_server(struct repro *r)
{
	int rc, err;

	rc = kill(r->server_pid, SIGKILL);
	err = errno;
	if (rc) {
		repro_out("# kill(server pid %d, SIGKILL) = -1 %s", (int)r->server_pid,
			  repro_errname(err));
		return -1;
	}
	repro_out("# client sent SIGKILL to server pid %d", (int)r->server_pid);
	return repro_reap_server(r);
}

/* ------------------------------------------------------------ client calls */

int cli_socket(struct repro *r)
{
	r->client_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->client_fd < 0) {
		setup_error("client socket()", errno);
		return -1;
	}
	/* every later call returns within wait_ms, whatever happens */
	if (set_timeouts(r->client_fd, r->wait_ms)) {
		setup_error("client setsockopt()", errno);
		close_fd(&r->client_fd);
		return -1;
	}
	return 0;
}

/* The state is taken right around the call, before anything is printed. */
static void state_change(int before, int after, const char *call)
{
	if (before != after)
		repro_out("# client socket went %s -> %s during %s", repro_tcp_state_name(before),
			  repro_tcp_state_name(after), call);
}

/* Only calls that waited for a kernel timer take this long on loopback. */
void cli_note_duration(const char *call, const struct repro_last *l)
{
	if (l->done && l->ns >= 100 * 1000000LL)
		repro_out("# %s blocked for %lld.%03lld s", call, l->ns / 1000000000,
			  l->ns / 1000000 % 1000);
}

/* Creates the client socket first unless it exists (connect-again). */
int cli_connect(struct repro *r)
{
	long long t0;
	int rc, err;

	if (r->client_fd < 0 && cli_socket(r))
		return -1;
	t0 = repro_now_ns();
	rc = connect(r->client_fd, (struct sockaddr *)&r->addr, sizeof(r->addr));
	err = errno;
	r->connect = (struct repro_last){
		.done = true, .ret = rc, .err = err, .ns = repro_now_ns() - t0
	};
	repro_call_line("client", "connect()", rc, err, "");
	cli_note_duration("connect()", &r->connect);
	if (rc)
		repro_out("# client socket now %s",
			  repro_tcp_state_name(repro_tcp_state(r->client_fd)));
	return rc;
}

int cli_nonblock(struct repro *r)
{
	int fl, rc, err;

	fl = fcntl(r->client_fd, F_GETFL);
	rc = fl < 0 ? -1 : fcntl(r->client_fd, F_SETFL, fl | O_NONBLOCK);
	err = errno;
	repro_call_line("client", "fcntl(O_NONBLOCK)", rc, err, "");
	return rc;
}

/* connect(AF_UNSPEC): the BSD way to dissolve an association. */
int cli_disconnect(struct repro *r)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	int before, after, rc, err;

	before = repro_tcp_state(r->client_fd);
	rc = connect(r->client_fd, &sa, sizeof(sa));
	err = errno;
	after = repro_tcp_state(r->client_fd);
	repro_call_line("client", "connect(AF_UNSPEC)", rc, err, "");
	state_change(before, after, "connect(AF_UNSPEC)");
	return rc;
}

/* Reading SO_ERROR clears it: this is a call with an effect, not a probe. */
int cli_so_error(struct repro *r)
{
	int rc, err, val = 0;
	socklen_t len = sizeof(val);

	rc = getsockopt(r->client_fd, SOL_SOCKET, SO_ERROR, &val, &len);
	err = errno;
	if (rc) {
		repro_call_line("client", "getsockopt(SO_ERROR)", rc, err, "");
		return rc;
	}
	r->so_error = val;
	r->so_error_done = true;
	if (val)
		repro_out("%-6s  %-20s = 0, error %s (%s)", "client", "getsockopt(SO_ERROR)",
			  repro_errname(val), strerror(val));
	else
		repro_out("%-6s  %-20s = 0, error 0", "client", "getsockopt(SO_ERROR)");
	return 0;
}

int cli_setsockopt(struct repro *r, int level, int opt, const char *name, int val)
{
	char call[64];
	int rc, err;

	snprintf(call, sizeof(call), "setsockopt(%s, %d)", name, val);
	rc = setsockopt(r->client_fd, level, opt, &val, sizeof(val));
	err = errno;
	repro_call_line("client", call, rc, err, "");
	return rc;
}

int cli_linger(struct repro *r, int onoff, int secs)
{
	struct linger lg = { .l_onoff = onoff, .l_linger = secs };
	char call[64];
	int rc, err;

	snprintf(call, sizeof(call), "setsockopt(SO_LINGER, {%d, %d})", onoff, secs);
	rc = setsockopt(r->client_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	err = errno;
	repro_call_line("client", call, rc, err, "");
	return rc;
}

int cli_shutdown(struct repro *r, int how, const char *name)
{
	int before, after, rc, err;
	char call[32];

	snprintf(call, sizeof(call), "shutdown(%s)", name);
	before = repro_tcp_state(r->client_fd);
	rc = shutdown(r->client_fd, how);
	err = errno;
	after = repro_tcp_state(r->client_fd);
	repro_call_line("client", call, rc, err, "");
	state_change(before, after, "shutdown()");
	return rc;
}

ssize_t cli_send(struct repro *r, size_t len)
{
	static const char payload[16] = "tcpabort-repro";
	const char *note;
	char call[32];
	bool pipe_sig;
	int before, after, err;
	long long t0;
	ssize_t n;

	if (len > sizeof(payload))
		len = sizeof(payload);
	snprintf(call, sizeof(call), "send(%zu byte%s)", len, len == 1 ? "" : "s");
	before = repro_tcp_state(r->client_fd);
	sigpipe_seen = 0;
	t0 = repro_now_ns();
	n = send(r->client_fd, payload, len, 0);
	err = errno;
	pipe_sig = sigpipe_seen;
	after = repro_tcp_state(r->client_fd);

	r->send = (struct repro_last){
		.done = true, .ret = n, .err = err, .ns = repro_now_ns() - t0
	};
	r->sigpipe |= pipe_sig;
	note = pipe_sig ? " + SIGPIPE" : n < 0 ? ", no SIGPIPE" : "";
	repro_call_line("client", call, n, err, note);
	state_change(before, after, "send()");
	return n;
}

ssize_t cli_recv(struct repro *r)
{
	char buf[64];
	int before, after, err;
	long long t0;
	ssize_t n;

	before = repro_tcp_state(r->client_fd);
	t0 = repro_now_ns();
	n = recv(r->client_fd, buf, sizeof(buf), 0);
	err = errno;
	after = repro_tcp_state(r->client_fd);

	r->recv = (struct repro_last){
		.done = true, .is_recv = true, .ret = n, .err = err, .ns = repro_now_ns() - t0
	};
	repro_call_line("client", "recv()", n, err, n == 0 ? " (EOF)" : "");
	cli_note_duration("recv()", &r->recv);
	state_change(before, after, "recv()");
	return n;
}

int cli_close(struct repro *r)
{
	int rc, err;

	rc = close(r->client_fd);
	err = errno;
	r->client_fd = -1;
	repro_call_line("client", "close()", rc, err, "");
	return rc;
}

/*
 * Wait until the client socket reports one of events (POLLERR and POLLHUP
 * always count) and say how long that took.  Checking once without waiting
 * first tells "already there" apart from "arrived while we waited".
 */
int cli_wait(struct repro *r, short events, const char *what)
{
	struct pollfd pfd = { .fd = r->client_fd, .events = events };
	long long t0 = repro_now_ns(), dt;
	char ev[96];
	int n;

	n = poll(&pfd, 1, 0);
	if (n > 0) {
		repro_out("# %s was already there (%s), client socket %s", what,
			  revents_str(pfd.revents, ev, sizeof(ev)),
			  repro_tcp_state_name(repro_tcp_state(r->client_fd)));
		return 0;
	}
	n = poll_ms(&pfd, 1, r->wait_ms);
	dt = repro_now_ns() - t0;
	if (n < 0) {
		repro_out("# poll() for %s = -1 %s", what, repro_errname(errno));
		return -1;
	}
	if (n == 0) {
		repro_out("# timed out after %d ms waiting for %s, client socket %s", r->wait_ms,
			  what, repro_tcp_state_name(repro_tcp_state(r->client_fd)));
		return -1;
	}
	repro_out("# waited %lld.%03lld ms for %s (%s), client socket now %s", dt / 1000000,
		  dt / 1000 % 1000, what, revents_str(pfd.revents, ev, sizeof(ev)),
		  repro_tcp_state_name(repro_tcp_state(r->client_fd)));
	return 0;
}

/*
 * No poll() event marks "our FIN was acked", so TCP_INFO is sampled; the
 * peer delays that ACK (it enters pingpong mode on a FIN), ~40 ms here.
 */
int cli_wait_state(struct repro *r, int state)
{
	long long t0 = repro_now_ns(), dt;
	int cur;

	for (;;) {
		cur = repro_tcp_state(r->client_fd);
		dt = repro_now_ns() - t0;
		if (cur == state)
			break;
		if (dt > r->wait_ms * 1000000LL) {
			repro_out("# timed out after %d ms waiting for the client socket to reach "
				  "%s, it is %s",
				  r->wait_ms, repro_tcp_state_name(state),
				  repro_tcp_state_name(cur));
			return -1;
		}
		repro_sleep_ms(1);
	}
	repro_out("# waited %lld.%03lld ms for the client socket to reach %s", dt / 1000000,
		  dt / 1000 % 1000, repro_tcp_state_name(state));
	return 0;
}

/* The client's own listener; the shared page tells a peer child where it is. */
int cli_listen(struct repro *r)
{
	char note[48];

	r->listen_fd = bound_socket(r, "client", true);
	if (r->listen_fd < 0)
		return -1;
	if (r->shared)
		r->shared->addr = r->addr;
	snprintf(note, sizeof(note), ", listening on port %u", ntohs(r->addr.sin_port));
	repro_call_line("client", "listen()", 0, 0, note);
	return 0;
}

int cli_close_listener(struct repro *r)
{
	int rc, err;

	rc = close(r->listen_fd);
	err = errno;
	r->listen_fd = -1;
	repro_call_line("client", "close(listener)", rc, err, "");
	return rc;
}

int cli_accept(struct repro *r)
{
	struct pollfd pfd = { .fd = r->listen_fd, .events = POLLIN };
	int fd, err;

	if (poll_ms(&pfd, 1, r->wait_ms) <= 0) {
		repro_out("# no connection to accept within %d ms", r->wait_ms);
		return -1;
	}
	fd = accept(r->listen_fd, NULL, NULL);
	err = errno;
	repro_call_line("client", "accept()", fd, err, "");
	if (fd < 0)
		return -1;
	r->client_fd = fd;
	if (set_timeouts(fd, r->wait_ms)) {
		setup_error("client setsockopt()", errno);
		return -1;
	}
	repro_out("# accepted socket is %s", repro_tcp_state_name(repro_tcp_state(fd)));
	return 0;
}

/* ------------------------------------------------------------ server calls */

static void peer_record(ssize_t n, int err, bool is_recv)
{
	if (peer_page)
		peer_page->peer = (struct repro_last){
			.done = true, .is_recv = is_recv, .ret = n, .err = err
		};
}

/* 0: our turn, -1: the client is gone, or never gave it. */
int srv_wait_turn(struct repro_server *s)
{
	int ms = s->turn_ms;

	/* only the first turn can be delayed by --pause */
	s->turn_ms = REPRO_SERVER_MS;
	return read_byte(s->turn_fd, ms) == 1 ? 0 : -1;
}

int srv_end_turn(struct repro_server *s)
{
	return write_byte(s->done_fd);
}

int srv_accept(struct repro_server *s)
{
	struct pollfd pfd = { .fd = s->listen_fd, .events = POLLIN };
	int fd, err;

	if (poll_ms(&pfd, 1, REPRO_SERVER_MS) <= 0) {
		repro_out("# server pid %d got no connection within %d ms", (int)getpid(),
			  REPRO_SERVER_MS);
		return -1;
	}
	fd = accept(s->listen_fd, NULL, NULL);
	err = errno;
	repro_call_line("server", "accept()", fd, err, "");
	if (fd >= 0 && set_timeouts(fd, REPRO_SERVER_MS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* For a server that is the connecting side (accept-queue-reset). */
int srv_connect(struct repro_server *s)
{
	int fd, rc, err;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || set_timeouts(fd, REPRO_SERVER_MS)) {
		setup_error("server socket()", errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)s->addr, sizeof(*s->addr));
	err = errno;
	repro_call_line("server", "connect()", rc, err, "");
	if (rc) {
		close(fd);
		return -1;
	}
	return fd;
}

ssize_t srv_recv(int fd, size_t len)
{
	char buf[64], call[32];
	ssize_t n;
	int err;

	if (len > sizeof(buf))
		len = sizeof(buf);
	snprintf(call, sizeof(call), "recv(%zu)", len);
	n = recv(fd, buf, len, 0);
	err = errno;
	peer_record(n, err, true);
	repro_call_line("server", call, n, err, n == 0 ? " (EOF)" : "");
	return n;
}

/* MSG_NOSIGNAL: the server reports EPIPE; it must not die of it. */
ssize_t srv_send(int fd, size_t len)
{
	static const char payload[16] = "server-data";
	char call[32];
	ssize_t n;
	int err;

	if (len > sizeof(payload))
		len = sizeof(payload);
	snprintf(call, sizeof(call), "send(%zu byte%s)", len, len == 1 ? "" : "s");
	n = send(fd, payload, len, MSG_NOSIGNAL);
	err = errno;
	peer_record(n, err, false);
	repro_call_line("server", call, n, err, "");
	return n;
}

int srv_linger_zero(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int rc, err;

	rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	err = errno;
	repro_call_line("server", "setsockopt(SO_LINGER, {1, 0})", rc, err, "");
	return rc;
}

int srv_close(int fd)
{
	int rc, err;

	rc = close(fd);
	err = errno;
	repro_call_line("server", "close()", rc, err, "");
	return rc;
}

/* How many bytes wait unread on fd, once at least one has arrived. */
int srv_wait_unread(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int unread;

	if (poll_ms(&pfd, 1, REPRO_SERVER_MS) <= 0)
		return -1;
	if (ioctl(fd, FIONREAD, &unread))
		return -1;
	return unread;
}

/* Waits for the RST: POLLERR (or POLLHUP), which a FIN alone never raises. */
int srv_wait_error(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = 0 };
	long long t0 = repro_now_ns(), dt;
	char ev[96];
	int n;

	n = poll_ms(&pfd, 1, REPRO_SERVER_MS);
	dt = repro_now_ns() - t0;
	if (n <= 0) {
		repro_out("# server socket reported no error within %d ms, it is %s",
			  REPRO_SERVER_MS, repro_tcp_state_name(repro_tcp_state(fd)));
		return -1;
	}
	repro_out("# server socket reported %s after %lld.%03lld ms, it is %s",
		  revents_str(pfd.revents, ev, sizeof(ev)), dt / 1000000, dt / 1000 % 1000,
		  repro_tcp_state_name(repro_tcp_state(fd)));
	return 0;
}

int repro_open_and_send(struct repro *r, repro_server_fn fn, size_t nbytes)
{
	int rc = repro_spawn_server(r, fn);

	if (rc)
		return rc;
	if (cli_connect(r))
		return repro_setup_failed("cannot connect to the server");
	cli_send(r, nbytes);
	if (repro_server_turn(r))
		return repro_setup_failed("the server did not do its part");
	return 0;
}

int srv_read_fin_close(struct repro_server *s, int fd)
{
	if (srv_wait_turn(s))
		return 1;
	srv_recv(fd, 1);
	srv_close(fd);
	return srv_end_turn(s) ? 1 : 0;
}

int srv_accept_read(struct repro_server *s)
{
	int fd;

	if (srv_wait_turn(s))
		return -1;
	fd = srv_accept(s);
	if (fd < 0)
		return -1;
	if (srv_recv(fd, 1) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}
