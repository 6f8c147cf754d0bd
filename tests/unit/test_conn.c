// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table underneath the rules: events merged in time order
 * whatever order they arrive in (a flight recorder's batch after events
 * streamed early), and a bounded history that decides as the whole one.
 */
#include <errno.h>

#include "fixture.h"

#define STEP_NS 1000 /* between two records made up here */

/* --- building timelines ---------------------------------------------------------------- */

/* A fixture's events without process events, numbered 1.. in order. */
static void load_socket_events(struct fixture *fx, const char *name)
{
	struct fixture all;

	fixture_load(&all, name);
	memset(fx, 0, sizeof(*fx));
	for (size_t i = 0; i < all.n; i++)
		if (all.ev[i].ev.kind != TA_EV_PROC)
			fixture_add(&all.ev[i], fx);
	fixture_free(&all);
}

static void renumber(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n; i++)
		fx->ev[i].seq = i + 1;
}

enum pattern {
	PAT_RECV_EAGAIN, /* recv of 100 bytes, recv EAGAIN, in turn */
	PAT_SEND_EAGAIN, /* send of 100 bytes, recv EAGAIN, in turn */
	PAT_SEND_EOF,	 /* sends of 100 bytes; in the middle, one recv returns 0 */
};

/*
 * n I/O records of a pattern inserted after fx->ev[after], in the state
 * given, STEP_NS apart: the events after them are moved later and carry the
 * bytes the new records moved, as the kernel's counters would.  mark (if
 * not 0) is made a getsockopt(SO_ERROR) returning 0 with argument mark, in
 * the middle: a syscall seen once.
 */
static void inflate(struct fixture *fx, size_t after, size_t n, enum pattern pat,
		    unsigned int state, int mark)
{
	struct fixture out = { 0 };
	const struct tl_event base = fx->ev[after];
	uint64_t tx = 0, rx = 0;

	for (size_t i = 0; i <= after; i++)
		fixture_add(&fx->ev[i], &out);
	for (size_t k = 0; k < n; k++) {
		struct tl_event e = base;
		bool data = k % 2 == 0;

		e.rst = TA_RST_NONE;
		e.rst_name[0] = 0;
		e.ev.ts_ns = base.ev.ts_ns + (k + 1) * STEP_NS;
		e.ev.state = state;
		e.ev.flags &= ~TA_F_SOFTIRQ;
		e.ev.task_tgid = e.ev.owner_tgid;
		e.ev.aux = e.ev.b = e.ev.c = 0;
		e.ev.probes = 0;
		e.ev.peer_cookie = 0;
		switch (pat) {
		case PAT_RECV_EAGAIN:
			e.ev.kind = TA_EV_RECV;
			e.ev.a = data ? 100 : -EAGAIN;
			rx += data ? 100 : 0;
			break;
		case PAT_SEND_EAGAIN:
			e.ev.kind = data ? TA_EV_SEND : TA_EV_RECV;
			e.ev.a = data ? 100 : -EAGAIN;
			tx += data ? 100 : 0;
			break;
		case PAT_SEND_EOF:
			data = k != n / 2;
			e.ev.kind = data ? TA_EV_SEND : TA_EV_RECV;
			e.ev.a = data ? 100 : 0;
			tx += data ? 100 : 0;
			break;
		}
		if (mark && k == n / 2 + 1) {
			e.ev.kind = TA_EV_SYSCALL;
			e.ev.a = 0;
			e.ev.b = TA_SYS_SO_ERROR;
			e.ev.c = mark;
		}
		e.ev.tx_bytes += tx;
		e.ev.rx_bytes += rx;
		fixture_add(&e, &out);
	}
	for (size_t i = after + 1; i < fx->n; i++) {
		struct tl_event e = fx->ev[i];

		e.ev.ts_ns += (n + 1) * STEP_NS;
		e.ev.tx_bytes += tx;
		e.ev.rx_bytes += rx;
		fixture_add(&e, &out);
	}
	fixture_free(fx);
	*fx = out;
	renumber(fx);
}

/* The index of the first event of a kind (and, for states, of a move to `to`). */
static size_t index_of(const struct fixture *fx, unsigned int kind, int to)
{
	for (size_t i = 0; i < fx->n; i++)
		if (fx->ev[i].ev.kind == kind && (kind != TA_EV_STATE || fx->ev[i].ev.b == to))
			return i;
	fail_msg("no event of kind %u", kind);
	return 0;
}

