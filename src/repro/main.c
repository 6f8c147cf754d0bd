// SPDX-License-Identifier: GPL-2.0
/* tcpabort-repro: command line, and the run of one scenario. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repro.h"
#include "sys.h"

enum {
	OPT_LIST = 256,
	OPT_PAUSE,
	OPT_PORT,
	OPT_ADDR,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "pause", no_argument, NULL, OPT_PAUSE },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ NULL, 0, NULL, 0 },
};

static const char *errno_column(const struct scenario *sc)
{
	return sc->err ? repro_errname(sc->err) : "-";
}

/*
 * NAME CAUSE ERRNO DESCRIPTION: tests and `tcpabort-trace --selftest` split
 * the first three columns on whitespace, so none of them may contain any.
 */
static void list_scenarios(void)
{
	const struct scenario *sc;
	size_t i;

	for (i = 0; i < repro_nscenarios; i++) {
		sc = &repro_scenarios[i];
		printf("%-22s %-28s %-13s %s\n", sc->name, sc->cause, errno_column(sc), sc->desc);
	}
}

static void indent(const char *text, const char *pad)
{
	const char *nl;

	while (*text) {
		nl = strchr(text, '\n');
		if (!nl)
			nl = text + strlen(text);
		printf("%s%.*s\n", pad, (int)(nl - text), text);
		text = *nl ? nl + 1 : nl;
	}
}

static const char *needs_text(unsigned int needs)
{
	if (needs & REPRO_NEEDS_NETNS)
		return "needs root: its own network namespace, nftables rules, sysctls there";
	if (needs & REPRO_NEEDS_ROOT)
		return "needs root, see below";
	return "runs without privileges";
}

static void usage(void)
{
	const struct scenario *sc;
	size_t i;

	fputs("usage: tcpabort-repro SCENARIO [--pause] [--port N] [--addr A]\n"
	      "       tcpabort-repro --list | --help\n"
	      "\n"
	      "Reproduces one TCP failure on demand and prints what the client\n"
	      "application saw at every call, to hold against the verdict of\n"
	      "tcpabort-trace.  This process is the client, the one to trace; it\n"
	      "forks a server child that listens on A:N (or only binds it, or, in\n"
	      "accept-queue-reset, connects to the client's own listener).\n"
	      "\n"
	      "The scenarios that need their own network namespace unshare one\n"
	      "at start, before --pause (the pid stays the same), bring lo up,\n"
	      "set their sysctls there and drop or reject packets with\n"
	      "`nft -f -` on the input hook; all of it vanishes with the\n"
	      "namespace.  nft must be installed (exit 3 otherwise).\n"
	      "\n"
	      "scenarios (cause the tracer should give the client's connection,\n"
	      "and the errno it explains):\n",
	      stdout);
	for (i = 0; i < repro_nscenarios; i++) {
		sc = &repro_scenarios[i];
		printf("  %s\n      cause %s, errno %s; %s\n", sc->name, sc->cause,
		       errno_column(sc), needs_text(sc->needs));
		indent(sc->details, "      ");
	}
	fputs("\n"
	      "options:\n"
	      "  --pause     once both processes exist, stop before the client\n"
	      "              connects (or listens) until Enter is pressed or\n"
	      "              SIGUSR1 arrives, so the tracer can be attached to\n"
	      "              the client pid\n"
	      "  --port N    server port, 0-65535 (default 0: the kernel picks)\n"
	      "  --addr A    IPv4 address of the server (default 127.0.0.1)\n"
	      "  --list      print the scenarios, one a line:\n"
	      "              NAME CAUSE ERRNO DESCRIPTION (ERRNO \"-\": none)\n"
	      "  -h, --help  print this text\n"
	      "\n"
	      "output (stdout, one line per call):\n"
	      "  client  send(1 byte)         = -1 EPIPE (Broken pipe) + SIGPIPE\n"
	      "          a call of the client: return value, errno name and\n"
	      "          text; \"+ SIGPIPE\" when the call raised SIGPIPE\n"
	      "  server  accept()             = 5\n"
	      "          a call of the server child\n"
	      "  helper  SOCK_DESTROY ...\n"
	      "          the request of the local-abort helper\n"
	      "  # ...   what happened in between: waits (and how long), kills,\n"
	      "          TCP states of the client socket, rules and sysctls, and\n"
	      "          the kernel's TCP counters that moved\n"
	      "  result: recv=EOF send=EPIPE sigpipe=yes\n"
	      "          last line: the client's last recv() (EOF, a byte count\n"
	      "          or an errno name) and last send() (OK or an errno name),\n"
	      "          and whether any SIGPIPE was seen; then, only where the\n"
	      "          verdict rests on them: connect= (last connect()),\n"
	      "          so_error= (last getsockopt(SO_ERROR)) and peer= (the\n"
	      "          server's last recv() or send())\n"
	      "\n"
	      "example, two terminals:\n"
	      "  $ tcpabort-repro fin-then-rst --pause\n"
	      "  # client pid 4242, server pid 4243, 127.0.0.1:40001\n"
	      "  $ sudo tcpabort-trace -p 4242          (in the second terminal)\n"
	      "  then press Enter in the first one, and compare.\n"
	      "\n"
	      "example, a script:\n"
	      "  tcpabort-repro peer-crash --pause >repro.log &\n"
	      "  pid=$!\n"
	      "  sudo tcpabort-trace -p \"$pid\" >trace.log &\n"
	      "  sleep 1; kill -USR1 \"$pid\"; wait \"$pid\"\n"
	      "\n"
	      "exit status:\n"
	      "  0  the client saw what the scenario is meant to produce\n"
	      "  1  the scenario ran, the outcome differed (see \"# unexpected:\")\n"
	      "  2  usage error\n"
	      "  3  setup failure (socket, bind, fork, privileges, nft, ...)\n",
	      stdout);
}

