// SPDX-License-Identifier: GPL-2.0
/* The saved-log reader: round trips through the output layer, and bad input. */
#include "fixture.h"
#include "output.h"

/* Every recorded event, written out again and read back, is the same event. */
static void test_round_trip(void **state)
{
	static const char *const names[] = { "repro-fin-then-rst.jsonl",
					     "repro-peer-crash-both.jsonl", "py-orderly.jsonl" };

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct fixture fx;

		fixture_load(&fx, names[k]);
		for (size_t i = 0; i < fx.n; i++) {
			struct out o = { .format = OUT_JSON };
			struct tl_event back;
			char *buf = NULL, err[256];
			size_t len = 0;

			o.f = open_memstream(&buf, &len);
			assert_non_null(o.f);
			out_event(&o, &fx.ev[i]);
			fclose(o.f);
			assert_int_equal(reader_parse_line(buf, &back, NULL, err, sizeof(err)), 1);
			assert_memory_equal(&back.ev, &fx.ev[i].ev, sizeof(back.ev));
			assert_int_equal(back.seq, fx.ev[i].seq);
			assert_int_equal(back.rst, fx.ev[i].rst);
			assert_string_equal(back.rst_name, fx.ev[i].rst_name);
			free(buf);
		}
		fixture_free(&fx);
	}
}

static void test_other_records_fill_meta(void **state)
{
	struct reader_meta m;
	struct tl_event e;
	char err[256];

	(void)state;
	reader_meta_init(&m);
	assert_true(m.error_report);
	assert_int_equal(reader_parse_line("{\"type\":\"start\",\"v\":1,\"mono_ns\":42,"
					   "\"features\":{\"error_report\":false}}",
					   &e, &m, err, sizeof(err)),
			 0);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.mono_ns, 42);
	assert_false(m.error_report);
	assert_int_equal(reader_parse_line("{\"type\":\"connection\",\"cause\":\"x\"}", &e, &m,
					   err, sizeof(err)),
			 0);
	assert_false(m.ended);
	assert_int_equal(reader_parse_line("{\"type\":\"end\",\"events\":3,\"lost\":7}", &e, &m,
					   err, sizeof(err)),
			 0);
	assert_true(m.ended);
	assert_int_equal(m.lost, 7);
}

/* The contract: consumers skip what they do not know, and a newer format is refused. */
static void test_unknown_kind_skipped_newer_format_refused(void **state)
{
	struct reader_meta m;
	struct tl_event e;
	char err[256] = "";

	(void)state;
	reader_meta_init(&m);
	assert_int_equal(reader_parse_line("{\"type\":\"event\",\"kind\":\"quantum\",\"cookie\":1}",
					   &e, &m, err, sizeof(err)),
			 0);
	assert_int_equal(m.skipped, 1);
	assert_int_equal(reader_parse_line("{\"type\":\"start\",\"v\":99}", &e, &m, err,
					   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "newer"));
}

static void expect_bad(const char *line, const char *why)
{
	struct tl_event e;
	char err[256] = "";

	assert_int_equal(reader_parse_line(line, &e, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, why));
}

#define EV                                                                                         \
	"{\"type\":\"event\",\"cookie\":1,\"ts_ns\":2,\"saddr\":\"127.0.0.1\",\"daddr\":\"127.0."  \
	"0.1\","

static void test_bad_input(void **state)
{
	(void)state;
	expect_bad("not json", "not JSON");
	expect_bad("{\"type\":\"event\",\"type\":\"event\"}", "not JSON"); /* duplicate key */
	expect_bad("[1,2]", "without \"type\"");
	expect_bad("{\"type\":\"event\",\"cookie\":1}", "without a \"kind\"");
	expect_bad("{\"type\":\"event\",\"kind\":\"state\"}", "\"cookie\"");
	expect_bad(
		EV
		"\"kind\":\"state\",\"state\":\"ESTABLISHED\",\"old\":\"NOPE\",\"new\":\"CLOSE\"}",
		"unknown state");
	expect_bad(EV "\"kind\":\"sk_error\",\"state\":\"CLOSE\",\"sk_err\":\"EWHAT\"}", "errno");
	expect_bad(EV "\"kind\":\"syscall\",\"state\":\"CLOSE\",\"call\":\"ioctl\"}", "call name");
	expect_bad("{\"type\":\"event\",\"cookie\":1,\"ts_ns\":2,\"kind\":\"destroy\",\"saddr\":"
		   "\"x\"}",
		   "saddr");
	/* One IPv4 and one IPv6 address cannot be one socket's. */
	expect_bad("{\"type\":\"event\",\"cookie\":1,\"ts_ns\":2,\"kind\":\"destroy\","
		   "\"saddr\":\"127.0.0.1\",\"daddr\":\"::1\"}",
		   "saddr");
}

static int count(const struct tl_event *e, void *arg)
{
	(void)e;
	++*(int *)arg;
	return 0;
}

static void test_file_errors_name_the_line(void **state)
{
	const char text[] =
		"{\"type\":\"start\"}\n\n" EV "\"kind\":\"destroy\",\"state\":\"CLOSE\"}\n{oops\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	char err[256] = "";
	int n = 0;

	(void)state;
	assert_int_equal(reader_each_event(f, count, &n, NULL, err, sizeof(err)), -1);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "line 4"));
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_other_records_fill_meta),
		cmocka_unit_test(test_unknown_kind_skipped_newer_format_refused),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_file_errors_name_the_line),
	};

	return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