static void feed_in_order(struct conn_table *ct, const struct fixture *fx)
{
	assert_int_equal(ct_init(ct), 0);
	for (size_t i = 0; i < fx->n; i++)
		assert_non_null(ct_feed(ct, &fx->ev[i]));
}

/*
 * As the flight recorder may deliver them: each socket's RSTs and destroy
 * streamed first, then everything else, oldest first (a batch).
 */
static bool streamed(const struct tl_event *e)
{
	return e->ev.kind == TA_EV_DESTROY || e->ev.kind == TA_EV_PEER_RST ||
	       e->ev.kind == TA_EV_RST_RECV || e->ev.kind == TA_EV_RST_SENT;
}

static void feed_streamed_first(struct conn_table *ct, const struct fixture *fx)
{
	assert_int_equal(ct_init(ct), 0);
	for (size_t i = 0; i < fx->n; i++)
		if (streamed(&fx->ev[i]))
			assert_non_null(ct_feed(ct, &fx->ev[i]));
	for (size_t i = 0; i < fx->n; i++)
		if (!streamed(&fx->ev[i]))
			assert_non_null(ct_feed(ct, &fx->ev[i]));
}

/* Newest first: every event is older than all before it. */
static void feed_reversed(struct conn_table *ct, const struct fixture *fx)
{
	assert_int_equal(ct_init(ct), 0);
	for (size_t i = fx->n; i-- > 0;)
		assert_non_null(ct_feed(ct, &fx->ev[i]));
}

/* The whole timeline of one cookie, untrimmed: what the rules would see without a bound. */
static struct conn whole(const struct conn *c, const struct fixture *fx, struct fixture *keep)
{
	struct conn w = *c;

	memset(keep, 0, sizeof(*keep));
	for (size_t i = 0; i < fx->n; i++)
		if (fx->ev[i].ev.cookie == c->cookie)
			fixture_add(&fx->ev[i], keep);
	w.ev = keep->ev;
	w.n = w.cap = keep->n;
	return w;
}

/* Same verdict, word for word, citing the same events (by time and kind). */
static void assert_same_verdict(const struct conn *ca, const struct verdict *va,
				const struct conn *cb, const struct verdict *vb)
{
	assert_non_null(va->cause);
	assert_non_null(vb->cause);
	assert_string_equal(va->cause->id, vb->cause->id);
	assert_int_equal(va->err, vb->err);
	assert_int_equal(va->complete, vb->complete);
	assert_string_equal(va->sentence, vb->sentence);
	assert_string_equal(va->missing, vb->missing);
	assert_int_equal(va->next.known, vb->next.known);
	assert_int_equal(va->next.recv, vb->next.recv);
	assert_int_equal(va->next.send, vb->next.send);
	assert_int_equal(va->next.sigpipe, vb->next.sigpipe);
	assert_int_equal(va->next.so_error, vb->next.so_error);
	assert_int_equal(va->nevidence, vb->nevidence);
	for (size_t i = 0; i < va->nevidence; i++) {
		const struct ta_event *a = &ca->ev[va->evidence[i].idx].ev;
		const struct ta_event *b = &cb->ev[vb->evidence[i].idx].ev;

		assert_string_equal(va->evidence[i].why, vb->evidence[i].why);
		assert_int_equal(a->ts_ns, b->ts_ns);
		assert_int_equal(a->kind, b->kind);
	}
}

/* The bound holds, and every event fed is either held or counted as trimmed. */
static void assert_bounded(const struct conn *c, size_t fed)
{
	assert_true(c->n <= TA_HIST_MAX);
	assert_true(c->cap <= TA_HIST_MAX);
	assert_int_equal(c->n + c->trimmed, fed);
	for (size_t i = 1; i < c->n; i++)
		assert_true(c->ev[i - 1].ev.ts_ns <= c->ev[i].ev.ts_ns);
}

static bool holds(const struct conn *c, uint64_t seq)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->ev[i].seq == seq)
			return true;
	return false;
}

/* --- ordered merge --------------------------------------------------------------------- */

