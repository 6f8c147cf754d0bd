/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TA_TRACE_H
#define TA_TRACE_H

#include <stdbool.h>

#include "session.h"
#include "util.h"

struct trace_opts {
	struct pidset pids;	 /* -p: the processes named */
	bool tree;		 /* --tree: their existing descendants too */
	bool no_children;	 /* --no-children: do not follow forks after the attach */
	const char *comm;	 /* --comm: every process with this name, now and later */
	const char *cgroup;	 /* --cgroup: every process in this cgroup v2 (and below) */
	const char *unit;	 /* --unit: the cgroup of this systemd unit */
	char **cmd;		 /* -- CMD ARGS: run this under trace */
	unsigned int duration_s; /* -d: stop after this long; 0: no limit */
	bool json;
	const char *out_path;
	int verbose;
	unsigned int buffer_kib;      /* ring buffer size; 0: the default */
	unsigned int max_sockets;     /* --max-sockets: traced sockets at once; 0: the default */
	struct session_filter filter; /* --all, --errors-only, --port */
};

#define TA_DEFAULT_BUFFER_KIB 4096

/* Runs until the traced processes exit or SIGINT/SIGTERM; returns an exit code. */
int trace_main(const struct trace_opts *o);

#endif /* TA_TRACE_H */
