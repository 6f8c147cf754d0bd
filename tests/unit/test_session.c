// SPDX-License-Identifier: GPL-2.0
/*
 * Events -> session -> JSON output, end to end on recorded fixtures, and the
 * connection table underneath.
 */
#include <errno.h>
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

/* --- output selection, the summary, amendments ----------------------------------------- */

struct capture {
	char *buf;
	size_t len;
};

/* Feeds events into a session writing to memory; tick_every > 0 also runs the live clock. */
static void feed_all(struct capture *cap, const struct tl_event *ev, size_t n, enum out_format fmt,
		     const struct session_filter *f, bool print_events, uint64_t clock_after_ns)
{
	struct out o = { .format = fmt, .started = true };
	struct session s;

	memset(cap, 0, sizeof(*cap));
	o.f = open_memstream(&cap->buf, &cap->len);
	assert_int_equal(session_init(&s, &o), 0);
	if (f)
		session_set_filter(&s, f);
	s.print_events = print_events;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(session_feed(&s, &ev[i]), 0);
		/* The live clock, read a little after each event was delivered. */
		if (clock_after_ns)
			session_tick(&s, ev[i].ev.ts_ns + clock_after_ns);
	}
	session_finish(&s);
	fclose(o.f);
}

/*
 * The records of one type, in order, as compact JSON lines joined by '\n',
 * keys sorted; without `key` in each when it is not NULL.
 */
static char *records_but(const char *buf, const char *type, const char *key)
{
	char *copy = strdup(buf), *line, *save = NULL, *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		if (!strcmp(json_string_value(json_object_get(j, "type")), type)) {
			char *c;

			if (key)
				json_object_del(j, key);
			c = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
			fprintf(f, "%s\n", c);
			free(c);
		}
		json_decref(j);
	}
	fclose(f);
	free(copy);
	return out;
}

static char *records(const char *buf, const char *type)
{
	return records_but(buf, type, NULL);
}

static json_t *nth_record(const char *buf, const char *type, size_t n)
{
	char *recs = records(buf, type), *line, *save = NULL;
	json_t *j = NULL;

	for (line = strtok_r(recs, "\n", &save); line && !j; line = strtok_r(NULL, "\n", &save))
		if (!n--)
			j = json_loads(line, 0, NULL);
	free(recs);
	return j;
}

static size_t count_lines(const char *buf, const char *prefix)
{
	size_t n = 0, k = strlen(prefix);

	for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, prefix, k);
	return n;
}

/* What `report` does with a saved log: its events, read back, into a fresh session. */
static void replay(struct capture *out, const struct capture *log, const struct session_filter *f)
{
	struct fixture fx = { 0 };
	FILE *in = fmemopen(log->buf, log->len, "r");
	char err[256] = "";

	assert_non_null(in);
	assert_int_equal(reader_each_event(in, fixture_add, &fx, NULL, err, sizeof(err)), 0);
	fclose(in);
	feed_all(out, fx.ev, fx.n, OUT_JSON, f, false, 0);
	fixture_free(&fx);
}

/*
 * Recorded from a real late RST (tests/integration/outload.py late-rst, both
 * ends traced): the server closed first, its socket was destroyed, and 1.5 s
 * later its timewait sock answered the client's data with an RST.  The
 * verdict given at the linger's end is amended by a second record.
 */
