// SPDX-License-Identifier: GPL-2.0
/*
 * Scenarios where the peer goes silent: after the opening, every packet from
 * the client to the server is dropped on input, and a timer of the client's
 * kernel ends the connection with ETIMEDOUT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "repro.h"
#include "scenarios.h"
#include "sys.h"

/*
 * Reads the client's byte, then waits for the end with the connection open.
 * It ends with an RST: a FIN would never be answered through the drop, and
 * the orphan would retransmit it for minutes, keeping the dead namespace.
 */
static int silent_server(struct repro_server *s)
{
	int fd = srv_accept_read(s);

	if (fd < 0 || srv_end_turn(s))
		return 1;
	if (srv_wait_turn(s))
		return 1;
	srv_linger_zero(fd);
	srv_close(fd);
	return srv_end_turn(s) ? 1 : 0;
}

/* The drop starts only now, after the handshake and the first byte. */
static int go_silent(struct repro *r)
{
	if (repro_nft_drop_flow(r, "drop"))
		return -1;
	return 0;
}

static int finish(struct repro *r)
{
	cli_close(r);
	if (repro_server_turn(r) == 0)
		repro_reap_server(r);
	return repro_expect(r, "ETIMEDOUT", "OK");
}

/* ------------------------------------------------------ retransmit-timeout */

/*
 * tcp_retries2 is turned into a time, 1.4 s for 2 (200 ms doubled twice),
 * counted from the first RTO retransmission (~0.4 s here: a tail loss probe
 * at ~0.2 s comes first and does not start the clock), and checked only when
 * the RTO timer fires: at ~1.7 s 1.25 s have passed, at ~3.3 s it gives up.
 * With 3 the 3.0 s would be missed by 0.1 s at ~3.3 s, and it ends at ~6.7 s.
 */
int retransmit_timeout(struct repro *r)
{
	int rc;

	if (repro_sysctl_set("tcp_retries2", 2))
		return REPRO_EXIT_SETUP;
	r->wait_ms = REPRO_SLOW_MS;
	rc = repro_open_and_send(r, silent_server, 1);
	if (rc)
		return rc;
	if (go_silent(r))
		return REPRO_EXIT_SETUP;
	cli_send(r, 1);
	cli_recv(r);
	return finish(r);
}

/* ------------------------------------------------------- keepalive-timeout */

/*
 * Probes at 1 s and 2 s go unanswered; at 3 s the count is reached.  The
 * drop must be on input: probes dropped on output count as local congestion
 * and the timer keeps waiting.
 */
int keepalive_timeout(struct repro *r)
{
	int rc;

	r->wait_ms = REPRO_SLOW_MS;
	rc = repro_open_and_send(r, silent_server, 1);
	if (rc)
		return rc;
	if (cli_setsockopt(r, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 1) ||
	    cli_setsockopt(r, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 1) ||
	    cli_setsockopt(r, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 2) ||
	    cli_setsockopt(r, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1))
		return REPRO_EXIT_SETUP;
	if (go_silent(r))
		return REPRO_EXIT_SETUP;
	cli_recv(r);
	return finish(r);
}

/* ------------------------------------------------------------ user-timeout */

/* The same clock as tcp_retries2: recv() fails ~1.4 s after the send. */
int user_timeout(struct repro *r)
{
	int rc;

	r->wait_ms = REPRO_SLOW_MS;
	rc = repro_open_and_send(r, silent_server, 1);
	if (rc)
		return rc;
	if (cli_setsockopt(r, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 1000))
		return REPRO_EXIT_SETUP;
	if (go_silent(r))
		return REPRO_EXIT_SETUP;
	cli_send(r, 1);
	cli_recv(r);
	return finish(r);
}
