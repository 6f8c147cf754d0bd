/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpabort-repro: reproduce one TCP failure over loopback and print what the
 * client application saw at every call.
 *
 * The process itself is the client.  A scenario usually forks a server child
 * (repro_spawn_server) and then takes turns with it: the client hands the
 * turn over (repro_server_turn), the server does one step and hands it back
 * (srv_wait_turn / srv_end_turn).  Taking turns keeps the output of the two
 * processes in one fixed order, run after run.
 *
 * Adding a scenario: write one `int fn(struct repro *r)` in scenarios.c and
 * add one row to repro_scenarios[].
 */
#ifndef TCPABORT_REPRO_H
#define TCPABORT_REPRO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <netinet/in.h>

enum repro_exit {
	REPRO_EXIT_OK = 0,	   /* the client saw what was meant */
	REPRO_EXIT_UNEXPECTED = 1, /* it ran, the outcome differed */
	REPRO_EXIT_USAGE = 2,
	REPRO_EXIT_SETUP = 3, /* socket, bind, fork failed */
};

#define REPRO_WAIT_MS	2000 /* longest wait of the client */
#define REPRO_SERVER_MS 5000 /* longest wait of the server */

/* The outcome of the client's latest recv() or send(). */
struct repro_last {
	bool done;
	ssize_t ret;
	int err;
};

struct repro {
	struct sockaddr_in addr; /* --addr/--port; port filled by bind */
	bool pause;		 /* --pause */
	pid_t server_pid;	 /* 0 when there is no live child */
	int turn_fd;		 /* client -> server: your turn */
	int done_fd;		 /* server -> client: turn is over */
	int client_fd;
	struct repro_last recv;
	struct repro_last send;
	bool sigpipe; /* SIGPIPE in any client call */
};

/* What the server child gets; it lives in the child only. */
struct repro_server {
	int listen_fd;
	int turn_fd;
	int done_fd;
	int turn_ms; /* -1 while --pause may hold */
};

typedef int (*repro_server_fn)(struct repro_server *srv);

struct scenario {
	const char *name;
	const char *desc;	     /* one line, for --list */
	const char *details;	     /* a paragraph, for --help */
	int (*run)(struct repro *r); /* returns an enum repro_exit */
};

extern const struct scenario repro_scenarios[];
extern const size_t repro_nscenarios;

/* Output: each call writes one whole line with a single write(). */
void repro_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void repro_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *repro_errname(int err);

/* Process-wide setup and teardown (main.c drives these). */
int repro_signals_init(bool pause);
void repro_init(struct repro *r);
void repro_cleanup(struct repro *r);
void repro_result_line(const struct repro *r);
int repro_expect(const struct repro *r, const char *recv, const char *send);
int repro_setup_failed(const char *why);

/* Server child management, called by the client. */
int repro_spawn_server(struct repro *r, repro_server_fn fn);
int repro_server_turn(struct repro *r);
/*
 * The opening most scenarios share: start the server, connect, send nbytes,
 * then give the server its turn.  0, or the scenario's exit code on failure.
 */
int repro_open_and_send(struct repro *r, repro_server_fn fn, size_t nbytes);
int repro_kill_server(struct repro *r);
int repro_reap_server(struct repro *r);

/* Client calls: each prints its line and records its outcome in *r. */
int cli_connect(struct repro *r);
ssize_t cli_send(struct repro *r, size_t len);
ssize_t cli_recv(struct repro *r);
int cli_close(struct repro *r);
int cli_wait(struct repro *r, short events, const char *what);

/* Server calls, inside the child: each prints its line. */
int srv_wait_turn(struct repro_server *s);
int srv_end_turn(struct repro_server *s);
int srv_accept(struct repro_server *s);
ssize_t srv_recv(int fd, size_t len);
int srv_close(int fd);
int srv_wait_unread(int fd);

#endif /* TCPABORT_REPRO_H */
