// SPDX-License-Identifier: GPL-2.0
/*
 * The table that names the scenarios, and those where the peer resets us.
 * The others live in scen_*.c, grouped by who ends the connection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "repro.h"
#include "scenarios.h"

/* ------------------------------------------------------------ fin-then-rst */

static int fin_then_rst_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_close(fd))
		return 1;
	repro_out("# server pid %d read 1 byte and closed", (int)getpid());
	return srv_end_turn(s) ? 1 : 0;
}

int fin_then_rst(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, fin_then_rst_server, 1);
	if (rc)
		return rc;
	/* the FIN only; reading the EOF here would spoil the last recv() */
	cli_wait(r, POLLRDHUP, "the peer's FIN");
	cli_send(r, 2);
	cli_wait(r, 0, "the peer's RST");
	cli_recv(r);
	cli_send(r, 1);
	cli_close(r);
	repro_reap_server(r);
	return repro_expect(r, "EOF", "EPIPE");
}

/* -------------------------------------------------------------- peer-crash */

static int peer_crash_server(struct repro_server *s)
{
	int fd, unread;

	if (srv_wait_turn(s))
		return 1;
	fd = srv_accept(s);
	if (fd < 0)
		return 1;
	/* no RST on exit unless the byte sits unread in our queue */
	unread = srv_wait_unread(fd);
	if (unread <= 0)
		return 1;
	repro_out("# server pid %d has %d byte%s unread and will not read", (int)getpid(), unread,
		  unread == 1 ? "" : "s");
	if (srv_end_turn(s))
		return 1;
	/* the client kills us during this wait; the turn never comes */
	srv_wait_turn(s);
	return 1;
}

/* The server dies with our byte unread; then recv and send in the order asked. */
static int crash_then(struct repro *r, bool send_first)
{
	int rc;

	rc = repro_open_and_send(r, peer_crash_server, 1);
	if (rc)
		return rc;
	if (repro_kill_server(r))
		return repro_setup_failed("cannot kill the server");
	repro_out("# its kernel closed the socket with data unread: RST");
	cli_wait(r, 0, "the peer's RST");
	if (send_first) {
		cli_send(r, 1);
		cli_recv(r);
	} else {
		cli_recv(r);
		cli_send(r, 1);
	}
	cli_close(r);
	/* The first call takes the ECONNRESET; after it the socket is only shut down. */
	return send_first ? repro_expect(r, "EOF", "ECONNRESET")
			  : repro_expect(r, "ECONNRESET", "EPIPE");
}

int peer_crash(struct repro *r)
{
	return crash_then(r, false);
}

/* -------------------------------------------------------- send-before-recv */

/* The send consumes the error, so the recv after it only finds the shutdown. */
int send_before_recv(struct repro *r)
{
	return crash_then(r, true);
}

/* ------------------------------------------------------ accept-queue-reset */

static int accept_queue_reset_server(struct repro_server *s)
{
	int fd;

	if (srv_wait_turn(s))
		return 1;
	fd = srv_connect(s);
	if (fd < 0)
		return 1;
	if (srv_linger_zero(fd) || srv_close(fd))
		return 1;
	repro_out("# server pid %d reset the connection before the client accepted it",
		  (int)getpid());
	return srv_end_turn(s) ? 1 : 0;
}

/*
 * The kernel completes the handshake and queues the child; the RST kills
 * the child in the queue, but accept() still hands it out.
 */
int accept_queue_reset(struct repro *r)
{
	int rc;

	rc = repro_spawn_child(r, accept_queue_reset_server, REPRO_SPAWN_NO_SOCKET);
	if (rc)
		return rc;
	/* only now, after --pause: the tracer is to see the listener appear */
	if (cli_listen(r))
		return REPRO_EXIT_SETUP;
	if (repro_server_turn(r))
		return repro_setup_failed("the server did not do its part");
	if (!cli_accept(r)) {
		cli_recv(r);
		cli_close(r);
	}
	cli_close_listener(r);
	repro_reap_server(r);
	return repro_expect(r, "ECONNRESET", "none");
}

/* ------------------------------------------------------------ owner-killed */

