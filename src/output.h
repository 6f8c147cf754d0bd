/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output layer: every record the tool prints goes through one of these
 * functions, in text or JSON Lines (docs/output.md is the contract).
 */
#ifndef TA_OUTPUT_H
#define TA_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

enum out_format { OUT_TEXT, OUT_JSON };

struct out {
	FILE *f;
	enum out_format format;
	bool verbose;	/* text: also print each event as it arrives */
	uint64_t t0_ns; /* monotonic time of the start record */
	int err;	/* first write error (errno), 0 if none */
};

struct feature {
	const char *name;
	bool present;
};

struct start_info {
	const int *pids;
	int npids;
	const char *kernel;
	const struct feature *features;
	int nfeatures;
	uint64_t mono_ns; /* CLOCK_MONOTONIC at start: ts_ns is on this clock */
	uint64_t real_ns; /* CLOCK_REALTIME at the same moment */
};

void out_start(struct out *o, const struct start_info *s);
void out_event(struct out *o, const struct tl_event *e);
void out_connection(struct out *o, const struct conn *c, const struct verdict *v);
void out_end(struct out *o, uint64_t events, uint64_t lost, uint64_t connections);

/* "ESTABLISHED -> CLOSE_WAIT", "send 2 bytes", "recv = 0 (EOF)": one line per event. */
void describe_event(const struct tl_event *e, char *buf, size_t len);
/* "127.0.0.1" or "::1" */
void format_addr(const struct ta_event *e, bool local, char *buf, size_t len);

#endif /* TA_OUTPUT_H */
