// SPDX-License-Identifier: GPL-2.0
/* The scenarios: one function each, and the table that names them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <unistd.h>

#include "repro.h"

/* ------------------------------------------------------------ fin-then-rst */

static int fin_then_rst_server(struct repro_server *s)
{
	int fd;

	if (srv_wait_turn(s))
		return 1;
	fd = srv_accept(s);
	if (fd < 0)
		return 1;
	if (srv_recv(fd, 1) != 1 || srv_close(fd))
		return 1;
	repro_out("# server pid %d read 1 byte and closed", (int)getpid());
	return srv_end_turn(s) ? 1 : 0;
}

static int fin_then_rst(struct repro *r)
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

static int peer_crash(struct repro *r)
{
	int rc;

	rc = repro_open_and_send(r, peer_crash_server, 1);
	if (rc)
		return rc;
	if (repro_kill_server(r))
		return repro_setup_failed("cannot kill the server");
	repro_out("# its kernel closed the socket with data unread: RST");
	cli_wait(r, 0, "the peer's RST");
	cli_recv(r);
	cli_send(r, 1);
	cli_close(r);
	return repro_expect(r, "ECONNRESET", "EPIPE");
}

/* ------------------------------------------------------------------- table */

const struct scenario repro_scenarios[] = {
	{
		.name = "fin-then-rst",
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
		.desc = "peer dies with data unread, its kernel sends RST: recv ECONNRESET "
			"(Winsock 10054)",
		.details = "The server accepts but never reads; the client's byte sits in\n"
			   "its queue when the client SIGKILLs it, so the server's kernel\n"
			   "closes the socket with RST. recv() fails with ECONNRESET, the\n"
			   "next send() fails with EPIPE and raises SIGPIPE.",
		.run = peer_crash,
	},
};

const size_t repro_nscenarios = sizeof(repro_scenarios) / sizeof(repro_scenarios[0]);
