// SPDX-License-Identifier: GPL-2.0
/*
 * Scenarios where the client's own kernel sends the RST: the client closes,
 * and what it did before (or the state the kernel is in) turns the close
 * into an abort.  The verdict is what the server sees.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "repro.h"
#include "scenarios.h"
#include "sys.h"

/* Second turn, connection still ESTABLISHED on our side: the RST is ECONNRESET. */
static int see_reset(struct repro_server *s, int fd)
{
	if (srv_wait_turn(s))
		return 1;
	srv_wait_error(fd);
	srv_recv(fd, 1);
	srv_close(fd);
	return srv_end_turn(s) ? 1 : 0;
}

/*
 * Second turn, the client's FIN came first (we are CLOSE_WAIT): the kernel
 * records the RST as EPIPE, recv() still reports the FIN as EOF, and only
 * the next send() shows the error.
 */
static int see_reset_after_fin(struct repro_server *s, int fd)
{
	if (srv_wait_turn(s))
		return 1;
	srv_wait_error(fd);
	srv_recv(fd, 1);
	srv_send(fd, 1);
	srv_close(fd);
	return srv_end_turn(s) ? 1 : 0;
}

static void end_server(struct repro *r)
{
	if (repro_server_turn(r) == 0)
		repro_reap_server(r);
}

/* ------------------------------------------------------------ close-unread */

static int close_unread_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_send(fd, 1) != 1)
		return 1;
	if (srv_end_turn(s))
		return 1;
	return see_reset(s, fd);
}

int close_unread(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, close_unread_server, 1);
	if (rc)
		return rc;
	/* the byte must be in our queue, or there is nothing unread to toss */
	if (cli_wait(r, POLLIN, "the server's byte"))
		return REPRO_EXIT_UNEXPECTED;
	repro_out("# the client closes without reading it");
	cli_close(r);
	end_server(r);
	return repro_expect_peer(r, "ECONNRESET");
}

/* ------------------------------------------------------------- linger-zero */

static int linger_zero_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_end_turn(s))
		return 1;
	return see_reset(s, fd);
}

int linger_zero(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, linger_zero_server, 1);
	if (rc)
		return rc;
	if (cli_linger(r, 1, 0))
		return REPRO_EXIT_SETUP;
	cli_close(r);
	end_server(r);
	return repro_expect_peer(r, "ECONNRESET");
}

/* -------------------------------------------------------- data-after-close */

static int data_after_close_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_end_turn(s))
		return 1;
	if (srv_wait_turn(s))
		return 1;
	srv_recv(fd, 1);
	/*
	 * Sent at once, this carries the (delayed) ACK of the client's FIN:
	 * the orphan is still FIN_WAIT1 and aborts (TCP_ABORT_ON_DATA).  Had
	 * the ACK gone out alone first, a TIME_WAIT socket would answer.
	 */
	srv_send(fd, 1);
	srv_wait_error(fd);
	srv_send(fd, 1);
	srv_close(fd);
	return srv_end_turn(s) ? 1 : 0;
}

int data_after_close(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, data_after_close_server, 1);
	if (rc)
		return rc;
	cli_close(r);
	end_server(r);
	return repro_expect_peer(r, "EPIPE");
}

/* ----------------------------------------------------------------- linger2 */

static int linger2_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_end_turn(s))
		return 1;
	return see_reset_after_fin(s, fd);
}

int linger2(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, linger2_server, 1);
	if (rc)
		return rc;
	if (cli_setsockopt(r, IPPROTO_TCP, TCP_LINGER2, "TCP_LINGER2", -1))
		return REPRO_EXIT_SETUP;
	cli_shutdown(r, SHUT_WR, "SHUT_WR");
	/* only a close() in FIN_WAIT2 looks at linger2 */
	if (cli_wait_state(r, TCP_FIN_WAIT2))
		return REPRO_EXIT_UNEXPECTED;
	cli_close(r);
	end_server(r);
	return repro_expect_peer(r, "EPIPE");
}

/* ------------------------------------------------------------ memory-abort */

