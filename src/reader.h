/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading saved JSON Lines output back into events: the input side of
 * `report` and of the unit tests' recorded fixtures.
 */
#ifndef TA_READER_H
#define TA_READER_H

#include <stdio.h>

#include "core/core.h"

/* What the records around the events say. */
struct reader_meta {
	int version;	   /* the start record's "v"; 0 until one is read */
	uint64_t mono_ns;  /* the start record's clock origin */
	bool error_report; /* the kernel reported stored errors (true unless told otherwise) */
	bool ended;	   /* an end record was read */
	uint64_t lost;	   /* the end record's count of lost events */
	uint64_t skipped;  /* event records of a kind this version does not know */
	uint32_t pids[64]; /* the start record's "pids" (the first 64) */
	int npids;
};

void reader_meta_init(struct reader_meta *m);

/*
 * One line: 1 and *e filled for an event record, 0 for any other record
 * (start, connection, end: meta, if given, takes what they say) and for
 * events of unknown kinds (counted in meta->skipped), -1 for a malformed
 * line with a reason in err.
 */
int reader_parse_line(const char *line, struct tl_event *e, struct reader_meta *meta, char *err,
		      size_t errlen);

/* Every event of a file, in order; stops at the first callback error. -1 + err on bad input. */
int reader_each_event(FILE *f, int (*fn)(const struct tl_event *, void *), void *arg,
		      struct reader_meta *meta, char *err, size_t errlen);

#endif /* TA_READER_H */