/* Older events go after the last one no newer; equal stamps keep their arrival order. */
static void test_merge_stable(void **state)
{
	static const uint64_t ts[] = { 10, 30, 20, 20, 5, 30, 20 };
	static const uint64_t want[] = { 5, 1, 3, 4, 7, 2, 6 }; /* seqs, in the order held */
	struct conn_table ct;
	struct tl_event e = { 0 };
	struct conn *c = NULL;

	(void)state;
	assert_int_equal(ct_init(&ct), 0);
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		e.seq = i + 1;
		e.ev.cookie = 7;
		e.ev.kind = TA_EV_SEND;
		e.ev.ts_ns = ts[i];
		e.ev.owner_tgid = e.ev.task_tgid = 42;
		snprintf(e.ev.comm, sizeof(e.ev.comm), "t%zu", i + 1);
		c = ct_feed(&ct, &e);
		assert_non_null(c);
		assert_int_equal(c->ev[c->fed_at].seq, i + 1);
	}
	assert_int_equal(c->n, 7);
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(c->ev[i].seq, want[i]);
	/* Named by the newest event in the owner's context, not the last to arrive. */
	assert_string_equal(c->thread, "t6");
	assert_string_equal(c->comm, "t6");
	ct_free(&ct);
}

/* A connection table fed two ways holds the same timelines and decides alike. */
static void assert_same_tables(struct conn_table *a, struct conn_table *b, const struct fixture *fx)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < fx->n; i++) {
		struct conn *x = ct_find(a, fx->ev[i].ev.cookie);
		struct conn *y = ct_find(b, fx->ev[i].ev.cookie);
		struct verdict vx, vy;

		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(x->n, y->n);
		for (size_t k = 0; k < x->n; k++)
			assert_int_equal(x->ev[k].seq, y->ev[k].seq);
		assert_int_equal(x->ended, y->ended);
		assert_int_equal(x->end_ns, y->end_ns);
		assert_int_equal(x->timewait, y->timewait);
		assert_int_equal(x->midlife, y->midlife);
		assert_int_equal(x->listener, y->listener);
		assert_int_equal(x->lost, y->lost);
		assert_int_equal(x->owner, y->owner);
		assert_string_equal(x->comm, y->comm);
		assert_string_equal(x->thread, y->thread);
		assert_int_equal(x->trimmed, y->trimmed);
		if (x->listener)
			continue;
		ta_decide(x, &vx);
		ta_decide(y, &vy);
		assert_same_verdict(x, &vx, y, &vy);
	}
}

/*
 * Recorded runs fed as a flight recorder may deliver them (RSTs and the
 * destroy first, then the older rest), and newest first: the same timelines,
 * ended, timewait and verdicts as fed in order.
 */
static void test_out_of_order_fixtures(void **state)
{
	static const char *const names[] = {
		"repro-fin-then-rst.jsonl",
		"repro-peer-crash-both.jsonl",
		"py-orderly.jsonl",
		"session-late-timewait-rst.jsonl",
		"repro-linger2.jsonl",
		"repro-owner-killed-both.jsonl",
		"repro-data-after-close.jsonl",
		"py-two-children-reset.jsonl",
		"repro-accept-queue-reset.jsonl",
		"py-joined-open.jsonl",
	};
	bool saw_timewait = false, saw_peer_rst = false;

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct conn_table in, first, rev;
		struct fixture fx;

		load_socket_events(&fx, names[k]);
		feed_in_order(&in, &fx);
		feed_streamed_first(&first, &fx);
		feed_reversed(&rev, &fx);
		assert_same_tables(&in, &first, &fx);
		assert_same_tables(&in, &rev, &fx);
		for (size_t i = 0; i < fx.n; i++) {
			struct conn *c = ct_find(&in, fx.ev[i].ev.cookie);

			saw_timewait |= c->timewait;
			saw_peer_rst |= fx.ev[i].ev.kind == TA_EV_PEER_RST;
		}
		ct_free(&in);
		ct_free(&first);
		ct_free(&rev);
		fixture_free(&fx);
	}
	/* Timewait handovers to read again once the older events came in, RSTs streamed first. */
	assert_true(saw_timewait);
	assert_true(saw_peer_rst);
}