static int parse_port(const char *s, struct repro *r)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return -1;
	r->addr.sin_port = htons((unsigned short)v);
	return 0;
}

static int parse_addr(const char *s, struct repro *r)
{
	return inet_pton(AF_INET, s, &r->addr.sin_addr) == 1 ? 0 : -1;
}

static const struct scenario *find_scenario(const char *name)
{
	size_t i;

	for (i = 0; i < repro_nscenarios; i++)
		if (!strcmp(repro_scenarios[i].name, name))
			return &repro_scenarios[i];
	return NULL;
}

/* Long options only, so -p cannot be mistaken for the tracer's -p PID. */
static int parse_args(int argc, char **argv, struct repro *r, const struct scenario **sc)
{
	bool list = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			exit(REPRO_EXIT_OK);
		case OPT_LIST:
			list = true;
			break;
		case OPT_PAUSE:
			r->pause = true;
			break;
		case OPT_PORT:
			if (parse_port(optarg, r)) {
				repro_err("bad port '%s' (0-65535)", optarg);
				return -1;
			}
			break;
		case OPT_ADDR:
			if (parse_addr(optarg, r)) {
				repro_err("bad IPv4 address '%s'", optarg);
				return -1;
			}
			break;
		case ':':
			repro_err("option '%s' needs a value (try --help)", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				repro_err("unknown option '-%c' (try --help)", optopt);
			else
				repro_err("unknown option '%s' (try --help)", argv[optind - 1]);
			return -1;
		}
	}
	if (list) {
		list_scenarios();
		exit(REPRO_EXIT_OK);
	}
	if (optind >= argc) {
		repro_err("no scenario given (try --list)");
		return -1;
	}
	if (optind + 1 < argc) {
		repro_err("unexpected argument '%s' (try --help)", argv[optind + 1]);
		return -1;
	}
	*sc = find_scenario(argv[optind]);
	if (!*sc) {
		repro_err("unknown scenario '%s' (try --list)", argv[optind]);
		return -1;
	}
	return 0;
}

static int run(const struct scenario *sc, struct repro *r)
{
	int rc;

	repro_out("# scenario %s: %s", sc->name, sc->desc);
	if ((sc->needs & REPRO_NEEDS_NETNS) && repro_netns_enter())
		return REPRO_EXIT_SETUP;
	repro_mib_snapshot();
	rc = sc->run(r);
	repro_cleanup(r);
	repro_mib_report();
	if (rc == REPRO_EXIT_OK || rc == REPRO_EXIT_UNEXPECTED)
		repro_result_line(r);
	return rc;
}

int main(int argc, char **argv)
{
	const struct scenario *sc = NULL;
	struct repro r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	repro_init(&r);
	if (parse_args(argc, argv, &r, &sc))
		return REPRO_EXIT_USAGE;
	if (repro_signals_init(r.pause)) {
		repro_err("sigaction: %s", repro_errname(errno));
		return REPRO_EXIT_SETUP;
	}
	return run(sc, &r);
}