static void test_late_timewait_rst_amends(void **state)
{
	struct fixture fx;
	struct capture cap;
	json_t *first, *second, *sum;

	(void)state;
	fixture_load(&fx, "session-late-timewait-rst.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_JSON, NULL, true, 0);
	first = nth_record(cap.buf, "connection", 0);
	second = nth_record(cap.buf, "connection", 2);
	assert_non_null(first);
	assert_non_null(second);
	assert_null(nth_record(cap.buf, "connection", 3));
	assert_int_equal(json_integer_value(json_object_get(first, "cookie")),
			 json_integer_value(json_object_get(second, "cookie")));
	assert_string_equal(str(first, "cause"), "orderly_close");
	assert_true(json_is_false(json_object_get(first, "amends")));
	assert_string_equal(str(second, "cause"), "reset_sent_data_after_close");
	assert_true(json_is_true(json_object_get(second, "amends")));
	/* The amended record carries the merged timeline: the first one's and the RST. */
	assert_int_equal(json_integer_value(json_object_get(second, "events")),
			 json_integer_value(json_object_get(first, "events")) + 1);
	/* The summary counts the connection once, under its amended verdict. */
	sum = nth_record(cap.buf, "summary", 0);
	assert_non_null(sum);
	assert_int_equal(json_integer_value(json_object_get(sum, "connections")), 2);
	assert_int_equal(json_integer_value(json_object_get(sum, "healthy")), 0);
	assert_int_equal(json_integer_value(json_object_get(sum, "amended")), 1);
	/* No connection of cookie 0: process events stay out of the table. */
	for (size_t i = 0; i < 3; i++) {
		json_t *c = nth_record(cap.buf, "connection", i);

		assert_true(json_integer_value(json_object_get(c, "cookie")) != 0);
		json_decref(c);
	}
	json_decref(first);
	json_decref(second);
	json_decref(sum);
	free(cap.buf);
	fixture_free(&fx);
}

static void abnormal_only(json_t *sum)
{
	static const char *const healthy_counts[] = { "connections", "healthy", "incomplete",
						      "lost",	     "midlife", "still_open" };
	json_t *rows = json_object_get(sum, "causes");

	for (size_t i = 0; i < sizeof(healthy_counts) / sizeof(healthy_counts[0]); i++)
		json_object_del(sum, healthy_counts[i]);
	for (size_t i = json_array_size(rows); i-- > 0;) {
		const char *cause =
			json_string_value(json_object_get(json_array_get(rows, i), "cause"));

		if (!strcmp(cause, "orderly_close") || !strcmp(cause, "open"))
			json_array_remove(rows, i);
	}
}

/*
 * Live equals report: the live clock (ticks at every delivery, or none at
 * all) and a replay of the written log give the same connection records and
 * the same summary, with every filter.
 */
static void test_live_equals_report(void **state)
{
	static const char *const names[] = { "session-late-timewait-rst.jsonl",
					     "repro-fin-then-rst-both.jsonl",
					     "repro-peer-crash-both.jsonl", "py-orderly.jsonl" };
	struct session_filter filters[3] = { { 0 }, { .errors_only = true }, { .nports = 1 } };

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct fixture fx;

		fixture_load(&fx, names[k]);
		/* A port of the fixture's, so that the filter keeps some and drops others. */
		for (size_t e = fx.n; e-- > 0;)
			if (fx.ev[e].ev.sport)
				filters[2].ports[0] = fx.ev[e].ev.sport;
		for (size_t i = 0; i < 3; i++) {
			struct capture live, quiet, rep;
			char *a, *b, *c;

			feed_all(&live, fx.ev, fx.n, OUT_JSON, &filters[i], true, 5000000);
			feed_all(&quiet, fx.ev, fx.n, OUT_JSON, &filters[i], true, 0);
			replay(&rep, &live, &filters[i]);
			a = records(live.buf, "connection");
			b = records(rep.buf, "connection");
			c = records(quiet.buf, "connection");
			assert_string_equal(a, b);
			assert_string_equal(a, c);
			free(a);
			free(b);
			/* A filtered log holds fewer events: all else in the summary agrees. */
			a = records(live.buf, "summary");
			b = records(rep.buf, "summary");
			if (i) {
				json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);

				json_object_del(x, "events");
				json_object_del(y, "events");
				/* --errors-only: healthy connections are not in the log at all. */
				if (filters[i].errors_only) {
					abnormal_only(x);
					abnormal_only(y);
				}
				if (!json_equal(x, y))
					fail_msg("%s, filter %zu:\n%s\n%s", names[k], i, a, b);
				json_decref(x);
				json_decref(y);
			} else {
				assert_string_equal(a, b);
			}
			free(a);
			free(b);
			free(c);
			free(live.buf);
			free(quiet.buf);
			free(rep.buf);
		}
		fixture_free(&fx);
	}
}

