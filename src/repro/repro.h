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
 * Adding a scenario: write one `int fn(struct repro *r)` in a scen_*.c file,
 * declare it in scenarios.h and add one row to repro_scenarios[].
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
#define REPRO_SLOW_MS	4500 /* client calls that wait for a kernel timer */

/* The outcome of one call. */
struct repro_last {
	bool done;
	bool is_recv; /* 0 reads as EOF, not OK */
	ssize_t ret;
	int err;
	long long ns; /* how long the call blocked */
};

/*
 * Memory the client and its children share (MAP_SHARED): a child can
 * report what it saw without a message protocol.
 */
struct repro_shared {
	struct sockaddr_in addr; /* where a connecting peer goes */
	struct repro_last peer;	 /* the server's latest recv() or send() */
	int helper_err;		 /* errno of the local-abort helper's request */
};

/* Fields of the result line that only appear when a verdict rests on them. */
enum {
	REPRO_SHOW_CONNECT = 1 << 0,
	REPRO_SHOW_SO_ERROR = 1 << 1,
	REPRO_SHOW_PEER = 1 << 2,
};

struct repro {
	struct sockaddr_in addr; /* --addr/--port; port filled by bind */
	bool pause;		 /* --pause */
	pid_t server_pid;	 /* 0 when there is no live child */
	int turn_fd;		 /* client -> server: your turn */
	int done_fd;		 /* server -> client: turn is over */
	int client_fd;
	int listen_fd; /* the client's own listener, when it has one */
	int wait_ms;   /* SO_RCVTIMEO/SO_SNDTIMEO and poll limit of the client */
	struct repro_last connect;
	struct repro_last recv;
	struct repro_last send;
	int so_error; /* the value of the latest SO_ERROR read */
	bool so_error_done;
	bool sigpipe;	   /* SIGPIPE in any client call */
	unsigned int show; /* REPRO_SHOW_* */
	struct repro_shared *shared;
};

/* What the server child gets; it lives in the child only. */
struct repro_server {
	int listen_fd; /* -1 for a peer that connects instead */
	int turn_fd;
	int done_fd;
	int turn_ms;			/* -1 while --pause may hold */
	const struct sockaddr_in *addr; /* the client's listener, once told */
};

typedef int (*repro_server_fn)(struct repro_server *srv);

/* What a scenario needs from the system, for --help and for main(). */
enum {
	/* its own network namespace, nftables rules and namespaced sysctls */
	REPRO_NEEDS_NETNS = 1 << 0,
	/* root for another reason, which its details explain */
	REPRO_NEEDS_ROOT = 1 << 1,
};

struct scenario {
	const char *name;
	const char *cause;	     /* the tracer's cause id for the client */
	int err;		     /* the errno that cause explains, or 0 */
	unsigned int needs;	     /* REPRO_NEEDS_* */
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
/* "client  connect()            = -1 ECONNREFUSED (Connection refused)" */
void repro_call_line(const char *who, const char *call, ssize_t ret, int err, const char *note);
long long repro_now_ns(void);
void repro_sleep_ms(int ms);
const char *repro_tcp_state_name(int state);
int repro_tcp_state(int fd);
/* For children that must not keep the client's sockets alive. */
void repro_close_fds_except(int keep1, int keep2, int keep3);

/* Process-wide setup and teardown (main.c drives these). */
int repro_signals_init(bool pause);
void repro_init(struct repro *r);
void repro_cleanup(struct repro *r);
void repro_result_line(const struct repro *r);
int repro_setup_failed(const char *why);

/*
 * Verdicts: each compares one outcome with the token the scenario wants (as
 * in the result line: EOF, 3, OK, EPIPE, ...), says so when they differ, and
 * returns REPRO_EXIT_OK or REPRO_EXIT_UNEXPECTED.
 */
int repro_expect(const struct repro *r, const char *recv, const char *send);
int repro_expect_connect(struct repro *r, const char *want);
int repro_expect_so_error(struct repro *r, const char *want);
int repro_expect_peer(struct repro *r, const char *want);
int repro_expect_sigpipe(const struct repro *r, bool want);

/* Server child management, called by the client. */
enum repro_spawn {
	REPRO_SPAWN_LISTEN,    /* the child listens on A:N */
	REPRO_SPAWN_BIND_ONLY, /* it holds A:N bound, never listening */
	REPRO_SPAWN_NO_SOCKET, /* it will connect to the client instead */
};
int repro_spawn_child(struct repro *r, repro_server_fn fn, enum repro_spawn how);
int repro_spawn_server(struct repro *r, repro_server_fn fn);
int repro_server_turn(struct repro *r);
/*
 * The opening most scenarios share: start the server, connect, send nbytes,
 * then give the server its turn.  0, or the scenario's exit code on failure.
 */
int repro_open_and_send(struct repro *r, repro_server_fn fn, size_t nbytes);
/* The server's usual opening: wait for the turn, accept, read the client's byte. */
int srv_accept_read(struct repro_server *s);
/* The server's last turn after the client closed: read its FIN, close too. */
int srv_read_fin_close(struct repro_server *s, int fd);
int repro_kill_server(struct repro *r);
int repro_reap_server(struct repro *r);
/* Reaps any other child of ours (helper, guardian) within timeout_ms. */
int repro_reap_child(pid_t pid, const char *what, int timeout_ms, int *status);

/* Client calls: each prints its line and records its outcome in *r. */
int cli_socket(struct repro *r);
int cli_connect(struct repro *r);
int cli_nonblock(struct repro *r);
int cli_disconnect(struct repro *r);
int cli_so_error(struct repro *r);
int cli_setsockopt(struct repro *r, int level, int opt, const char *name, int val);
int cli_linger(struct repro *r, int onoff, int secs);
int cli_shutdown(struct repro *r, int how, const char *name);
ssize_t cli_send(struct repro *r, size_t len);
ssize_t cli_recv(struct repro *r);
int cli_close(struct repro *r);
int cli_wait(struct repro *r, short events, const char *what);
int cli_wait_state(struct repro *r, int state);
int cli_listen(struct repro *r);
int cli_accept(struct repro *r);
int cli_close_listener(struct repro *r);
/* A "# call blocked for N s" note, for calls that waited on a timer. */
void cli_note_duration(const char *call, const struct repro_last *l);

/* Server calls, inside the child: each prints its line. */
int srv_wait_turn(struct repro_server *s);
int srv_end_turn(struct repro_server *s);
int srv_accept(struct repro_server *s);
int srv_connect(struct repro_server *s);
ssize_t srv_recv(int fd, size_t len);
ssize_t srv_send(int fd, size_t len);
int srv_linger_zero(int fd);
int srv_close(int fd);
int srv_wait_unread(int fd);
int srv_wait_error(int fd);

#endif /* TCPABORT_REPRO_H */