/* The destroy first: ended at once; timewait and midlife settle as the older events come. */
static void test_destroy_first_settles(void **state)
{
	struct conn_table ct;
	struct fixture fx;
	struct conn *c = NULL;
	size_t d;

	(void)state;
	load_socket_events(&fx, "py-orderly.jsonl");
	d = index_of(&fx, TA_EV_DESTROY, 0);
	assert_int_equal(ct_init(&ct), 0);
	c = ct_feed(&ct, &fx.ev[d]);
	assert_non_null(c);
	assert_true(c->ended);
	assert_int_equal(c->end_ns, fx.ev[d].ev.ts_ns);
	assert_false(c->timewait);
	assert_true(c->midlife); /* a destroy is no birth: so far */
	for (size_t i = 0; i < d; i++)
		assert_non_null(ct_feed(&ct, &fx.ev[i]));
	/* FIN_WAIT2 -> CLOSE without an RST: handed to a timewait sock. */
	assert_true(c->timewait);
	assert_false(c->midlife); /* its first event is connect's CLOSE -> SYN_SENT */
	assert_true(c->ended);
	assert_int_equal(c->end_ns, fx.ev[d].ev.ts_ns);
	assert_int_equal(c->ev[c->n - 1].ev.kind, TA_EV_DESTROY);
	ct_free(&ct);
	fixture_free(&fx);
}

/* --- bounded history ------------------------------------------------------------------- */

/*
 * 200,000 recv records, data and EAGAIN in turn, on an orderly connection:
 * a bounded timeline, the verdict of the whole one and of the short one.
 */
static void test_long_recv_bounded(void **state)
{
	const size_t n = 200000;
	struct fixture fx, shortfx, all;
	struct conn_table ct, sct;
	struct conn *c, *sc, w;
	struct verdict v, sv, wv;
	size_t at, mark_seq = 0;

	(void)state;
	load_socket_events(&fx, "py-orderly.jsonl");
	load_socket_events(&shortfx, "py-orderly.jsonl");
	/* After the first recv, while ESTABLISHED. */
	at = index_of(&fx, TA_EV_RECV, 0);
	inflate(&fx, at, n, PAT_RECV_EAGAIN, TA_TCP_ESTABLISHED, 77);
	inflate(&shortfx, at, 6, PAT_RECV_EAGAIN, TA_TCP_ESTABLISHED, 0);
	for (size_t i = 0; i < fx.n; i++)
		if (fx.ev[i].ev.kind == TA_EV_SYSCALL && fx.ev[i].ev.c == 77)
			mark_seq = fx.ev[i].seq;
	assert_true(mark_seq > 0);

	feed_in_order(&ct, &fx);
	feed_in_order(&sct, &shortfx);
	c = ct_find(&ct, fx.ev[0].ev.cookie);
	sc = ct_find(&sct, fx.ev[0].ev.cookie);
	assert_bounded(c, fx.n);
	assert_true(c->trimmed > n - TA_HIST_MAX);
	assert_int_equal(c->trimmed_tcp, 0);
	assert_true(c->trimmed_first_ns > fx.ev[at].ev.ts_ns);
	assert_true(c->trimmed_last_ns < fx.ev[at].ev.ts_ns + (n + 1) * STEP_NS);
	assert_true(c->trimmed_first_ns < c->trimmed_last_ns);
	assert_int_equal(sc->trimmed, 0);
	/* Every event that is not an I/O record is held, and the one SO_ERROR call. */
	for (size_t i = 0; i < fx.n; i++) {
		unsigned int kind = fx.ev[i].ev.kind;

		if (kind != TA_EV_SEND && kind != TA_EV_RECV)
			assert_true(holds(c, fx.ev[i].seq));
	}
	assert_true(holds(c, mark_seq));
	/* The counters ride on the last event: every byte read is still counted. */
	assert_int_equal(c->ev[c->n - 1].ev.rx_bytes, fx.ev[fx.n - 1].ev.rx_bytes);
	assert_int_equal(c->ev[c->n - 1].ev.rx_bytes, 1 + 100 * (n / 2));

	ta_decide(c, &v);
	ta_decide(sc, &sv);
	w = whole(c, &fx, &all);
	ta_decide(&w, &wv);
	assert_string_equal(v.cause->id, "orderly_close");
	assert_string_equal(v.cause->id, sv.cause->id);
	assert_int_equal(v.err, sv.err);
	assert_int_equal(v.complete, sv.complete);
	assert_int_equal(v.nevidence, sv.nevidence);
	assert_same_verdict(c, &v, &w, &wv);

	/* Trimmed to the bound now: still the same verdict, n within first + last + the rest. */
	ct_trim(c);
	assert_bounded(c, fx.n);
	assert_true(c->n <= TA_HIST_FIRST + TA_HIST_LAST + TA_HIST_PINNED + 16);
	ta_decide(c, &v);
	assert_same_verdict(c, &v, &w, &wv);

	fixture_free(&all);
	ct_free(&ct);
	ct_free(&sct);
	fixture_free(&fx);
	fixture_free(&shortfx);
}