/*
 * The kernel aborts a socket at close() when tcp_check_oom() says so: more
 * orphans than net.ipv4.tcp_max_orphans, or TCP memory over tcp_mem[2].  Both
 * limits are global.  Exhausting TCP memory would starve every connection on
 * the host, and reaching the orphan limit honestly takes about 131072 orphans
 * here; the least invasive way is a limit of 0 for the duration of the one
 * close(), with at least one orphan on the host.
 *
 * The orphan count the check reads is a cache refreshed every 100 ms, so the
 * server makes an orphan of its own first and keeps it while we close: a
 * second connection of its own, closed in FIN_WAIT2 with TCP_LINGER2 = 120 s
 * (above the 60 s of TIME_WAIT, so the kernel keeps the full socket instead
 * of a timewait one).  The orphan ends when the server closes the other end.
 *
 * Our close() sends its FIN first; the server's ACK of it is delayed, so our
 * socket is still FIN_WAIT1 when __tcp_close() checks, and is aborted.
 */
static int orphan_make(int *keep)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int lfd, cfd = -1, sfd = -1, linger2 = 120;
	long long t0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen))
		goto fail;
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	sfd = accept(lfd, NULL, NULL);
	if (sfd < 0 || setsockopt(cfd, IPPROTO_TCP, TCP_LINGER2, &linger2, sizeof(linger2)) ||
	    shutdown(cfd, SHUT_WR))
		goto fail;
	t0 = repro_now_ns();
	while (repro_tcp_state(cfd) != TCP_FIN_WAIT2) {
		if (repro_now_ns() - t0 > REPRO_WAIT_MS * 1000000LL)
			goto fail;
		repro_sleep_ms(1);
	}
	close(cfd);
	close(lfd);
	*keep = sfd;
	return 0;
fail:
	repro_out("# server pid %d cannot make its orphan: %s", (int)getpid(),
		  repro_errname(errno));
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return -1;
}

static int memory_abort_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);
	int keep, rc;

	if (fd < 0 || orphan_make(&keep))
		return 1;
	repro_out("# server pid %d made an orphan: a second connection of its own, closed in "
		  "FIN_WAIT2 with TCP_LINGER2 = 120 s",
		  (int)getpid());
	if (srv_end_turn(s))
		return 1;
	rc = see_reset_after_fin(s, fd);
	/* the FIN this sends takes the orphan to TIME_WAIT: no orphan left */
	close(keep);
	return rc;
}

static int orphans_now(void)
{
	char line[256];
	int inuse, orphans = -1;
	FILE *f;

	f = fopen("/proc/net/sockstat", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %d orphan %d", &inuse, &orphans) == 2)
			break;
	fclose(f);
	return orphans;
}

/*
 * Every catchable signal waits until the value is back; SIGKILL and a crash
 * are the guardian's.  Nothing is printed inside: a write to a slow stdout
 * would stretch the window.
 */
static int close_under_zero_limit(struct repro *r, struct repro_gsysctl *g)
{
	int rc = -1, err = 0, lower_err = 0;
	bool lowered, restored;
	sigset_t all, old;
	long long dt;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	dt = repro_now_ns();
	lowered = !repro_gsysctl_write(g, 0);
	if (lowered) {
		rc = close(r->client_fd);
		err = errno;
	} else {
		lower_err = errno;
	}
	restored = !repro_gsysctl_write(g, g->saved);
	dt = repro_now_ns() - dt;
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (!lowered) {
		repro_out("# cannot lower net.ipv4.%s: %s", g->name, repro_errname(lower_err));
		return -1;
	}
	r->client_fd = -1;
	repro_call_line("client", "close()", rc, err, "");
	repro_out("# net.ipv4.%s was 0 for %lld us around that close(), then %d again%s", g->name,
		  dt / 1000, g->saved, restored ? "" : ": RESTORE FAILED");
	return restored ? 0 : -1;
}

int memory_abort(struct repro *r)
{
	struct repro_gsysctl g;
	int rc;

	if (repro_gsysctl_open(&g, "tcp_max_orphans")) {
		repro_gsysctl_close(&g);
		return REPRO_EXIT_SETUP;
	}
	rc = repro_open_and_send(r, memory_abort_server, 1);
	if (rc)
		goto out;
	/* two refreshes of the kernel's orphan count */
	repro_sleep_ms(250);
	repro_out("# TCP orphans on this host now: %d (/proc/net/sockstat)", orphans_now());
	if (repro_gsysctl_arm(&g, 0)) {
		rc = repro_setup_failed("no guardian for the global sysctl");
		goto out;
	}
	if (close_under_zero_limit(r, &g)) {
		rc = REPRO_EXIT_SETUP;
		goto out;
	}
	repro_gsysctl_disarm(&g);
	end_server(r);
	rc = repro_expect_peer(r, "EPIPE");
out:
	if (repro_gsysctl_close(&g) && rc == REPRO_EXIT_OK)
		rc = REPRO_EXIT_SETUP;
	return rc;
}
