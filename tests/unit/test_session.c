// SPDX-License-Identifier: GPL-2.0
/*
 * Events -> session -> JSON output, end to end on recorded fixtures, and the
 * connection table underneath.
 */
#include <jansson.h>

#include "fixture.h"
#include "session.h"

struct run {
	char *buf;
	size_t len;
	json_t *conns; /* array of the connection records, in output order */
	size_t nevents;
};

static void run_fixture(struct run *r, const char *name, size_t upto)
{
	struct out o = { .format = OUT_JSON };
	struct session s;
	struct fixture fx;
	char *line, *save = NULL;

	memset(r, 0, sizeof(*r));
	fixture_load(&fx, name);
	o.f = open_memstream(&r->buf, &r->len);
	assert_int_equal(session_init(&s, &o), 0);
	for (size_t i = 0; i < fx.n && i < upto; i++)
		assert_int_equal(session_feed(&s, &fx.ev[i]), 0);
	session_finish(&s);
	fclose(o.f);
	fixture_free(&fx);

	r->conns = json_array();
	for (line = strtok_r(r->buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		const char *type;

		assert_non_null(j); /* every line is valid JSON */
		type = json_string_value(json_object_get(j, "type"));
		assert_non_null(type);
		if (!strcmp(type, "connection"))
			json_array_append(r->conns, j);
		else
			assert_string_equal(type, "event");
		r->nevents += !strcmp(type, "event");
		json_decref(j);
	}
}

static void run_free(struct run *r)
{
	json_decref(r->conns);
	free(r->buf);
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	assert_non_null(v);
	return v;
}

/* The contract's connection record: every field present, with the right type. */
static void check_contract(json_t *c)
{
	static const char *const ints[] = { "cookie", "pid", "sport", "dport", "events" };
	static const char *const strs[] = { "saddr", "daddr", "cause", "explanation" };
	json_t *ev;
	size_t i;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		assert_true(json_is_integer(json_object_get(c, ints[i])));
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		assert_true(json_is_string(json_object_get(c, strs[i])));
	assert_true(json_is_boolean(json_object_get(c, "complete")));
	assert_true(json_is_boolean(json_object_get(c, "ended")));
	assert_non_null(json_object_get(c, "errno"));
	assert_non_null(json_object_get(c, "winsock"));
	assert_non_null(json_object_get(c, "next"));
	assert_true(json_is_array(json_object_get(c, "evidence")));
	json_array_foreach(json_object_get(c, "evidence"), i, ev)
	{
		assert_true(json_is_integer(json_object_get(ev, "seq")));
		assert_true(json_is_string(json_object_get(ev, "proves")));
	}
	assert_non_null(ta_cause_by_id(str(c, "cause")));
}

static void test_fin_then_rst_json(void **state)
{
	struct run r;
	json_t *c;

	(void)state;
	run_fixture(&r, "repro-fin-then-rst.jsonl", SIZE_MAX);
	assert_int_equal(json_array_size(r.conns), 1);
	c = json_array_get(r.conns, 0);
	check_contract(c);
	assert_string_equal(str(c, "cause"), "reset_after_peer_fin");
	assert_string_equal(str(c, "errno"), "EPIPE");
	assert_string_equal(str(c, "winsock"), "WSAECONNABORTED (10053)");
	assert_string_equal(str(c, "saddr"), "127.0.0.1");
	assert_true(json_is_true(json_object_get(c, "complete")));
	assert_true(json_array_size(json_object_get(c, "evidence")) >= 4);
	run_free(&r);
}

/*
 * Both ends traced: the server's timewait socket sends its RST after the
 * server's socket was destroyed; the session's linger keeps them together,
 * so there are exactly two connection records, not a third fragment.
 */
static void test_timewait_rst_joins_its_connection(void **state)
{
	struct run r;
	size_t i;
	json_t *c;
	int server = 0;

	(void)state;
	run_fixture(&r, "repro-fin-then-rst-both.jsonl", SIZE_MAX);
	assert_int_equal(json_array_size(r.conns), 2);
	json_array_foreach(r.conns, i, c)
	{
		check_contract(c);
		assert_true(json_is_true(json_object_get(c, "ended")));
		if (strcmp(str(c, "cause"), "reset_after_peer_fin")) {
			server++;
			assert_string_not_equal(str(c, "cause"), "orderly_close");
		}
	}
	assert_int_equal(server, 1);
	run_free(&r);
}

/* Stopped before the end: the open connection is still reported, marked as such. */
static void test_open_connection_reported_at_finish(void **state)
{
	struct run r;
	json_t *c;

	(void)state;
	run_fixture(&r, "repro-peer-crash.jsonl", 6);
	assert_int_equal(r.nevents, 6);
	assert_int_equal(json_array_size(r.conns), 1);
	c = json_array_get(r.conns, 0);
	check_contract(c);
	assert_true(json_is_false(json_object_get(c, "ended")));
	assert_true(json_is_string(json_object_get(c, "missing")));
	run_free(&r);
}

static void test_table_many(void **state)
{
	struct conn_table ct;
	struct tl_event e = { 0 };
	const size_t n = 5000;

	(void)state;
	assert_int_equal(ct_init(&ct), 0);
	for (size_t i = 1; i <= n; i++) {
		e.ev.cookie = i;
		e.ev.kind = TA_EV_SEND;
		assert_non_null(ct_feed(&ct, &e));
		assert_non_null(ct_feed(&ct, &e));
	}
	assert_int_equal(ct.count, n);
	for (size_t i = 1; i <= n; i++) {
		struct conn *c = ct_find(&ct, i);

		assert_non_null(c);
		assert_int_equal(c->n, 2);
		assert_true(c->midlife); /* a send is not how a connection begins */
		if (i % 2)
			ct_remove(&ct, c);
	}
	assert_int_equal(ct.count, n / 2);
	assert_null(ct_find(&ct, 1));
	assert_non_null(ct_find(&ct, 2));
	ct_free(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fin_then_rst_json),
		cmocka_unit_test(test_timewait_rst_joins_its_connection),
		cmocka_unit_test(test_open_connection_reported_at_finish),
		cmocka_unit_test(test_table_many),
	};

	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
