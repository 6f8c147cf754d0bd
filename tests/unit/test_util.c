// SPDX-License-Identifier: GPL-2.0
/* The command-line number parsers and the JSON string quoting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "util.h"

static void test_parse_pid(void **state)
{
	static const char *const bad[] = {
		"",   "0",   "-1",   "+5",	" 5",
		"5 ", "12x", "0x10", "4194305", "99999999999999999999999",
		"1.5"
	};
	int pid = -1;

	(void)state;
	assert_true(parse_pid("1", &pid));
	assert_int_equal(pid, 1);
	assert_true(parse_pid("4194304", &pid));
	assert_int_equal(pid, 4194304);
	assert_true(parse_pid("007", &pid));
	assert_int_equal(pid, 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid = -1;
		assert_false(parse_pid(bad[i], &pid));
		assert_int_equal(pid, -1); /* untouched on failure */
	}
	assert_false(parse_pid(NULL, &pid));
}

static void test_parse_uint_bounds(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(parse_uint("18446744073709551615", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
	assert_false(parse_uint("18446744073709551616", 0, UINT64_MAX, &v));
	assert_false(parse_uint("9", 10, 20, &v));
	assert_false(parse_uint("21", 10, 20, &v));
}

/* -p takes what `pidof` prints (one word, spaces), comma lists, or one PID. */
static void test_parse_pid_list(void **state)
{
	struct pidset s = { 0 };

	(void)state;
	assert_null(parse_pid_list("812 813 814", &s));
	assert_null(parse_pid_list("815,816, 812", &s));
	assert_null(parse_pid_list("9", &s));
	assert_int_equal(s.n, 6); /* 812 given twice, kept once */
	assert_int_equal(s.v[0], 812);
	assert_int_equal(s.v[3], 815);
	assert_int_equal(s.v[5], 9);
	/* The caller dies on a bad element: what came before it may have been added (1). */
	assert_string_equal(parse_pid_list("1,x2,3", &s), "x2");
	assert_false(pidset_has(&s, 3));
	assert_string_equal(parse_pid_list("0", &s), "0");
	assert_string_equal(parse_pid_list("99999999999999999999999999999999999", &s),
			    "9999999999999999999999999999999");
	/* `pidof` found nothing: an empty word is not a PID list. */
	assert_string_equal(parse_pid_list("", &s), "");
	assert_string_equal(parse_pid_list(" , ", &s), "");
	pidset_del(&s, 813);
	assert_false(pidset_has(&s, 813));
	assert_int_equal(s.n, 6);
	assert_int_equal(s.v[1], 814);
	pidset_free(&s);
}

static void quoted(const char *in, size_t max, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_quote(f, in, max);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
}

static void test_json_quote(void **state)
{
	(void)state;
	quoted("plain", 99, "\"plain\"");
	quoted("a\"b\\c", 99, "\"a\\\"b\\\\c\"");
	quoted("tab\there\nnl", 99, "\"tab\\there\\nnl\"");
	quoted("\x01\x7f\xff", 99, "\"\\u0001\\u007f\\u00ff\"");
	/* comm is 16 bytes and need not be terminated */
	quoted("0123456789abcdefXYZ", 16, "\"0123456789abcdef\"");
}

/* Numbers are written without printf: check them against it, at the edges. */
static void test_json_numbers(void **state)
{
	const int64_t iv[] = { 0, 1, -1, 9, 10, -10, 123456789, INT32_MIN, INT64_MAX, INT64_MIN };
	const uint64_t uv[] = { 0, 7, 10, 99, 100, UINT32_MAX, UINT64_MAX };
	char *buf = NULL, want[64];
	size_t len = 0;
	struct jw w;
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		f = open_memstream(&buf, &len);
		jw_init(&w, f);
		jw_obj_open(&w, NULL);
		jw_i64(&w, "v", iv[i]);
		jw_obj_close(&w);
		fclose(f);
		snprintf(want, sizeof(want), "{\"v\":%lld}\n", (long long)iv[i]);
		assert_string_equal(buf, want);
		free(buf);
	}
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		f = open_memstream(&buf, &len);
		jw_init(&w, f);
		jw_obj_open(&w, NULL);
		jw_u64(&w, "v", uv[i]);
		jw_obj_close(&w);
		fclose(f);
		snprintf(want, sizeof(want), "{\"v\":%llu}\n", (unsigned long long)uv[i]);
		assert_string_equal(buf, want);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_pid),      cmocka_unit_test(test_parse_uint_bounds),
		cmocka_unit_test(test_parse_pid_list), cmocka_unit_test(test_json_quote),
		cmocka_unit_test(test_json_numbers),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