/* --errors-only: healthy connections leave no record and no event; abnormal ones both. */
static void test_errors_only_keeps_events_of_abnormal(void **state)
{
	struct session_filter f = { .errors_only = true };
	struct fixture fx;
	struct capture cap;
	json_t *c;

	(void)state;
	fixture_load(&fx, "py-orderly.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_JSON, &f, true, 0);
	assert_null(nth_record(cap.buf, "connection", 0));
	assert_null(nth_record(cap.buf, "event", 0) ? (void *)1 : NULL);
	free(cap.buf);
	fixture_free(&fx);

	fixture_load(&fx, "repro-fin-then-rst.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_JSON, &f, true, 0);
	c = nth_record(cap.buf, "connection", 0);
	assert_non_null(c);
	assert_string_equal(str(c, "cause"), "reset_after_peer_fin");
	/* Every event of the connection was written, before its record. */
	{
		char *ev = records(cap.buf, "event");
		size_t n = count_lines(ev, "{");

		assert_true(n >= (size_t)json_integer_value(json_object_get(c, "events")));
		assert_true(strstr(cap.buf, "\"type\":\"event\"") <
			    strstr(cap.buf, "\"type\":\"connection\""));
		free(ev);
	}
	json_decref(c);
	free(cap.buf);
	fixture_free(&fx);
}

/* --port: a port neither end uses selects nothing; the local or the remote one selects. */
static void test_port_filter(void **state)
{
	struct session_filter f = { .nports = 1, .ports = { 1 } };
	struct fixture fx;
	struct capture cap;
	json_t *c, *sum;
	uint16_t sport, dport;

	(void)state;
	fixture_load(&fx, "repro-fin-then-rst.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_JSON, &f, true, 0);
	assert_null(nth_record(cap.buf, "connection", 0));
	assert_null(strstr(cap.buf, "\"type\":\"event\""));
	sum = nth_record(cap.buf, "summary", 0);
	assert_int_equal(json_integer_value(json_object_get(sum, "connections")), 0);
	json_decref(sum);
	free(cap.buf);

	feed_all(&cap, fx.ev, fx.n, OUT_JSON, NULL, true, 0);
	c = nth_record(cap.buf, "connection", 0);
	sport = json_integer_value(json_object_get(c, "sport"));
	dport = json_integer_value(json_object_get(c, "dport"));
	json_decref(c);
	free(cap.buf);
	for (int i = 0; i < 2; i++) {
		f.ports[0] = i ? dport : sport;
		feed_all(&cap, fx.ev, fx.n, OUT_JSON, &f, true, 0);
		c = nth_record(cap.buf, "connection", 0);
		assert_non_null(c);
		json_decref(c);
		free(cap.buf);
	}
	fixture_free(&fx);
}

/* Text: healthy connections are counted, not printed, unless --all. */
static void test_text_counts_healthy(void **state)
{
	struct session_filter all = { .all = true };
	struct fixture fx;
	struct capture cap;

	(void)state;
	fixture_load(&fx, "py-orderly.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_TEXT, NULL, true, 0);
	assert_int_equal(count_lines(cap.buf, "connection "), 0);
	assert_non_null(strstr(cap.buf, "# summary: 1 connections, 1 healthy, 0 abnormal"));
	assert_non_null(strstr(cap.buf, "# summary:   orderly_close: 1"));
	free(cap.buf);
	feed_all(&cap, fx.ev, fx.n, OUT_TEXT, &all, true, 0);
	assert_int_equal(count_lines(cap.buf, "connection "), 1);
	free(cap.buf);
	fixture_free(&fx);

	/* The amendment of a verdict that was only counted says so. */
	fixture_load(&fx, "session-late-timewait-rst.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_TEXT, NULL, true, 0);
	assert_int_equal(count_lines(cap.buf, "connection "), 2);
	assert_non_null(strstr(cap.buf, "(amends an earlier orderly_close verdict)"));
	/* Process events: one '#' line each; names only for tasks that matter. */
	assert_non_null(strstr(cap.buf, "exited (killed by SIGKILL)"));
	assert_non_null(strstr(cap.buf, "[softirq/timer]"));
	assert_non_null(strstr(cap.buf, "[in python3/"));
	free(cap.buf);
	feed_all(&cap, fx.ev, fx.n, OUT_TEXT, &all, true, 0);
	assert_non_null(strstr(cap.buf, "(amends the verdict above)"));
	free(cap.buf);
	fixture_free(&fx);
}

/* The summary's table: rows by (cause, errno), top peers, first and last seen. */
static void test_summary_table(void **state)
{
	struct fixture fx;
	struct capture cap;
	json_t *sum, *rows, *row;
	size_t i;
	int found = 0;

	(void)state;
	fixture_load(&fx, "repro-peer-crash-both.jsonl");
	feed_all(&cap, fx.ev, fx.n, OUT_JSON, NULL, true, 0);
	sum = nth_record(cap.buf, "summary", 0);
	assert_non_null(sum);
	assert_true(json_is_true(json_object_get(sum, "final")));
	rows = json_object_get(sum, "causes");
	json_array_foreach(rows, i, row)
	{
		json_t *peers = json_object_get(row, "peers");

		assert_true(json_integer_value(json_object_get(row, "first_ns")) <=
			    json_integer_value(json_object_get(row, "last_ns")));
		if (!strcmp(str(row, "cause"), "peer_reset")) {
			found++;
			assert_string_equal(str(row, "errno"), "ECONNRESET");
			assert_int_equal(json_integer_value(json_object_get(row, "count")), 1);
			assert_int_equal(json_array_size(peers), 1);
			assert_string_equal(str(json_array_get(peers, 0), "addr"), "127.0.0.1");
		}
	}
	assert_int_equal(found, 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "connections")), 2);
	json_decref(sum);
	free(cap.buf);
	fixture_free(&fx);
}

/* Many peers, few slots: the heaviest stay on top (Space-Saving). */
static void test_summary_top_peers(void **state)
{
	struct fixture fx;
	struct tl_event *ev;
	struct capture cap;
	json_t *sum, *peers;
	size_t n = 0;

	(void)state;
	fixture_load(&fx, "repro-peer-crash.jsonl");
	ev = calloc(fx.n * 200, sizeof(*ev));
	/* 200 copies: 100 to port 7001, 50 to 7002, 50 to 50 ports of one each. */
	for (uint64_t k = 0; k < 200; k++)
		for (size_t i = 0; i < fx.n; i++) {
			ev[n] = fx.ev[i];
			ev[n].seq = 0;
			ev[n].ev.cookie += 1000000 * (k + 1);
			ev[n].ev.dport = k < 100 ? 7001 : k < 150 ? 7002 : 8000 + k;
			ev[n].ev.ts_ns += k * 1000;
			n++;
		}
	feed_all(&cap, ev, n, OUT_JSON, NULL, false, 0);
	sum = nth_record(cap.buf, "summary", 0);
	peers = json_object_get(json_array_get(json_object_get(sum, "causes"), 0), "peers");
	assert_int_equal(json_array_size(peers), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(peers, 0), "port")),
			 7001);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(peers, 1), "port")),
			 7002);
	assert_true(json_integer_value(json_object_get(json_array_get(peers, 0), "count")) >= 100);
	json_decref(sum);
	free(cap.buf);
	free(ev);
	fixture_free(&fx);
}