/*
 * The peer's FIN in the middle of 100,000 I/O records; after it, sends go
 * on (and one recv sees EOF), then an RST arrives in CLOSE_WAIT: still
 * reset_after_peer_fin, citing what the short run cites.
 */
/* states_known false: the records say no state (0), only the FIN's move tells before from after. */
static void build_fin_mid_io(struct fixture *fx, size_t each, bool states_known)
{
	size_t fin;

	load_socket_events(fx, "repro-fin-then-rst.jsonl");
	fin = index_of(fx, TA_EV_STATE, TA_TCP_CLOSE_WAIT);
	/* After the FIN first, so that the index before it still holds. */
	inflate(fx, fin, each, PAT_SEND_EOF, states_known ? TA_TCP_CLOSE_WAIT : 0, 0);
	inflate(fx, fin - 1, each, PAT_SEND_EAGAIN, states_known ? TA_TCP_ESTABLISHED : 0, 0);
}

static void fin_mid_io(bool states_known)
{
	struct fixture fx, all;
	struct conn_table ct;
	struct conn *c, w;
	struct verdict v, wv;
	size_t eof = SIZE_MAX, fin;

	build_fin_mid_io(&fx, 50000, states_known);
	fin = index_of(&fx, TA_EV_STATE, TA_TCP_CLOSE_WAIT);
	assert_true(fin > 50000);
	for (size_t i = fin; i < fx.n && eof == SIZE_MAX; i++)
		if (fx.ev[i].ev.kind == TA_EV_RECV && fx.ev[i].ev.a == 0)
			eof = i;
	assert_true(eof > fin + 1000 && eof + 1000 < fx.n); /* in the middle of the sends */

	feed_in_order(&ct, &fx);
	c = ct_find(&ct, fx.ev[0].ev.cookie);
	assert_bounded(c, fx.n);
	assert_true(c->trimmed > 100000 - TA_HIST_MAX);
	assert_true(holds(c, fx.ev[fin].seq));
	assert_true(holds(c, fx.ev[eof].seq));	   /* the first EOF, though deep in the middle */
	assert_true(holds(c, fx.ev[fin + 1].seq)); /* the first send after the FIN */

	ta_decide(c, &v);
	assert_string_equal(v.cause->id, "reset_after_peer_fin");
	assert_int_equal(v.err, EPIPE);
	assert_true(v.complete);
	assert_true(cites_kind(c, &v, TA_EV_STATE));
	assert_true(cites_kind(c, &v, TA_EV_RST_RECV));
	assert_true(cites_kind(c, &v, TA_EV_SK_ERROR));
	assert_true(cites_kind(c, &v, TA_EV_RECV));
	assert_true(cites_kind(c, &v, TA_EV_SEND));
	assert_non_null(strstr(v.sentence, "recv returned 0 (EOF)"));
	assert_non_null(strstr(v.sentence, "send failed with EPIPE"));
	/* Word for word the verdict of the whole timeline, and so after trimming to the bound. */
	w = whole(c, &fx, &all);
	ta_decide(&w, &wv);
	assert_same_verdict(c, &v, &w, &wv);
	ct_trim(c);
	ta_decide(c, &v);
	assert_same_verdict(c, &v, &w, &wv);

	fixture_free(&all);
	ct_free(&ct);
	fixture_free(&fx);
}

static void test_fin_mid_io_reset_after_peer_fin(void **state)
{
	(void)state;
	fin_mid_io(true);
}

/* The same sends before and after the FIN, told apart only by the FIN between them. */
static void test_fin_mid_io_states_unknown(void **state)
{
	(void)state;
	fin_mid_io(false);
}

/* The same long connection with its RSTs and destroy streamed first: the same timeline. */
static void test_long_out_of_order(void **state)
{
	struct fixture fx;
	struct conn_table in, first;
	struct conn *c;

	(void)state;
	build_fin_mid_io(&fx, 5000, true);
	feed_in_order(&in, &fx);
	feed_streamed_first(&first, &fx);
	c = ct_find(&first, fx.ev[0].ev.cookie);
	assert_true(c->ended);
	assert_true(c->trimmed > 0);
	assert_bounded(c, fx.n);
	ct_trim(ct_find(&in, fx.ev[0].ev.cookie));
	ct_trim(c);
	assert_same_tables(&in, &first, &fx);
	ct_free(&in);
	ct_free(&first);
	fixture_free(&fx);
}