static int owner_killed_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0)
		return 1;
	/* nothing unread: the kernel's close on our behalf sends a FIN, not an RST */
	repro_out("# server pid %d read 1 byte and holds the socket open", (int)getpid());
	if (srv_end_turn(s))
		return 1;
	/* the client kills us during this wait; the turn never comes */
	srv_wait_turn(s);
	return 1;
}

/*
 * The server dies without close(): its kernel closes the socket on its
 * behalf, with a FIN as close() would, and the orphan answers our later
 * data with an RST.  The exit is the server's close, not the client's FIN.
 */
int owner_killed(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, owner_killed_server, 1);
	if (rc)
		return rc;
	if (repro_kill_server(r))
		return repro_setup_failed("cannot kill the server");
	repro_out("# its kernel closed the socket on its behalf: FIN");
	cli_wait(r, POLLRDHUP, "the peer's FIN");
	cli_recv(r);
	cli_send(r, 2);
	cli_wait(r, 0, "the peer's RST");
	cli_send(r, 1);
	cli_close(r);
	return repro_expect(r, "EOF", "EPIPE");
}

/* ------------------------------------------------------------ no-reply */

static int no_reply_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0)
		return 1;
	repro_out("# server pid %d read the request and never answers", (int)getpid());
	if (srv_end_turn(s))
		return 1;
	/* The client gives up and closes. */
	return srv_read_fin_close(s, fd);
}

/*
 * A request that is never answered: the client's own 1.5 s reply timeout
 * fires and it closes, as nginx does at proxy_read_timeout.  No call fails.
 */
int no_reply(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, no_reply_server, 1);
	if (rc)
		return rc;
	r->wait_ms = 1500;
	cli_wait(r, POLLIN, "the reply");
	repro_out("# the application's reply timeout fired: it closes the connection");
	cli_close(r);
	if (repro_server_turn(r) == 0)
		repro_reap_server(r);
	return repro_expect(r, "none", "OK");
}

/* ------------------------------------------------------------------- table */