/*
 * Room for TA_KEEP_MAX concluded connections: beyond that the oldest are let
 * go (counted), and a late RST for one of them is a connection of its own.
 */
static void test_kept_connections_are_bounded(void **state)
{
	const size_t copies = TA_KEEP_MAX + 904;
	struct fixture fx;
	struct tl_event *ev, late = { 0 };
	struct capture cap;
	json_t *sum, *last;
	size_t n = 0, per = 0;

	(void)state;
	fixture_load(&fx, "session-late-timewait-rst.jsonl");
	ev = calloc(fx.n * copies + 1, sizeof(*ev));
	for (size_t i = 0; i < fx.n; i++)
		if (fx.ev[i].ev.cookie == 2178 && fx.ev[i].ev.kind == TA_EV_RST_SENT)
			late = fx.ev[i];
	assert_int_equal(late.ev.kind, TA_EV_RST_SENT);
	for (uint64_t k = 0; k < copies; k++)
		for (size_t i = 0; i < fx.n; i++) {
			if (fx.ev[i].ev.cookie != 2178 || fx.ev[i].ev.kind == TA_EV_RST_SENT)
				continue;
			ev[n] = fx.ev[i];
			ev[n].seq = 0;
			ev[n].ev.cookie += 1000000 * k;
			ev[n].ev.ts_ns += k * 1000;
			n++;
			per += !k;
		}
	late.seq = 0;
	ev[n++] = late; /* for copy 0, the oldest: let go by then */
	feed_all(&cap, ev, n, OUT_JSON, NULL, false, 0);
	sum = nth_record(cap.buf, "summary", 0);
	assert_int_equal(json_integer_value(json_object_get(sum, "kept_evicted")), 904);
	assert_int_equal(json_integer_value(json_object_get(sum, "amended")), 0);
	last = nth_record(cap.buf, "connection", copies);
	assert_non_null(last);
	assert_true(json_is_false(json_object_get(last, "amends")));
	assert_int_equal(json_integer_value(json_object_get(last, "events")), 1);
	assert_true(json_is_false(json_object_get(last, "complete")));
	assert_true(per > 3);
	json_decref(sum);
	json_decref(last);
	free(cap.buf);
	free(ev);
	fixture_free(&fx);
}

