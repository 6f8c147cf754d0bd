// SPDX-License-Identifier: GPL-2.0
/* Scenarios where something on this host ends the connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repro.h"
#include "scenarios.h"

/* -------------------------------------------------------------- local-abort */

/* What the helper needs to name the client's socket to the kernel. */
struct victim {
	struct sockaddr_in local;
	struct sockaddr_in peer;
	uint64_t cookie;
	pid_t pid;
};

/*
 * The one request `ss -K` sends per socket: SOCK_DESTROY with the exact
 * 4-tuple, and the cookie so that a socket reusing the tuple is not hit.
 * Returns 0 or the errno the kernel answered with.
 */
static int sock_destroy(const struct victim *v)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = REPRO_WAIT_MS / 1000 };
	char buf[512];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int fd, err;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DESTROY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	msg.nlh.nlmsg_seq = 1;
	msg.req.sdiag_family = AF_INET;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	/* "src" is the socket's own end, as in a dump; ports stay big-endian */
	msg.req.id.idiag_sport = v->local.sin_port;
	msg.req.id.idiag_dport = v->peer.sin_port;
	msg.req.id.idiag_src[0] = v->local.sin_addr.s_addr;
	msg.req.id.idiag_dst[0] = v->peer.sin_addr.s_addr;
	msg.req.id.idiag_cookie[0] = (uint32_t)v->cookie;
	msg.req.id.idiag_cookie[1] = (uint32_t)(v->cookie >> 32);

	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	err = errno;
	close(fd);
	if (n < 0)
		return err;
	if (!NLMSG_OK(nlh, (size_t)n) || nlh->nlmsg_type != NLMSG_ERROR ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		return EPROTO;
	return -((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
}

/*
 * /proc/PID/syscall names the call a task sleeps in: destroying the socket
 * before the client sleeps in recv() would make recv() report a socket
 * that is already dead, not a recv() cut short.
 */
static bool blocked_in_recv(pid_t pid)
{
	char path[64], buf[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
#ifdef SYS_recv
	if (nr == SYS_recv)
		return true;
#endif
	return nr == SYS_recvfrom;
}

static void helper_main(const struct victim *v, struct repro_shared *shared)
{
	char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];
	long long t0 = repro_now_ns();

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the comm the tracer reports for the task that aborted the socket */
	prctl(PR_SET_NAME, "ss-K-helper");
	/* our copy of the client's socket must not outlive the client's close() */
	repro_close_fds_except(-1, -1, -1);
	while (!blocked_in_recv(v->pid)) {
		if (repro_now_ns() - t0 > REPRO_WAIT_MS * 1000000LL) {
			repro_out("# helper: client pid %d never blocked in recv()", (int)v->pid);
			shared->helper_err = ETIMEDOUT;
			_exit(1);
		}
		repro_sleep_ms(1);
	}
	inet_ntop(AF_INET, &v->local.sin_addr, from, sizeof(from));
	inet_ntop(AF_INET, &v->peer.sin_addr, to, sizeof(to));
	repro_out("helper  SOCK_DESTROY %s:%u -> %s:%u cookie %" PRIu64
		  ", the client sleeping in recv()",
		  from, ntohs(v->local.sin_port), to, ntohs(v->peer.sin_port), v->cookie);
	shared->helper_err = sock_destroy(v);
	_exit(shared->helper_err ? 1 : 0);
}

static int local_abort_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_end_turn(s))
		return 1;
	if (srv_wait_turn(s))
		return 1;
	/* tcp_abort() sent an RST from ESTABLISHED */
	srv_wait_error(fd);
	srv_recv(fd, 1);
	srv_close(fd);
	return srv_end_turn(s) ? 1 : 0;
}

static int victim_of(const struct repro *r, struct victim *v)
{
	socklen_t len = sizeof(v->local);

	if (getsockname(r->client_fd, (struct sockaddr *)&v->local, &len))
		return -1;
	len = sizeof(v->peer);
	if (getpeername(r->client_fd, (struct sockaddr *)&v->peer, &len))
		return -1;
	len = sizeof(v->cookie);
	if (getsockopt(r->client_fd, SOL_SOCKET, SO_COOKIE, &v->cookie, &len))
		return -1;
	v->pid = getpid();
	return 0;
}

/* Saves a 2 s recv() timeout when the helper's request is bound to fail. */
static bool have_net_admin(void)
{
	unsigned long long caps = 0;
	char line[128];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return true;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	fclose(f);
	return !found || (caps & (1ULL << 12)); /* CAP_NET_ADMIN */
}

int local_abort(struct repro *r)
{
	struct victim v;
	pid_t helper;
	int rc, err;

	if (!have_net_admin())
		return repro_setup_failed("SOCK_DESTROY needs CAP_NET_ADMIN (root)");
	rc = repro_open_and_send(r, local_abort_server, 1);
	if (rc)
		return rc;
	if (victim_of(r, &v))
		return repro_setup_failed("cannot name the client socket");
	r->shared->helper_err = 0;
	fflush(NULL);
	helper = fork();
	if (helper < 0)
		return repro_setup_failed("cannot fork the helper");
	if (helper == 0)
		helper_main(&v, r->shared);
	repro_out("# helper pid %d, comm ss-K-helper: it destroys the client socket as ss -K "
		  "would, once the client sleeps in recv()",
		  (int)helper);
	cli_recv(r);
	repro_reap_child(helper, "helper", REPRO_WAIT_MS, NULL);
	err = r->shared->helper_err;
	repro_out("# helper: SOCK_DESTROY answered %s", err ? repro_errname(err) : "0");
	if (err == EOPNOTSUPP)
		return repro_setup_failed("this kernel cannot destroy sockets "
					  "(CONFIG_INET_DIAG_DESTROY is off)");
	if (err == EPERM || err == EACCES)
		return repro_setup_failed("SOCK_DESTROY needs CAP_NET_ADMIN (root)");
	cli_close(r);
	if (repro_server_turn(r) == 0)
		repro_reap_server(r);
	return repro_expect(r, "ECONNABORTED", "OK");
}

/* ---------------------------------------------------- write-after-shutdown */

static int write_after_shutdown_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_end_turn(s))
		return 1;
	/* the client's FIN; nothing else came, and nothing is left unread */
	return srv_read_fin_close(s, fd);
}

int write_after_shutdown(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, write_after_shutdown_server, 1);
	if (rc)
		return rc;
	cli_shutdown(r, SHUT_WR, "SHUT_WR");
	cli_send(r, 1);
	if (repro_server_turn(r))
		return repro_setup_failed("the server did not do its part");
	cli_wait(r, POLLRDHUP, "the server's FIN");
	cli_recv(r);
	cli_close(r);
	repro_reap_server(r);
	rc = repro_expect(r, "EOF", "EPIPE");
	rc |= repro_expect_sigpipe(r, true);
	return rc;
}
