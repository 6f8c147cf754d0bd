/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TA_REPORT_H
#define TA_REPORT_H

#include <stdbool.h>

#include "session.h"

struct report_opts {
	char **files;
	int nfiles;
	bool json;
	struct session_filter filter; /* --all, --errors-only, --port: as in a live run */
};

/* Verdicts from saved --json output; returns an exit code. */
int report_main(const struct report_opts *o);

#endif /* TA_REPORT_H */