/* --- bounded history, merged batches, what deferred output writes ---------------------- */

/*
 * repro-fin-then-rst with n sends after the peer's FIN, numbered 1.. in
 * order (process events left out): a long abnormal connection.
 */
static struct fixture long_fin_then_rst(size_t n)
{
	struct fixture fx, out = { 0 };
	uint64_t tx = 0;
	bool after = false; /* past the sends made up here */

	fixture_load(&fx, "repro-fin-then-rst.jsonl");
	for (size_t i = 0; i < fx.n; i++) {
		struct tl_event e = fx.ev[i];

		if (e.ev.kind == TA_EV_PROC)
			continue;
		if (after) {
			e.ev.ts_ns += (n + 1) * 1000;
			e.ev.tx_bytes += tx;
		}
		fixture_add(&e, &out);
		if (e.ev.kind == TA_EV_STATE && e.ev.b == TA_TCP_CLOSE_WAIT && !after) {
			after = true;
			for (size_t k = 0; k < n; k++) {
				struct tl_event s = e;

				s.ev.kind = TA_EV_SEND;
				s.ev.a = 10;
				s.ev.b = s.ev.c = 0;
				s.ev.ts_ns = e.ev.ts_ns + (k + 1) * 1000;
				s.ev.tx_bytes += (tx += 10);
				s.ev.state = TA_TCP_CLOSE_WAIT;
				fixture_add(&s, &out);
			}
		}
	}
	fixture_free(&fx);
	for (size_t i = 0; i < out.n; i++)
		out.ev[i].seq = i + 1;
	return out;
}