const struct scenario repro_scenarios[] = {
	{
		.name = "fin-then-rst",
		.cause = "reset_after_peer_fin",
		.err = EPIPE,
		.desc = "peer reads and closes, client sends anyway: recv EOF, send EPIPE (Winsock "
			"10053)",
		.details = "The server reads the client's byte and closes (FIN). The client\n"
			   "sends 2 more bytes anyway: send() succeeds, and the closed socket\n"
			   "answers them with RST. recv() then returns 0 (the FIN came\n"
			   "first), the next send() fails with EPIPE and raises SIGPIPE.",
		.run = fin_then_rst,
	},
	{
		.name = "peer-crash",
		.cause = "peer_reset",
		.err = ECONNRESET,
		.desc = "peer dies with data unread, its kernel sends RST: recv ECONNRESET "
			"(Winsock 10054)",
		.details = "The server accepts but never reads; the client's byte sits in\n"
			   "its queue when the client SIGKILLs it, so the server's kernel\n"
			   "closes the socket with RST. recv() fails with ECONNRESET, the\n"
			   "next send() fails with EPIPE and raises SIGPIPE.",
		.run = peer_crash,
	},
	{
		.name = "refused",
		.cause = "connection_refused",
		.err = ECONNREFUSED,
		.desc = "connect to a port nobody listens on: connect ECONNREFUSED",
		.details = "The server holds the port bound but never listens, so the SYN\n"
			   "draws an RST: connect() fails with ECONNREFUSED.",
		.run = refused,
	},
	{
		.name = "connect-again",
		.cause = "connect_on_dead_socket",
		.err = ECONNABORTED,
		.desc = "refused non-blocking connect, error read, connect again: ECONNABORTED",
		.details = "A non-blocking connect() to a port nobody listens on; poll()\n"
			   "reports the end, getsockopt(SO_ERROR) reads (and clears)\n"
			   "ECONNREFUSED, and connect() is called again on the same socket:\n"
			   "ECONNABORTED, with no packet sent. (After a failed *blocking*\n"
			   "connect() the kernel resets the socket, and a second connect()\n"
			   "simply tries again: ECONNREFUSED.)",
		.run = connect_again,
	},
	{
		.name = "local-abort",
		.cause = "local_abort",
		.err = ECONNABORTED,
		.needs = REPRO_NEEDS_ROOT,
		.desc = "another process destroys the socket as ss -K does: recv ECONNABORTED",
		.details = "The client blocks in recv(); a forked helper named ss-K-helper\n"
			   "sends SOCK_DESTROY over NETLINK_SOCK_DIAG for the client's socket\n"
			   "(4-tuple and cookie), which is what `ss -K` does. The kernel\n"
			   "aborts the socket in the helper's context and RSTs the server:\n"
			   "recv() fails with ECONNABORTED, the server's recv() with\n"
			   "ECONNRESET. Needs root (CAP_NET_ADMIN) and a kernel with\n"
			   "CONFIG_INET_DIAG_DESTROY (exit 3 without).",
		.run = local_abort,
	},
	{
		.name = "close-unread",
		.cause = "reset_sent_unread_close",
		.err = 0,
		.desc = "client closes with unread data, its kernel sends RST: peer ECONNRESET",
		.details = "The server sends 1 byte; the client closes without reading it.\n"
			   "Unread data makes close() send RST (TCP_ABORT_ON_CLOSE) instead\n"
			   "of FIN: the server's recv() fails with ECONNRESET.",
		.run = close_unread,
	},
	{
		.name = "linger-zero",
		.cause = "reset_sent_linger_zero",
		.err = 0,
		.desc = "client closes with SO_LINGER {1, 0}, its kernel sends RST: peer "
			"ECONNRESET",
		.details = "The client sets SO_LINGER {1, 0} and closes: the kernel\n"
			   "disconnects with RST (TCP_STATE) instead of FIN. The server's\n"
			   "recv() fails with ECONNRESET.",
		.run = linger_zero,
	},
	{
		.name = "data-after-close",
		.cause = "reset_sent_data_after_close",
		.err = 0,
		.desc = "client closes, peer sends anyway, the closed socket sends RST: peer EPIPE",
		.details = "The client closes first (FIN). The server reads the EOF and\n"
			   "sends 1 byte anyway; the client's closed socket (an orphan in\n"
			   "FIN_WAIT1: TCP_ABORT_ON_DATA, or TIME_WAIT: TCP_TIMEWAIT_SOCKET)\n"
			   "answers with RST. The server, which had the FIN, records it as\n"
			   "EPIPE: its next send() fails with EPIPE.",
		.run = data_after_close,
	},
	{
		.name = "linger2",
		.cause = "reset_sent_linger2",
		.err = 0,
		.desc = "TCP_LINGER2 -1, shutdown, close in FIN_WAIT2: the kernel sends RST",
		.details = "The client sets TCP_LINGER2 = -1, shuts down its sending side,\n"
			   "waits (TCP_INFO) until its FIN is acked (FIN_WAIT2), then\n"
			   "closes: the kernel sends RST (TCP_ABORT_ON_LINGER) instead of\n"
			   "waiting for the server's FIN. The server, which had the FIN,\n"
			   "reads EOF; its next send() fails with EPIPE.",
		.run = linger2,
	},
	{
		.name = "retransmit-timeout",
		.cause = "timeout_retransmit",
		.err = ETIMEDOUT,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "peer goes silent, retransmissions run out: recv ETIMEDOUT (~3.3 s)",
		.details = "After the opening, every packet from the client to the server is\n"
			   "dropped on input; tcp_retries2 = 2 in the namespace. The client\n"
			   "sends 1 byte and blocks in recv(): a loss probe (~0.2 s) and\n"
			   "retransmissions (~0.4, 0.8, 1.7 s) go unanswered and recv() fails\n"
			   "with ETIMEDOUT after ~3.3 s.",
		.run = retransmit_timeout,
	},
	{
		.name = "syn-timeout",
		.cause = "timeout_syn",
		.err = ETIMEDOUT,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "SYNs dropped: connect ETIMEDOUT (~3 s)",
		.details = "Every SYN to the server is dropped on input; tcp_syn_retries = 1\n"
			   "and tcp_syn_linear_timeouts = 0 in the namespace (the latter\n"
			   "would add 4 retransmissions since 6.5). A blocking connect()\n"
			   "fails with ETIMEDOUT after ~3 s.",
		.run = syn_timeout,
	},
	{
		.name = "keepalive-timeout",
		.cause = "timeout_keepalive",
		.err = ETIMEDOUT,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "idle connection, keepalive probes unanswered: recv ETIMEDOUT (~3 s)",
		.details = "An idle connection with SO_KEEPALIVE, TCP_KEEPIDLE 1, TCP_KEEPINTVL\n"
			   "1, TCP_KEEPCNT 2; every packet from the client to the server is\n"
			   "dropped on input. Probes at 1 and 2 s go unanswered; at 3 s the\n"
			   "kernel gives up (RST TCP_KEEPALIVE_TIMEOUT, dropped too) and the\n"
			   "blocked recv() fails with ETIMEDOUT.",
		.run = keepalive_timeout,
	},
	{
		.name = "user-timeout",
		.cause = "timeout_user",
		.err = ETIMEDOUT,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "TCP_USER_TIMEOUT 1000 ms, data unacked: recv ETIMEDOUT (~1.4 s)",
		.details = "TCP_USER_TIMEOUT = 1000 ms; every packet from the client to the\n"
			   "server is dropped on input. The client sends 1 byte and blocks in\n"
			   "recv(), which fails with ETIMEDOUT ~1.4 s later: the 1000 ms count\n"
			   "from the first RTO retransmission (~0.4 s), not from the send.",
		.run = user_timeout,
	},
	{
		.name = "icmp-unreachable",
		.cause = "icmp_unreachable",
		.err = EHOSTUNREACH,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "SYN rejected with ICMP host-unreachable: connect EHOSTUNREACH (~1 s)",
		.details = "nftables answers every SYN to the server with ICMP host\n"
			   "unreachable. The first one arrives while connect() holds the\n"
			   "socket and is kept as a soft error; the one answering the SYN\n"
			   "retransmitted after 1 s kills the connection: connect() fails\n"
			   "with EHOSTUNREACH.",
		.run = icmp_unreachable,
	},
	{
		.name = "disconnect",
		.cause = "disconnect",
		.err = ECONNRESET,
		.desc = "connect(AF_UNSPEC) during a connect: SO_ERROR ECONNRESET",
		.needs = REPRO_NEEDS_NETNS,
		.details = "SYNs to the server are dropped, so a non-blocking connect()\n"
			   "stays in SYN_SENT; connect() with AF_UNSPEC then dissolves it\n"
			   "without a packet (tcp_disconnect sets ECONNRESET and reports it)\n"
			   "and getsockopt(SO_ERROR) returns ECONNRESET.",
		.run = disconnect,
	},
	{
		.name = "write-after-shutdown",
		.cause = "write_after_shutdown",
		.err = EPIPE,
		.desc = "send after our own shutdown(SHUT_WR): EPIPE + SIGPIPE, no RST",
		.details = "The client shuts down its sending side, then sends: EPIPE and\n"
			   "SIGPIPE, from the client's own kernel; no RST anywhere. The\n"
			   "server then reads the FIN and closes; the client's recv()\n"
			   "returns 0 (EOF).",
		.run = write_after_shutdown,
	},
	{
		.name = "memory-abort",
		.cause = "memory_abort",
		.err = 0,
		.needs = REPRO_NEEDS_ROOT,
		.desc = "close() while the host has too many orphans: the kernel sends RST",
		.details = "The client closes while net.ipv4.tcp_max_orphans is exceeded:\n"
			   "after its FIN, the kernel aborts the socket with RST\n"
			   "(TCP_ABORT_ON_MEMORY, MIB TCPAbortOnMemory). The server reads\n"
			   "EOF; its next send() fails with EPIPE.\n"
			   "Needs root, and CHANGES A GLOBAL SYSCTL: tcp_max_orphans is one\n"
			   "value for the whole host. It is set to 0 for the one close()\n"
			   "(about 0.1 ms, all signals blocked) while the server\n"
			   "keeps one orphan of its own, and restored at once; a guardian\n"
			   "process restores it if the client is killed meanwhile. Other\n"
			   "sockets closed on the host in that window would be aborted\n"
			   "too. Inside a network namespace the sysctl is not visible: it\n"
			   "is opened in the initial one through /proc/2/ns/net.",
		.run = memory_abort,
	},
	{
		.name = "accept-queue-reset",
		.cause = "peer_reset",
		.err = ECONNRESET,
		.desc = "peer connects and resets before accept(): accept OK, recv ECONNRESET",
		.details = "Roles reversed: the client process listens (it creates the\n"
			   "listener after --pause), the forked server connects to it and\n"
			   "closes with SO_LINGER {1, 0}, an RST, before the client accepts.\n"
			   "accept() still returns the dead connection; its first recv()\n"
			   "fails with ECONNRESET.",
		.run = accept_queue_reset,
	},
	{
		.name = "send-before-recv",
		.cause = "peer_reset",
		.err = ECONNRESET,
		.desc = "peer-crash, but the client sends first: send ECONNRESET, recv EOF",
		.details = "As peer-crash, but after the RST the client calls send() first:\n"
			   "it fails with ECONNRESET (no SIGPIPE), which consumes the error,\n"
			   "so the recv() after it returns 0 (EOF). Same cause, another call\n"
			   "order.",
		.run = send_before_recv,
	},
	{
		.name = "shutdown-connecting",
		.cause = "disconnect",
		.err = ECONNRESET,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "shutdown() during a non-blocking connect: SO_ERROR ECONNRESET",
		.details = "SYNs to the server are dropped, so a non-blocking connect()\n"
			   "stays in SYN_SENT; shutdown(SHUT_RDWR) then dissolves it without\n"
			   "a packet: tcp_disconnect() stores ECONNRESET and reports it in\n"
			   "the caller's context, though no RST came from anywhere.\n"
			   "getsockopt(SO_ERROR) returns ECONNRESET.",
		.run = shutdown_connecting,
	},
	{
		.name = "connect-abandoned",
		.cause = "connect_abandoned",
		.err = 0,
		.needs = REPRO_NEEDS_NETNS,
		.desc = "SYNs dropped, the application's own 2.5 s timeout closes: no errno",
		.details = "SYNs to the server are dropped. A non-blocking connect() and a\n"
			   "poll() limited to 2.5 s, as curl --connect-timeout does: the\n"
			   "kernel retransmits the SYN (1 s, 2 s) and is still trying when\n"
			   "the application gives up and closes. No call fails: the\n"
			   "application's timeout fired before the kernel's (tcp_syn_retries).",
		.run = connect_abandoned,
	},
	{
		.name = "owner-killed",
		.cause = "reset_after_peer_fin",
		.err = EPIPE,
		.desc = "server SIGKILLed with the socket open: the kernel closes it (FIN); recv "
			"EOF, "
			"send EPIPE",
		.details = "The server reads the client's byte and holds the socket; the\n"
			   "client SIGKILLs it. Nothing was unread, so the server's kernel\n"
			   "closes the socket on its behalf with a FIN. The client reads EOF,\n"
			   "sends 2 bytes anyway, and the orphan (or its timewait sock)\n"
			   "answers with RST: the next send() fails with EPIPE.",
		.run = owner_killed,
	},
	{
		.name = "no-reply",
		.cause = "closed_without_reply",
		.err = 0,
		.desc = "the server never answers; the client's 1.5 s reply timeout closes: no "
			"errno",
		.details = "The client sends a 1-byte request. The server reads it and never\n"
			   "answers. After 1.5 s the client's own timeout fires and it closes\n"
			   "the connection with a FIN, as nginx does at proxy_read_timeout (and\n"
			   "logs \"upstream timed out (110: Connection timed out)\"): no call\n"
			   "failed and the kernel stored no error.",
		.run = no_reply,
	},
};

const size_t repro_nscenarios = sizeof(repro_scenarios) / sizeof(repro_scenarios[0]);
