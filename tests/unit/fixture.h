/* SPDX-License-Identifier: GPL-2.0 */
/* Loading recorded event fixtures (tests/fixtures/NAME.jsonl) for the unit tests. */
#ifndef TA_TEST_FIXTURE_H
#define TA_TEST_FIXTURE_H

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"
#include "reader.h"

struct fixture {
	struct tl_event *ev;
	size_t n, cap;
};

static int fixture_add(const struct tl_event *e, void *arg)
{
	struct fixture *f = arg;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 32;
		f->ev = realloc(f->ev, f->cap * sizeof(*f->ev));
		assert_non_null(f->ev);
	}
	f->ev[f->n++] = *e;
	return 0;
}

static inline void fixture_load(struct fixture *f, const char *name)
{
	char path[PATH_MAX], err[256] = "";
	FILE *in;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/%.255s", FIXTURES, name);
	in = fopen(path, "r");
	if (!in)
		fail_msg("cannot open fixture %s", path);
	if (reader_each_event(in, fixture_add, f, NULL, err, sizeof(err)))
		fail_msg("fixture %s: %s", path, err);
	fclose(in);
	assert_true(f->n > 0);
}

static inline void fixture_free(struct fixture *f)
{
	free(f->ev);
	memset(f, 0, sizeof(*f));
}

/*
 * Feed every socket's event into a fresh table; connections stay in it, ended
 * or not.  Process events (cookie 0) stay out, as the session keeps them out.
 */
static inline void fixture_table(const struct fixture *f, struct conn_table *ct)
{
	assert_int_equal(ct_init(ct), 0);
	for (size_t i = 0; i < f->n; i++)
		if (f->ev[i].ev.kind != TA_EV_PROC)
			assert_non_null(ct_feed(ct, &f->ev[i]));
}

struct find_owner {
	uint32_t pid;
	struct conn *found;
};

static void find_owner_cb(struct conn *c, void *arg)
{
	struct find_owner *fo = arg;

	/* Listeners get no connection verdict. */
	if (c->owner == fo->pid && !c->listener && !fo->found)
		fo->found = c;
}

/* The connection (not a listener) owned by the process of the fixture's first event. */
static inline struct conn *first_owner_conn(struct conn_table *ct, const struct fixture *f)
{
	size_t first = 0;
	struct find_owner fo;

	while (first + 1 < f->n && f->ev[first].ev.kind == TA_EV_PROC)
		first++;
	fo = (struct find_owner){ .pid = f->ev[first].ev.owner_tgid };

	ct_each(ct, find_owner_cb, &fo);
	assert_non_null(fo.found);
	return fo.found;
}

/* The connection whose owner is not the given pid (the other end, when both are traced). */
static void find_other_cb(struct conn *c, void *arg)
{
	struct find_owner *fo = arg;

	if (c->owner != fo->pid && !fo->found)
		fo->found = c;
}

static inline struct conn *other_conn(struct conn_table *ct, uint32_t pid)
{
	struct find_owner fo = { .pid = pid };

	ct_each(ct, find_other_cb, &fo);
	assert_non_null(fo.found);
	return fo.found;
}

static inline bool cites_kind(const struct conn *c, const struct verdict *v, unsigned int kind)
{
	for (size_t i = 0; i < v->nevidence; i++)
		if (c->ev[v->evidence[i].idx].ev.kind == kind)
			return true;
	return false;
}

#endif /* TA_TEST_FIXTURE_H */