/*
 * A timewait sock answering a flood with RSTs after the destroy: events that
 * are not I/O records are bounded too, the first of each kind and the end
 * held, the verdict that of the whole timeline.
 */
static void test_rst_flood_bounded(void **state)
{
	const size_t n = 5000;
	struct fixture fx, more = { 0 }, all;
	struct conn_table ct;
	struct conn *c, w;
	struct tl_event late = { 0 };
	struct verdict v, wv;

	(void)state;
	load_socket_events(&fx, "session-late-timewait-rst.jsonl");
	for (size_t i = 0; i < fx.n; i++) {
		if (fx.ev[i].ev.cookie != 2178)
			continue;
		if (fx.ev[i].ev.kind == TA_EV_RST_SENT)
			late = fx.ev[i];
		else
			fixture_add(&fx.ev[i], &more);
	}
	assert_int_equal(late.ev.kind, TA_EV_RST_SENT);
	for (size_t k = 0; k < n; k++) {
		struct tl_event e = late;

		e.ev.ts_ns += k * STEP_NS;
		fixture_add(&e, &more);
	}
	renumber(&more);
	feed_in_order(&ct, &more);
	c = ct_find(&ct, 2178);
	assert_bounded(c, more.n);
	assert_true(c->trimmed_tcp > 0);
	assert_int_equal(c->trimmed_tcp, c->trimmed);
	assert_true(c->n <= TA_HIST_TCP + TA_HIST_LAST);
	for (size_t i = 0; i < more.n && more.ev[i].ev.kind != TA_EV_RST_SENT; i++)
		assert_true(holds(c, more.ev[i].seq));
	assert_true(holds(c, more.ev[more.n - 1].seq));
	assert_true(c->timewait);
	ta_decide(c, &v);
	assert_string_equal(v.cause->id, "reset_sent_data_after_close");
	w = whole(c, &more, &all);
	ta_decide(&w, &wv);
	assert_same_verdict(c, &v, &w, &wv);
	fixture_free(&all);
	ct_free(&ct);
	fixture_free(&more);
	fixture_free(&fx);
}

/*
 * c->written follows the events it counts: through a trim (the written ones
 * still held stay below it) and an older event inserted among them.
 */
static void test_written_follows_trim_and_merge(void **state)
{
	struct conn_table ct;
	struct tl_event e = { 0 };
	struct conn *c = NULL;
	const uint64_t cut = 150;

	(void)state;
	assert_int_equal(ct_init(&ct), 0);
	e.ev.cookie = 9;
	e.ev.kind = TA_EV_SEND;
	for (uint64_t i = 1; i <= 1000; i++) {
		e.seq = i;
		e.ev.ts_ns = i * 10;
		e.ev.a = 100;
		e.ev.tx_bytes = i * 100;
		c = ct_feed(&ct, &e);
		assert_non_null(c);
		/* The session writes as they come (deferred: everything so far at once). */
		if (i == cut)
			c->written = c->n;
		if (i > cut) {
			/* Exactly the events held that arrived by `cut` lie below written. */
			for (size_t k = 0; k < c->n; k++)
				assert_int_equal(k < c->written, c->ev[k].seq <= cut);
		}
	}
	assert_bounded(c, 1000);
	assert_true(c->trimmed > 0);
	assert_true(c->written > 0 && c->written <= TA_HIST_FIRST);
	/* An older one, among the written: counted as written, where ct_feed says. */
	{
		size_t before = c->written;

		e.seq = 2000;
		e.ev.ts_ns = 15;
		c = ct_feed(&ct, &e);
		assert_int_equal(c->fed_at, 1);
		assert_int_equal(c->ev[1].seq, 2000);
		assert_int_equal(c->written, before + 1);
	}
	/* Newer than all: above written, not counted. */
	e.seq = 2001;
	e.ev.ts_ns = 100000;
	c = ct_feed(&ct, &e);
	assert_int_equal(c->fed_at, c->n - 1);
	assert_true(c->written < c->n);
	ct_free(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_stable),
		cmocka_unit_test(test_out_of_order_fixtures),
		cmocka_unit_test(test_destroy_first_settles),
		cmocka_unit_test(test_long_recv_bounded),
		cmocka_unit_test(test_fin_mid_io_reset_after_peer_fin),
		cmocka_unit_test(test_fin_mid_io_states_unknown),
		cmocka_unit_test(test_long_out_of_order),
		cmocka_unit_test(test_rst_flood_bounded),
		cmocka_unit_test(test_written_follows_trim_and_merge),
	};

	return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
