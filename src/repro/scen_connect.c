// SPDX-License-Identifier: GPL-2.0
/* Scenarios where the connection never comes up. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "repro.h"
#include "scenarios.h"
#include "sys.h"

/*
 * A server that only owns its address (bound or listening) and waits for the
 * client to be done: the scenario happens between the client and the kernel.
 */
static int bystander_server(struct repro_server *s)
{
	if (srv_wait_turn(s))
		return 1;
	return srv_end_turn(s) ? 1 : 0;
}

static int end_bystander(struct repro *r)
{
	if (repro_server_turn(r))
		return -1;
	return repro_reap_server(r);
}

/* ----------------------------------------------------------------- refused */

/* The server keeps the port bound, so nobody else can listen on it meanwhile. */
/*
 * The opening of the scenarios that act while a connection attempt hangs:
 * a bystander server whose SYNs are dropped, and a non-blocking connect()
 * to it (EINPROGRESS).  0, or the scenario's exit code.
 */
static int connect_into_the_void(struct repro *r)
{
	int rc = repro_spawn_server(r, bystander_server);

	if (rc)
		return rc;
	if (repro_nft_syn(r, "drop"))
		return REPRO_EXIT_SETUP;
	if (cli_socket(r) || cli_nonblock(r))
		return REPRO_EXIT_SETUP;
	cli_connect(r);
	return 0;
}

int refused(struct repro *r)
{
	int rc;

	rc = repro_spawn_child(r, bystander_server, REPRO_SPAWN_BIND_ONLY);
	if (rc)
		return rc;
	if (cli_socket(r))
		return REPRO_EXIT_SETUP;
	cli_connect(r);
	cli_close(r);
	end_bystander(r);
	return repro_expect_connect(r, "ECONNREFUSED");
}

/* ----------------------------------------------------------- connect-again */

/*
 * Only a socket the kernel still marks as connecting (non-blocking connect,
 * or a blocking one cut short by SO_SNDTIMEO) gives ECONNABORTED once its
 * error was consumed: a blocking connect() that failed leaves the socket
 * unconnected, and the next connect() simply tries again.
 */
int connect_again(struct repro *r)
{
	int rc;

	rc = repro_spawn_child(r, bystander_server, REPRO_SPAWN_BIND_ONLY);
	if (rc)
		return rc;
	if (cli_socket(r) || cli_nonblock(r))
		return REPRO_EXIT_SETUP;
	cli_connect(r);
	cli_wait(r, POLLOUT, "the end of the attempt");
	cli_so_error(r);
	cli_connect(r);
	cli_close(r);
	end_bystander(r);
	rc = repro_expect_so_error(r, "ECONNREFUSED");
	rc |= repro_expect_connect(r, "ECONNABORTED");
	return rc;
}

/* ------------------------------------------------------------- syn-timeout */

int syn_timeout(struct repro *r)
{
	int rc;

	if (repro_sysctl_set("tcp_syn_retries", 1))
		return REPRO_EXIT_SETUP;
	/* since 6.5 the first SYN retransmissions are linear and not counted */
	if (repro_sysctl_set_opt("tcp_syn_linear_timeouts", 0))
		return REPRO_EXIT_SETUP;
	rc = repro_spawn_server(r, bystander_server);
	if (rc)
		return rc;
	if (repro_nft_syn(r, "drop"))
		return REPRO_EXIT_SETUP;
	/* SYN, one retransmission after 1 s, given up 2 s later */
	r->wait_ms = REPRO_SLOW_MS;
	cli_connect(r);
	cli_close(r);
	end_bystander(r);
	return repro_expect_connect(r, "ETIMEDOUT");
}

/* -------------------------------------------------------- icmp-unreachable */

/*
 * The first ICMP error arrives while connect() still owns the socket (on
 * loopback the SYN and its answer are processed inside the call), and the
 * kernel can then only keep it as a soft error; the ICMP answering the SYN
 * retransmitted 1 s later finds the socket free and kills it.
 */
int icmp_unreachable(struct repro *r)
{
	int rc;

	rc = repro_spawn_server(r, bystander_server);
	if (rc)
		return rc;
	if (repro_nft_syn(r, "reject with icmp type host-unreachable"))
		return REPRO_EXIT_SETUP;
	r->wait_ms = REPRO_SLOW_MS;
	cli_connect(r);
	cli_close(r);
	end_bystander(r);
	return repro_expect_connect(r, "EHOSTUNREACH");
}

/* -------------------------------------------------------------- disconnect */

int disconnect(struct repro *r)
{
	int rc;

	rc = connect_into_the_void(r);
	if (rc)
		return rc;
	cli_disconnect(r);
	cli_so_error(r);
	cli_close(r);
	end_bystander(r);
	return repro_expect_so_error(r, "ECONNRESET");
}

/* ----------------------------------------------------- shutdown-connecting */

/*
 * shutdown() in SYN_SENT goes through tcp_disconnect() as connect(AF_UNSPEC)
 * does: the kernel stores ECONNRESET and reports it in our own context,
 * though no RST came from anywhere.
 */
int shutdown_connecting(struct repro *r)
{
	int rc;

	rc = connect_into_the_void(r);
	if (rc)
		return rc;
	cli_shutdown(r, SHUT_RDWR, "SHUT_RDWR");
	cli_so_error(r);
	cli_close(r);
	end_bystander(r);
	return repro_expect_so_error(r, "ECONNRESET");
}

/* ------------------------------------------------------- connect-abandoned */

/*
 * The application's own connect timeout (curl --connect-timeout, a poll()
 * with a limit) is shorter than the kernel's SYN retries: it gives up and
 * closes while the kernel is still retrying, and no errno ever comes back.
 */
int connect_abandoned(struct repro *r)
{
	int rc;

	rc = connect_into_the_void(r);
	if (rc)
		return rc;
	/* SYN retransmissions at 1 and 2 s (linear since 6.5, exponential before) */
	r->wait_ms = 2500;
	cli_wait(r, POLLOUT, "the end of the attempt");
	repro_out("# the application's own 2.5 s timeout expired: it gives up");
	cli_close(r);
	end_bystander(r);
	return repro_expect_connect(r, "EINPROGRESS");
}
