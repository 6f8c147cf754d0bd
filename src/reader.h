/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading saved JSON Lines output back into events: the input side of
 * `report` and of the unit tests' recorded fixtures.
 */
#ifndef TA_READER_H
#define TA_READER_H

#include <stdio.h>

#include "core/core.h"

/*
 * One line: 1 and *e filled for an event record, 0 for any other record
 * (start, connection, end), -1 for a malformed line with a reason in err.
 */
int reader_parse_line(const char *line, struct tl_event *e, char *err, size_t errlen);

/* Every event of a file, in order; stops at the first callback error. -1 + err on bad input. */
int reader_each_event(FILE *f, int (*fn)(const struct tl_event *, void *), void *arg, char *err,
		      size_t errlen);

#endif /* TA_READER_H */
