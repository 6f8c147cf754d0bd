// SPDX-License-Identifier: GPL-2.0
/*
 * Every recorded scenario against the verdict it is meant to produce
 * (tests/fixtures/expected.tsv, written by record.sh from tcpabort-repro
 * --list), then the same with the kernel's RST reasons removed, as a kernel
 * before 6.10 would record them: the rules must infer them and say so.
 */
#include <errno.h>

#include "fixture.h"

struct expect {
	char fixture[128];
	char cause[64];
	char err[32];
};

static struct expect expects[64];
static size_t nexpects;

static int load_manifest(void **state)
{
	char path[512], line[512];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/expected.tsv", FIXTURES);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nexpects < 64) {
		struct expect *e = &expects[nexpects];

		if (line[0] != '#' &&
		    sscanf(line, "%127s %63s %31s", e->fixture, e->cause, e->err) == 3)
			nexpects++;
	}
	fclose(f);
	return nexpects ? 0 : -1;
}

/* Does some connection of the traced process get the expected verdict? */
static bool verdict_found(struct fixture *fx, const struct expect *x, bool strip, char *seen,
			  size_t len)
{
	struct conn_table ct;
	size_t first = 0;
	uint32_t pid;
	bool found = false;
	size_t used = 0;

	while (first + 1 < fx->n && fx->ev[first].ev.kind == TA_EV_PROC)
		first++;
	pid = fx->ev[first].ev.owner_tgid;

	if (strip)
		for (size_t i = 0; i < fx->n; i++) {
			fx->ev[i].rst_name[0] = '\0';
			fx->ev[i].rst = TA_RST_NONE;
		}
	fixture_table(fx, &ct);
	seen[0] = '\0';
	for (size_t b = 0; b < ct.nbucket; b++)
		for (struct conn *c = ct.bucket[b]; c; c = c->next) {
			struct verdict v;
			const char *err;

			if (c->owner != pid || c->listener)
				continue;
			ta_decide(c, &v);
			err = v.err ? ta_errno_name(v.err) : "-";
			used += snprintf(seen + used, used < len ? len - used : 0, " %s/%s",
					 v.cause->id, err);
			if (!strcmp(v.cause->id, x->cause) && !strcmp(err, x->err)) {
				found = true;
				/* Whatever the cause, the verdict cites its evidence. */
				assert_true(v.nevidence > 0 || !strcmp(x->cause, "unknown"));
			}
		}
	ct_free(&ct);
	return found;
}

static void check_all(bool strip)
{
	size_t failed = 0;

	for (size_t i = 0; i < nexpects; i++) {
		struct fixture fx;
		char seen[512];

		fixture_load(&fx, expects[i].fixture);
		if (!verdict_found(&fx, &expects[i], strip, seen, sizeof(seen))) {
			print_error("%s%s: expected %s/%s, got%s\n", expects[i].fixture,
				    strip ? " (reasons removed)" : "", expects[i].cause,
				    expects[i].err, seen);
			failed++;
		}
		fixture_free(&fx);
	}
	assert_int_equal(failed, 0);
}

static void test_every_scenario(void **state)
{
	(void)state;
	check_all(false);
}

/* Kernels before 6.10 give no RST reason: the verdicts must not change. */
static void test_every_scenario_without_reasons(void **state)
{
	(void)state;
	check_all(true);
}

/* Every cause of the catalogue is produced by some recorded scenario. */
static void test_catalogue_covered(void **state)
{
	const struct cause *c;

	(void)state;
	for (size_t i = 0; (c = ta_cause_at(i)); i++) {
		bool covered = !strcmp(c->id, "unknown");

		for (size_t k = 0; k < nexpects && !covered; k++)
			covered = !strcmp(expects[k].cause, c->id);
		if (!covered)
			print_error("no recorded scenario for cause %s\n", c->id);
		assert_true(covered);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_scenario),
		cmocka_unit_test(test_every_scenario_without_reasons),
		cmocka_unit_test(test_catalogue_covered),
	};

	return cmocka_run_group_tests_name("catalogue", tests, load_manifest, NULL);
}
