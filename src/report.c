// SPDX-License-Identifier: GPL-2.0
/*
 * `tcpabort-trace report FILE...`: the verdicts again, from saved JSON Lines
 * (written by --json).  Same session, rules and output as a live run; only
 * the source of the events differs.  Each file is its own session: cookies
 * are unique within one boot only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reader.h"
#include "report.h"
#include "session.h"
#include "util.h"

struct file_run {
	struct session s;
	struct reader_meta meta;
	struct out *out;
};

static int feed(const struct tl_event *e, void *arg)
{
	struct file_run *r = arg;

	/* Times are printed relative to the capture's start, as in the live run. */
	if (!r->out->t0_ns) {
		r->out->t0_ns = r->meta.mono_ns ? r->meta.mono_ns : e->ev.ts_ns;
		/* The traced processes: their names are shown where the live run showed them. */
		for (int i = 0; i < r->meta.npids; i++)
			out_traced_add(r->out, r->meta.pids[i]);
	}
	r->s.errors_unseen = !r->meta.error_report;
	return session_feed(&r->s, e);
}

static int report_file(const char *path, struct out *out, const struct session_filter *filter)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct file_run r = { .out = out };
	char err[256] = "";
	int ret = EXIT_OK;

	if (!f) {
		error("cannot read %s: %s", path, strerror(errno));
		return EXIT_NO_INPUT;
	}
	out->t0_ns = 0;
	out->ntraced = out->traced_next = 0;
	reader_meta_init(&r.meta);
	if (session_init(&r.s, out)) {
		error("out of memory");
		ret = EXIT_FAILURE_RUNTIME;
		goto out;
	}
	session_set_filter(&r.s, filter);
	/* Only verdicts: the events are in the file already. */
	r.s.print_events = false;
	if (reader_each_event(f, feed, &r, &r.meta, err, sizeof(err))) {
		error("%s: %s", path, err[0] ? err : "out of memory");
		ret = EXIT_BAD_INPUT;
	}
	r.s.lost = r.meta.lost;
	/* Verdicts from a file cut at a bad line would look final; they are not. */
	if (ret == EXIT_OK)
		session_finish(&r.s);
	else
		session_discard(&r.s);
	if (r.meta.skipped)
		warn("%s: skipped %llu events of kinds this version does not know", path,
		     (unsigned long long)r.meta.skipped);
	if (!r.meta.ended && ret == EXIT_OK)
		warn("%s: no end record: the capture was cut short, its last verdicts may be "
		     "incomplete",
		     path);
out:
	if (f != stdin)
		fclose(f);
	return ret;
}

int report_main(const struct report_opts *o)
{
	/* Started: each file's summary follows its verdicts, as in the live run. */
	struct out out = { .f = stdout, .format = o->json ? OUT_JSON : OUT_TEXT, .started = true };
	int ret = EXIT_OK;

	for (int i = 0; i < o->nfiles && ret == EXIT_OK; i++)
		ret = report_file(o->files[i], &out, &o->filter);
	if (!out.err && fflush(stdout))
		out.err = errno;
	if (out.err) {
		error("writing standard output: %s", strerror(out.err));
		return EXIT_FAILURE_RUNTIME;
	}
	return ret;
}
