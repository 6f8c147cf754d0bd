// SPDX-License-Identifier: GPL-2.0
/*
 * `tcpabort-trace report FILE...`: the verdicts again, from saved JSON Lines
 * (written by --json).  Same session, rules and output as a live run; only
 * the source of the events differs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reader.h"
#include "report.h"
#include "session.h"
#include "util.h"

static int feed(const struct tl_event *e, void *arg)
{
	return session_feed(arg, e);
}

int report_main(const struct report_opts *o)
{
	struct out out = { .f = stdout, .format = o->json ? OUT_JSON : OUT_TEXT };
	struct session s;
	int ret = EXIT_OK;

	if (session_init(&s, &out))
		return error("out of memory"), EXIT_FAILURE_RUNTIME;
	/* Only verdicts: the events are in the files already. */
	s.print_events = false;
	for (int i = 0; i < o->nfiles; i++) {
		FILE *f = strcmp(o->files[i], "-") ? fopen(o->files[i], "r") : stdin;
		char err[256] = "";

		if (!f) {
			error("cannot read %s: %s", o->files[i], strerror(errno));
			ret = EXIT_NO_INPUT;
			break;
		}
		if (reader_each_event(f, feed, &s, err, sizeof(err))) {
			error("%s: %s", o->files[i], err[0] ? err : "out of memory");
			ret = EXIT_BAD_INPUT;
		}
		if (f != stdin)
			fclose(f);
		if (ret)
			break;
	}
	session_finish(&s);
	return ret;
}
