/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TA_TRACE_H
#define TA_TRACE_H

#include <stdbool.h>

#define TA_MAX_PIDS 64

struct trace_opts {
	int pids[TA_MAX_PIDS];
	int npids;
	bool json;
	const char *out_path;
	int verbose;
	unsigned int buffer_kib; /* ring buffer size; 0: the default */
};

#define TA_DEFAULT_BUFFER_KIB 4096

/* Runs until the traced processes exit or SIGINT/SIGTERM; returns an exit code. */
int trace_main(const struct trace_opts *o);

#endif /* TA_TRACE_H */