/* How often each seq of a cookie was written as an event record (seq < max). */
static void count_written(const char *buf, uint64_t cookie, unsigned int *times, size_t max)
{
	char *ev = records(buf, "event"), *line, *save = NULL;

	memset(times, 0, max * sizeof(*times));
	for (line = strtok_r(ev, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		uint64_t seq = json_integer_value(json_object_get(j, "seq"));

		if ((uint64_t)json_integer_value(json_object_get(j, "cookie")) == cookie) {
			assert_true(seq < max);
			times[seq]++;
		}
		json_decref(j);
	}
	free(ev);
}

/*
 * A long connection, trimmed: deferred output (--errors-only) writes each
 * event it still holds once, just those, and the record counts them; the
 * plain log writes every event as it comes.  Either log, replayed, gives
 * the same connection record.
 */
static void test_long_connection_written_once(void **state)
{
	struct session_filter filters[2] = { { .errors_only = true }, { 0 } };
	const size_t lengths[2] = { 100000, 3000 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct fixture fx = long_fin_then_rst(lengths[i]);
		struct conn_table ct;
		struct conn *c = NULL;
		struct capture live, rep;
		unsigned int *times = calloc(fx.n + 1, sizeof(*times));
		size_t written = 0;
		json_t *rec;
		char *a, *b;

		/* What the table holds for it, trimmed to the bound as the verdict is. */
		assert_int_equal(ct_init(&ct), 0);
		for (size_t k = 0; k < fx.n; k++)
			c = ct_feed(&ct, &fx.ev[k]);
		assert_non_null(c);
		ct_trim(c);
		assert_true(c->trimmed > 0);
		assert_true(c->n <= TA_HIST_MAX);

		feed_all(&live, fx.ev, fx.n, OUT_JSON, &filters[i], true, 0);
		rec = nth_record(live.buf, "connection", 0);
		assert_non_null(rec);
		assert_string_equal(str(rec, "cause"), "reset_after_peer_fin");
		assert_int_equal(json_integer_value(json_object_get(rec, "events")), c->n);
		count_written(live.buf, c->cookie, times, fx.n + 1);
		for (size_t k = 1; k <= fx.n; k++) {
			assert_true(times[k] <= 1); /* never twice */
			written += times[k];
		}
		if (filters[i].errors_only) {
			/* Exactly the events held: none skipped beyond what was trimmed. */
			assert_int_equal(written, fx.n - c->trimmed);
			for (size_t k = 0; k < c->n; k++)
				assert_int_equal(times[c->ev[k].seq], 1);
		} else {
			assert_int_equal(written, fx.n);
		}
		replay(&rep, &live, &filters[i]);
		if (filters[i].errors_only) {
			/*
			 * events_trimmed counts what the reader itself dropped: the
			 * live run dropped them before writing the deferred log, so its
			 * replay never sees them.  Everything else is the same.
			 */
			json_t *r = nth_record(rep.buf, "connection", 0);

			assert_int_equal(json_integer_value(json_object_get(rec, "events_trimmed")),
					 c->trimmed);
			assert_int_equal(json_integer_value(json_object_get(r, "events_trimmed")),
					 0);
			json_decref(r);
			a = records_but(live.buf, "connection", "events_trimmed");
			b = records_but(rep.buf, "connection", "events_trimmed");
		} else {
			a = records(live.buf, "connection");
			b = records(rep.buf, "connection");
		}
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(rec);
		free(live.buf);
		free(rep.buf);
		free(times);
		ct_free(&ct);
		fixture_free(&fx);
	}
}

/*
 * An event older than some already written (a batch after the verdict):
 * with deferred output it goes out once, when it comes; the amended record
 * counts it, and every event of the connection is written exactly once.
 */
static void test_older_event_after_verdict_written_once(void **state)
{
	struct session_filter filters[2] = { { .nports = 1, .ports = { 41617 } },
					     { .errors_only = true } };
	struct fixture fx;
	struct tl_event *ev, old = { 0 };
	unsigned int times[200];
	size_t n = 0;

	(void)state;
	fixture_load(&fx, "session-late-timewait-rst.jsonl");
	ev = calloc(fx.n + 1, sizeof(*ev));
	for (size_t i = 0; i < fx.n; i++) {
		ev[n++] = fx.ev[i];
		/* After the timewait sock's RST: the verdict is out, an amendment pending. */
		if (fx.ev[i].ev.cookie == 2178 && fx.ev[i].ev.kind == TA_EV_RST_SENT) {
			for (size_t k = 0; k < fx.n; k++)
				if (fx.ev[k].ev.cookie == 2178 && fx.ev[k].ev.kind == TA_EV_RECV)
					old = fx.ev[k];
			assert_int_equal(old.ev.kind, TA_EV_RECV);
			old.seq = 100;
			old.ev.ts_ns += 1000; /* after that recv, before the close */
			old.ev.a = -EAGAIN;
			ev[n++] = old;
		}
	}
	for (size_t f = 0; f < 2; f++) {
		struct capture cap;
		json_t *last;
		size_t held = 0, amended = 0;

		feed_all(&cap, ev, n, OUT_JSON, &filters[f], true, 0);
		count_written(cap.buf, 2178, times, 200);
		for (size_t i = 0; i < n; i++)
			if (ev[i].ev.cookie == 2178) {
				assert_int_equal(times[ev[i].seq], 1);
				held++;
			}
		for (size_t i = 0; i < 200; i++)
			assert_true(times[i] <= 1);
		for (size_t i = 0; (last = nth_record(cap.buf, "connection", i)); i++) {
			if (json_integer_value(json_object_get(last, "cookie")) == 2178 &&
			    json_is_true(json_object_get(last, "amends"))) {
				assert_int_equal(
					json_integer_value(json_object_get(last, "events")), held);
				amended++;
			}
			json_decref(last);
		}
		assert_int_equal(amended, 1);
		free(cap.buf);
	}
	free(ev);
	fixture_free(&fx);
}

/*
 * Lingering for a timewait sock, then older events come in that show there
 * is none (an RST before the destroy): the verdict no longer waits for the
 * timewait sock, only, as it would have in order, for the peer_rst of a
 * local sender (TA_PEER_RST_WAIT_NS).
 */
static void test_linger_ends_when_older_events_show_no_timewait(void **state)
{
	struct fixture fx;
	struct tl_event rst = { 0 };
	struct out o = { .format = OUT_JSON, .started = true };
	struct session s;
	struct capture cap = { 0 };
	uint64_t cookie = 0;
	json_t *c;

	(void)state;
	fixture_load(&fx, "py-orderly.jsonl");
	o.f = open_memstream(&cap.buf, &cap.len);
	assert_int_equal(session_init(&s, &o), 0);
	for (size_t i = 0; i < fx.n; i++) {
		const struct tl_event *e = &fx.ev[i];

		assert_int_equal(session_feed(&s, e), 0);
		/* An RST received after FIN_WAIT2 -> CLOSE, before the destroy. */
		if (e->ev.kind == TA_EV_STATE && e->ev.b == TA_TCP_CLOSE) {
			rst = *e;
			rst.seq = 0;
			rst.ev.kind = TA_EV_RST_RECV;
			rst.ev.a = rst.ev.b = 0;
			rst.ev.ts_ns += 1;
			cookie = e->ev.cookie;
		}
	}
	assert_int_equal(rst.ev.kind, TA_EV_RST_RECV);
	/* Handed to a timewait sock, as far as the session knows: it waits. */
	assert_non_null(ct_find(&s.conns, cookie));
	assert_true(ct_find(&s.conns, cookie)->timewait);
	assert_int_equal(session_feed(&s, &rst), 0);
	/*
	 * No timewait sock to wait for any more, but an RST that came with no
	 * peer_rst: like in order, it waits TA_PEER_RST_WAIT_NS for the local
	 * sender's record, not the timewait linger.
	 */
	assert_non_null(ct_find(&s.conns, cookie));
	assert_false(ct_find(&s.conns, cookie)->timewait);
	session_tick(&s, ct_find(&s.conns, cookie)->end_ns + TA_PEER_RST_WAIT_NS +
				 TA_CLOCK_SLACK_NS + 1);
	/* Concluded and gone, long before the timewait deadline. */
	assert_true(TA_PEER_RST_WAIT_NS < TA_TIMEWAIT_LINGER_NS);
	assert_null(ct_find(&s.conns, cookie));
	fflush(o.f);
	c = nth_record(cap.buf, "connection", 0);
	assert_non_null(c);
	assert_int_equal(json_integer_value(json_object_get(c, "cookie")), cookie);
	assert_int_equal(json_integer_value(json_object_get(c, "events")), fx.n + 1);
	json_decref(c);
	session_finish(&s);
	fclose(o.f);
	free(cap.buf);
	fixture_free(&fx);
}

/*
 * On loopback the sender's tcp_send_reset can be recorded after the
 * receiver has read the error, closed and destroyed its socket (seen on
 * 6.18 at churn): a peer_rst that arrives after the destroy still joins its
 * connection, whose verdict waits TA_PEER_RST_WAIT_NS for it, and there is
 * one record, not a second "unknown" one for the late event.
 */
static void test_peer_rst_after_destroy_joins(void **state)
{
	const char *files[] = { "repro-peer-crash-both.jsonl", "repro-fin-then-rst-both.jsonl" };

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct fixture fx;
		struct tl_event *ev, late = { 0 };
		struct capture in_order, moved;
		uint64_t cookie = 0, destroy_ns = 0;
		size_t n = 0;
		json_t *a, *b;

		fixture_load(&fx, files[f]);
		for (size_t i = 0; i < fx.n; i++)
			if (fx.ev[i].ev.kind == TA_EV_PEER_RST)
				late = fx.ev[i], cookie = fx.ev[i].ev.cookie;
		assert_int_equal(late.ev.kind, TA_EV_PEER_RST);
		for (size_t i = 0; i < fx.n; i++)
			if (fx.ev[i].ev.cookie == cookie && fx.ev[i].ev.kind == TA_EV_DESTROY)
				destroy_ns = fx.ev[i].ev.ts_ns;
		assert_true(destroy_ns > 0);
		/* The peer_rst moved to just after its connection's destroy, in time and order. */
		ev = calloc(fx.n, sizeof(*ev));
		for (size_t i = 0; i < fx.n; i++) {
			if (fx.ev[i].ev.kind == TA_EV_PEER_RST)
				continue;
			ev[n++] = fx.ev[i];
			if (fx.ev[i].ev.cookie == cookie && fx.ev[i].ev.kind == TA_EV_DESTROY) {
				ev[n] = late;
				ev[n++].ev.ts_ns = destroy_ns + 10000;
			}
		}
		assert_int_equal(n, fx.n);
		feed_all(&in_order, fx.ev, fx.n, OUT_JSON, NULL, false, 0);
		feed_all(&moved, ev, n, OUT_JSON, NULL, false, 0);
		/* As many records, none unknown, and the late peer_rst in its connection's. */
		assert_int_equal(count_lines(moved.buf, "{\"type\":\"connection\""),
				 count_lines(in_order.buf, "{\"type\":\"connection\""));
		for (size_t k = 0; (b = nth_record(moved.buf, "connection", k)); k++) {
			assert_string_not_equal(str(b, "cause"), "unknown");
			if (json_integer_value(json_object_get(b, "cookie")) ==
			    (json_int_t)cookie) {
				for (size_t j = 0; (a = nth_record(in_order.buf, "connection", j));
				     j++) {
					if (json_integer_value(json_object_get(a, "cookie")) ==
					    (json_int_t)cookie)
						assert_string_equal(str(b, "cause"),
								    str(a, "cause"));
					json_decref(a);
				}
				char *d = json_dumps(json_object_get(b, "evidence"), 0);

				assert_non_null(d);
				assert_non_null(strstr(d, "peer_rst"));
				free(d);
			}
			json_decref(b);
		}
		free(in_order.buf);
		free(moved.buf);
		free(ev);
		fixture_free(&fx);
	}
}

static void test_parse_ports(void **state)
{
	struct session_filter f = { 0 };

	(void)state;
	assert_true(session_parse_ports(&f, "80"));
	assert_true(session_parse_ports(&f, "443,8080"));
	assert_int_equal(f.nports, 3);
	assert_int_equal(f.ports[2], 8080);
	assert_false(session_parse_ports(&f, ""));
	assert_false(session_parse_ports(&f, "0"));
	assert_false(session_parse_ports(&f, "65536"));
	assert_false(session_parse_ports(&f, "80,"));
	assert_false(session_parse_ports(&f, "8x"));
	assert_false(session_parse_ports(&f, "-1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fin_then_rst_json),
		cmocka_unit_test(test_timewait_rst_joins_its_connection),
		cmocka_unit_test(test_open_connection_reported_at_finish),
		cmocka_unit_test(test_table_many),
		cmocka_unit_test(test_late_timewait_rst_amends),
		cmocka_unit_test(test_live_equals_report),
		cmocka_unit_test(test_errors_only_keeps_events_of_abnormal),
		cmocka_unit_test(test_port_filter),
		cmocka_unit_test(test_text_counts_healthy),
		cmocka_unit_test(test_summary_table),
		cmocka_unit_test(test_summary_top_peers),
		cmocka_unit_test(test_kept_connections_are_bounded),
		cmocka_unit_test(test_long_connection_written_once),
		cmocka_unit_test(test_older_event_after_verdict_written_once),
		cmocka_unit_test(test_linger_ends_when_older_events_show_no_timewait),
		cmocka_unit_test(test_peer_rst_after_destroy_joins),
		cmocka_unit_test(test_parse_ports),
	};

	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
