// SPDX-License-Identifier: GPL-2.0
/*
 * The rules, fed with event sequences recorded from real runs on Linux 6.18
 * (tests/fixtures, re-recorded by tests/fixtures/record.sh), and with
 * variants of them: calls in another order, events lost, the beginning
 * missed, the application not yet back in the socket.
 */
#include <errno.h>

#include "fixture.h"

struct decided {
	struct fixture fx;
	struct conn_table ct;
	struct conn *c;
	struct verdict v;
};

/* Decide the connection of the fixture's first process, after dropping events by kind. */
static void decide_filtered(struct decided *d, const char *name, const unsigned int *drop,
			    size_t ndrop)
{
	struct fixture all;

	fixture_load(&all, name);
	memset(&d->fx, 0, sizeof(d->fx));
	for (size_t i = 0; i < all.n; i++) {
		bool skip = false;

		for (size_t k = 0; k < ndrop; k++)
			skip |= all.ev[i].ev.kind == drop[k];
		if (!skip)
			fixture_add(&all.ev[i], &d->fx);
	}
	fixture_free(&all);
	fixture_table(&d->fx, &d->ct);
	d->c = first_owner_conn(&d->ct, &d->fx);
	ta_decide(d->c, &d->v);
}

static void decide(struct decided *d, const char *name)
{
	decide_filtered(d, name, NULL, 0);
}

static void done(struct decided *d)
{
	ct_free(&d->ct);
	fixture_free(&d->fx);
}

static void assert_cause(const struct verdict *v, const char *id, int err)
{
	assert_non_null(v->cause);
	assert_string_equal(v->cause->id, id);
	assert_int_equal(v->err, err);
	assert_true(strlen(v->sentence) > 40);
}

static void fin_then_rst(const char *fixture)
{
	struct decided d;

	decide(&d, fixture);
	assert_cause(&d.v, "reset_after_peer_fin", EPIPE);
	assert_string_equal(d.v.cause->winsock, "WSAECONNABORTED (10053)");
	assert_true(cites_kind(d.c, &d.v, TA_EV_STATE)); /* the peer's FIN */
	assert_true(cites_kind(d.c, &d.v, TA_EV_RST_RECV));
	assert_true(cites_kind(d.c, &d.v, TA_EV_SK_ERROR));
	assert_true(cites_kind(d.c, &d.v, TA_EV_RECV)); /* recv returned EOF */
	assert_true(cites_kind(d.c, &d.v, TA_EV_SEND));
	assert_non_null(strstr(d.v.sentence, "recv returned 0 (EOF)"));
	assert_non_null(strstr(d.v.sentence, "send failed with EPIPE"));
	assert_true(d.v.complete);
	assert_true(d.c->ended);
	done(&d);
}

static void test_fin_then_rst_repro(void **state)
{
	(void)state;
	fin_then_rst("repro-fin-then-rst.jsonl");
}

static void test_fin_then_rst_python(void **state)
{
	(void)state;
	fin_then_rst("py-fin-then-rst.jsonl");
}

static void peer_crash(const char *fixture)
{
	struct decided d;

	decide(&d, fixture);
	assert_cause(&d.v, "peer_reset", ECONNRESET);
	assert_string_equal(d.v.cause->winsock, "WSAECONNRESET (10054)");
	assert_true(cites_kind(d.c, &d.v, TA_EV_RST_RECV));
	assert_true(cites_kind(d.c, &d.v, TA_EV_SK_ERROR));
	/* The server was on this host: the sender and its reason are named. */
	assert_true(cites_kind(d.c, &d.v, TA_EV_PEER_RST));
	assert_non_null(strstr(d.v.sentence, "closed its socket with 1 byte unread: "
					     "TCP_ABORT_ON_CLOSE"));
	assert_non_null(strstr(d.v.sentence, "The RST came from this host: pid "));
	assert_non_null(strstr(d.v.sentence, "recv failed with ECONNRESET"));
	assert_true(d.v.complete);
	done(&d);
}

static void test_peer_crash_repro(void **state)
{
	(void)state;
	peer_crash("repro-peer-crash.jsonl");
}

static void test_peer_crash_python(void **state)
{
	(void)state;
	peer_crash("py-peer-crash.jsonl");
}

static void test_orderly(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "py-orderly.jsonl");
	assert_cause(&d.v, "orderly_close", 0);
	assert_null(d.v.cause->winsock);
	assert_false(cites_kind(d.c, &d.v, TA_EV_RST_RECV));
	assert_true(d.v.complete);
	done(&d);
}

/* Both ends traced: the client's verdict is unchanged, the server's is not "orderly". */
static void test_both_ends_fin_then_rst(void **state)
{
	struct decided d;
	struct conn *server;
	struct verdict v;

	(void)state;
	decide(&d, "repro-fin-then-rst-both.jsonl");
	assert_cause(&d.v, "reset_after_peer_fin", EPIPE);
	server = other_conn(&d.ct, d.c->owner);
	ta_decide(server, &v);
	assert_string_not_equal(v.cause->id, "orderly_close");
	/* Its timewait socket's RST joined its timeline. */
	assert_true(cites_kind(server, &v, TA_EV_RST_SENT));
	done(&d);
}

static void test_both_ends_peer_crash(void **state)
{
	struct decided d;
	struct conn *server;
	struct verdict v;

	(void)state;
	decide(&d, "repro-peer-crash-both.jsonl");
	assert_cause(&d.v, "peer_reset", ECONNRESET);
	server = other_conn(&d.ct, d.c->owner);
	ta_decide(server, &v);
	assert_string_not_equal(v.cause->id, "peer_reset");
	assert_true(cites_kind(server, &v, TA_EV_RST_SENT));
	done(&d);
}

/* The application never called recv: same cause, no EOF claimed. */
static void test_fin_then_rst_without_recv(void **state)
{
	static const unsigned int drop[] = { TA_EV_RECV };
	struct decided d;

	(void)state;
	decide_filtered(&d, "repro-fin-then-rst.jsonl", drop, 1);
	assert_cause(&d.v, "reset_after_peer_fin", EPIPE);
	assert_null(strstr(d.v.sentence, "recv returned 0"));
	done(&d);
}

/* The tracepoint for the received RST was lost: sk_err EPIPE after the FIN still decides. */
static void test_fin_then_rst_rst_lost(void **state)
{
	static const unsigned int drop[] = { TA_EV_RST_RECV, TA_EV_PEER_RST };
	struct decided d;

	(void)state;
	decide_filtered(&d, "repro-fin-then-rst.jsonl", drop, 2);
	assert_cause(&d.v, "reset_after_peer_fin", EPIPE);
	assert_true(cites_kind(d.c, &d.v, TA_EV_SK_ERROR));
	done(&d);
}

/* Cut the timeline right after the error: the verdict predicts the next calls. */
static void truncated_after_error(const char *fixture, const char *cause, int err, int recv,
				  int send, int so_error)
{
	struct fixture all, cut = { 0 };
	struct conn_table ct;
	struct verdict v;
	struct conn *c;

	fixture_load(&all, fixture);
	for (size_t i = 0; i < all.n; i++) {
		if (all.ev[i].ev.owner_tgid != all.ev[0].ev.owner_tgid)
			continue;
		fixture_add(&all.ev[i], &cut);
		if (all.ev[i].ev.kind == TA_EV_SK_ERROR)
			break;
	}
	fixture_table(&cut, &ct);
	c = first_owner_conn(&ct, &cut);
	assert_false(c->ended);
	ta_decide(c, &v);
	assert_cause(&v, cause, err);
	assert_true(v.next.known);
	assert_int_equal(v.next.recv, recv);
	assert_int_equal(v.next.send, send);
	assert_int_equal(v.next.so_error, so_error);
	assert_int_equal(v.next.sigpipe, send == EPIPE);
	assert_non_null(strstr(v.sentence, "next recv"));
	assert_string_equal(v.missing, "the connection had not ended when tracing stopped");
	ct_free(&ct);
	fixture_free(&cut);
	fixture_free(&all);
}

static void test_next_calls_fin_then_rst(void **state)
{
	(void)state;
	/* A received FIN wins over the pending EPIPE for recv; send takes the EPIPE. */
	truncated_after_error("repro-fin-then-rst.jsonl", "reset_after_peer_fin", EPIPE, 0, EPIPE,
			      EPIPE);
}

static void test_next_calls_peer_crash(void **state)
{
	(void)state;
	truncated_after_error("repro-peer-crash.jsonl", "peer_reset", ECONNRESET, ECONNRESET,
			      ECONNRESET, ECONNRESET);
}

/* A lost event anywhere makes the verdict incomplete, whatever the cause. */
static void test_lost_marks_incomplete(void **state)
{
	struct decided d;

	(void)state;
	fixture_load(&d.fx, "repro-peer-crash.jsonl");
	d.fx.ev[d.fx.n / 2].ev.flags |= TA_F_LOST_BEFORE;
	fixture_table(&d.fx, &d.ct);
	d.c = first_owner_conn(&d.ct, &d.fx);
	ta_decide(d.c, &d.v);
	assert_false(d.v.complete);
	assert_non_null(strstr(d.v.missing, "lost"));
	done(&d);
}

/* Attached after connect: the first event is a send, the beginning is missing. */
static void test_midlife_marks_incomplete(void **state)
{
	struct decided d;
	size_t first = 0;

	(void)state;
	fixture_load(&d.fx, "repro-peer-crash.jsonl");
	/* Drop everything before the first send. */
	while (d.fx.ev[first].ev.kind != TA_EV_SEND)
		first++;
	memmove(d.fx.ev, d.fx.ev + first, (d.fx.n - first) * sizeof(*d.fx.ev));
	d.fx.n -= first;
	fixture_table(&d.fx, &d.ct);
	d.c = first_owner_conn(&d.ct, &d.fx);
	ta_decide(d.c, &d.v);
	assert_true(d.c->midlife);
	assert_false(d.v.complete);
	assert_cause(&d.v, "peer_reset", ECONNRESET);
	assert_non_null(strstr(d.v.missing, "beginning"));
	done(&d);
}

/* An orphan that resets itself on data (TCP_ABORT_ON_DATA) was not reset by its peer. */
static void test_self_reset_is_not_peer_reset(void **state)
{
	struct tl_event ev[4] = { 0 };
	struct conn_table ct;
	struct verdict v;
	struct conn *c;

	(void)state;
	for (int i = 0; i < 4; i++) {
		ev[i].ev.cookie = 7;
		ev[i].ev.owner_tgid = 100;
		ev[i].ev.ts_ns = 1000 + i;
		ev[i].seq = i + 1;
	}
	ev[0].ev.kind = TA_EV_STATE;
	ev[0].ev.a = TA_TCP_CLOSE;
	ev[0].ev.b = TA_TCP_SYN_SENT;
	ev[1].ev.kind = TA_EV_STATE;
	ev[1].ev.a = TA_TCP_SYN_SENT;
	ev[1].ev.b = TA_TCP_ESTABLISHED;
	ev[2].ev.kind = TA_EV_RST_RECV;
	ev[2].ev.state = TA_TCP_FIN_WAIT2;
	ev[3].ev.kind = TA_EV_RST_SENT;
	ev[3].ev.state = TA_TCP_CLOSE;
	snprintf(ev[3].rst_name, sizeof(ev[3].rst_name), "TCP_ABORT_ON_DATA");
	ev[3].rst = ta_rst_from_name(ev[3].rst_name);
	assert_int_equal(ct_init(&ct), 0);
	for (int i = 0; i < 4; i++)
		c = ct_feed(&ct, &ev[i]);
	ta_decide(c, &v);
	assert_string_not_equal(v.cause->id, "peer_reset");
	ct_free(&ct);
}

/* Does some evidence line of the verdict contain this text? */
static bool cites_text(const struct verdict *v, const char *text)
{
	for (size_t i = 0; i < v->nevidence; i++)
		if (strstr(v->evidence[i].why, text))
			return true;
	return false;
}

/* Load a fixture, keep the events for which keep() says so, decide every connection. */
static void load_edited(struct decided *d, const char *name,
			bool (*keep)(struct tl_event *e, void *arg), void *arg)
{
	struct fixture all;

	fixture_load(&all, name);
	memset(&d->fx, 0, sizeof(d->fx));
	for (size_t i = 0; i < all.n; i++)
		if (!keep || keep(&all.ev[i], arg))
			fixture_add(&all.ev[i], &d->fx);
	fixture_free(&all);
	fixture_table(&d->fx, &d->ct);
	d->c = first_owner_conn(&d->ct, &d->fx);
	ta_decide(d->c, &d->v);
}

/* shutdown() in SYN_SENT: tcp_disconnect() stores and reports ECONNRESET itself. */
static void test_shutdown_connecting(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "repro-shutdown-connecting.jsonl");
	assert_cause(&d.v, "disconnect", ECONNRESET);
	assert_true(cites_kind(d.c, &d.v, TA_EV_SK_ERROR));
	assert_true(cites_text(&d.v, "no RST came from anywhere"));
	assert_non_null(strstr(d.v.sentence, "shutdown()"));
	done(&d);
}

/* The application's connect timeout: it closed in SYN_SENT, nothing failed. */
static void test_connect_abandoned(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "repro-connect-abandoned.jsonl");
	assert_cause(&d.v, "connect_abandoned", 0);
	assert_null(d.v.winsock);
	assert_true(cites_kind(d.c, &d.v, TA_EV_SYSCALL)); /* the close */
	assert_true(cites_kind(d.c, &d.v, TA_EV_RETRANS));
	assert_non_null(strstr(d.v.sentence, "2 retransmissions"));
	assert_non_null(strstr(d.v.sentence, "2.5 s"));
	assert_true(d.v.complete);
	done(&d);
}

/* The real thing: curl --connect-timeout 2 with the SYNs dropped (curl exit 28). */
static void test_connect_abandoned_curl(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "curl-connect-timeout.jsonl");
	assert_cause(&d.v, "connect_abandoned", 0);
	assert_non_null(strstr(d.v.sentence, "2.0 s after connect() started"));
	assert_non_null(strstr(d.v.sentence, "1 retransmission so far"));
	done(&d);
}

/*
 * redis after DEBUG SLEEP: the child reached CLOSE_WAIT in the queue of a
 * listener that predates the attach; accept() is the first event and shows it.
 */
static void test_fin_before_accept(void **state)
{
	struct decided d;
	const struct ta_event *fin;

	(void)state;
	decide(&d, "py-old-listener-fin-then-rst.jsonl");
	assert_true(d.c->midlife);
	assert_cause(&d.v, "reset_after_peer_fin", EPIPE);
	fin = &d.c->ev[d.v.evidence[0].idx].ev;
	assert_int_equal(fin->kind, TA_EV_SYSCALL);
	assert_int_equal(fin->b, TA_SYS_ACCEPT);
	assert_int_equal(fin->state, TA_TCP_CLOSE_WAIT);
	assert_true(cites_text(&d.v, "the peer's FIN had arrived before tracing saw the socket"));
	assert_true(cites_kind(d.c, &d.v, TA_EV_RST_RECV));
	assert_false(d.v.complete);
	assert_non_null(strstr(d.v.missing, "accept()"));
	done(&d);
}

static bool not_rst_recv(struct tl_event *e, void *arg)
{
	(void)arg;
	return e->ev.kind != TA_EV_RST_RECV;
}

/* Without the RST itself, the EPIPE still is no peer_reset: the FIN came first. */
static void test_fin_before_accept_rst_lost(void **state)
{
	struct decided d;

	(void)state;
	load_edited(&d, "py-old-listener-fin-then-rst.jsonl", not_rst_recv, NULL);
	assert_string_not_equal(d.v.cause->id, "peer_reset");
	assert_cause(&d.v, "reset_after_peer_fin", EPIPE);
	done(&d);
}

struct ends {
	struct conn *client, *server;
};

/* The client is the end that connected (CLOSE -> SYN_SENT); the server the other one. */
static void find_ends(struct conn *c, void *arg)
{
	struct ends *e = arg;
	bool connected = false;

	if (c->listener)
		return;
	for (size_t i = 0; i < c->n; i++)
		connected |= c->ev[i].ev.kind == TA_EV_STATE && c->ev[i].ev.b == TA_TCP_SYN_SENT;
	if (connected)
		e->client = c;
	else
		e->server = c;
}

/* Both ends of owner-killed: the server's exit is its close, not the client's FIN. */
static void owner_killed(bool drop_exit, bool drop_rst)
{
	struct fixture fx;
	struct conn_table ct;
	struct ends ends = { 0 };
	struct verdict v;
	size_t k = 0;

	fixture_load(&fx, "repro-owner-killed-both.jsonl");
	for (size_t i = 0; i < fx.n; i++) {
		const struct ta_event *e = &fx.ev[i].ev;

		if (drop_exit && e->kind == TA_EV_SYSCALL && e->b == TA_SYS_EXIT)
			continue;
		if (drop_rst && e->kind == TA_EV_RST_SENT)
			continue;
		fx.ev[k++] = fx.ev[i];
	}
	fx.n = k;
	fixture_table(&fx, &ct);
	ct_each(&ct, find_ends, &ends);
	assert_non_null(ends.client);
	assert_non_null(ends.server);

	ta_decide(ends.client, &v);
	if (!drop_rst) {
		assert_cause(&v, "reset_after_peer_fin", EPIPE);
		assert_non_null(strstr(v.sentence, "send failed with EPIPE"));
	}

	ta_decide(ends.server, &v);
	/* The orphan's handover to its timewait sock is never the peer's FIN. */
	assert_false(cites_text(&v, "the peer's FIN"));
	assert_null(strstr(v.sentence, "Both ends closed"));
	if (!drop_exit) {
		assert_cause(&v, "reset_sent_data_after_close", 0);
		assert_non_null(strstr(v.sentence,
				       "exited (killed by SIGKILL) with the socket open; "
				       "the kernel closed it on its behalf"));
		assert_true(cites_text(&v, "exited (killed by SIGKILL)"));
		assert_false(cites_text(&v, "the owner closed the socket"));
	} else if (!drop_rst) {
		assert_cause(&v, "reset_sent_data_after_close", 0);
		assert_false(cites_text(&v, "the owner closed the socket"));
	} else {
		/* No close, no exit, no later call: whose FIN it was is not known. */
		assert_string_equal(v.cause->id, "unknown");
		assert_non_null(strstr(v.sentence, "cannot tell"));
	}
	ct_free(&ct);
	fixture_free(&fx);
}

static void test_owner_killed(void **state)
{
	(void)state;
	owner_killed(false, false);
}

static void test_owner_killed_exit_unseen(void **state)
{
	(void)state;
	owner_killed(true, false);
	owner_killed(true, true);
}

/* Tracing stopped with the connection up and nothing wrong: open, not unknown. */
static void test_open(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "py-hold-open.jsonl");
	assert_false(d.c->ended);
	assert_cause(&d.v, "open", 0);
	assert_non_null(strstr(d.v.sentence, "still open when tracing stopped, in ESTABLISHED"));
	done(&d);
}

/*
 * PostgreSQL: the postmaster closes its copy of the fd after fork while the
 * backend keeps using the socket.  A close() that leaves other references
 * is no close.
 */
/* The unanswered request, recorded: the client's own 1.5 s timeout closed. */
static void test_no_reply(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "repro-no-reply.jsonl");
	assert_cause(&d.v, "closed_without_reply", 0);
	assert_true(d.v.complete);
	assert_non_null(strstr(d.v.sentence, "1.5 s later"));
	assert_true(cites_text(&d.v, "owner closed"));
	done(&d);
}

/* Move every event from the close on back by *arg ns: the close follows the send at once. */
static bool close_sooner(struct tl_event *e, void *arg)
{
	uint64_t *shift = arg;

	if (e->ev.kind == TA_EV_SYSCALL && e->ev.b == TA_SYS_CLOSE && !*shift)
		*shift = 1400000000ULL;
	e->ev.ts_ns -= *shift;
	return true;
}

/* A close 0.1 s after the send is fire-and-forget, not a timeout: an orderly close. */
static void test_no_reply_quick_close_is_orderly(void **state)
{
	uint64_t shift = 0;
	struct decided d;

	(void)state;
	load_edited(&d, "repro-no-reply.jsonl", close_sooner, &shift);
	assert_true(shift != 0);
	assert_cause(&d.v, "orderly_close", 0);
	done(&d);
}

/* One byte of reply read before the close: the request was answered. */
static bool one_byte_back(struct tl_event *e, void *arg)
{
	bool *seen_close = arg;

	if (e->ev.kind == TA_EV_SYSCALL && e->ev.b == TA_SYS_CLOSE)
		*seen_close = true;
	if (*seen_close && e->ev.cookie && e->ev.tx_bytes)
		e->ev.rx_bytes = 1;
	return true;
}

static void test_no_reply_answered_is_orderly(void **state)
{
	bool seen_close = false;
	struct decided d;

	(void)state;
	load_edited(&d, "repro-no-reply.jsonl", one_byte_back, &seen_close);
	assert_true(seen_close);
	assert_cause(&d.v, "orderly_close", 0);
	done(&d);
}

struct all_conns {
	struct conn *c[8];
	size_t n;
};

static void collect_conns(struct conn *c, void *arg)
{
	struct all_conns *a = arg;

	if (!c->listener && a->n < 8)
		a->c[a->n++] = c;
}

/*
 * (g): a traced listener's children are cloned in LISTEN.  The first one's
 * LISTEN -> SYN_RECV used to remove the listener from the adoption table, so
 * the second child, reset in the accept queue too, came out without a birth.
 */
static void test_second_child_seen_from_birth(void **state)
{
	struct all_conns a = { 0 };
	struct conn_table ct;
	struct fixture fx;
	struct verdict v;

	(void)state;
	fixture_load(&fx, "py-two-children-reset.jsonl");
	fixture_table(&fx, &ct);
	ct_each(&ct, collect_conns, &a);
	assert_int_equal(a.n, 2);
	for (size_t i = 0; i < a.n; i++) {
		const struct ta_event *first = &a.c[i]->ev[0].ev;

		assert_int_equal(first->kind, TA_EV_STATE);
		assert_int_equal(first->a, TA_TCP_LISTEN);
		assert_int_equal(first->b, TA_TCP_SYN_RECV);
		assert_false(a.c[i]->midlife);
		ta_decide(a.c[i], &v);
		assert_cause(&v, "peer_reset", ECONNRESET);
		assert_true(v.complete);
	}
	ct_free(&ct);
	fixture_free(&fx);
}

/*
 * (e): the same 127.0.0.1 tuple was reset in another network namespace while
 * the traced one closed in order.  RST matching keys on the namespace, so
 * no peer_rst reached the traced sockets and both closes stay orderly.
 */
static void test_twin_tuple_in_other_netns(void **state)
{
	struct all_conns a = { 0 };
	struct conn_table ct;
	struct fixture fx;
	struct verdict v;

	(void)state;
	fixture_load(&fx, "py-twin-tuple.jsonl");
	for (size_t i = 0; i < fx.n; i++)
		assert_int_not_equal(fx.ev[i].ev.kind, TA_EV_PEER_RST);
	fixture_table(&fx, &ct);
	ct_each(&ct, collect_conns, &a);
	assert_int_equal(a.n, 2);
	for (size_t i = 0; i < a.n; i++) {
		ta_decide(a.c[i], &v);
		assert_cause(&v, "orderly_close", 0);
	}
	ct_free(&ct);
	fixture_free(&fx);
}

/* As a kernel before 6.10 records it: no RST reasons. */
static bool no_reasons(struct tl_event *e, void *arg)
{
	(void)arg;
	if (e->ev.kind == TA_EV_RST_SENT || e->ev.kind == TA_EV_PEER_RST) {
		e->rst_name[0] = '\0';
		e->rst = TA_RST_NONE;
		e->ev.a = -1;
	}
	return true;
}

/*
 * Before 6.10 the sender's reason must still be worked out and its process
 * named (seen missing on 6.1): a sender already CLOSE with bytes unread,
 * reset from its own process, closed with unread data.
 */
static void test_sender_named_without_reasons(void **state)
{
	struct decided d;

	(void)state;
	load_edited(&d, "repro-peer-crash.jsonl", no_reasons, NULL);
	assert_cause(&d.v, "peer_reset", ECONNRESET);
	assert_non_null(strstr(d.v.sentence, "TCP_ABORT_ON_CLOSE, inferred"));
	assert_non_null(strstr(d.v.sentence, "closed its socket with 1 byte unread"));
	assert_non_null(strstr(d.v.sentence, "(tcpabort-repro)"));
	done(&d);
}

/* As 5.10 records it: no reasons, and a sender socket the tracer has no id for. */
static bool no_reasons_no_ids(struct tl_event *e, void *arg)
{
	no_reasons(e, arg);
	if (e->ev.kind == TA_EV_PEER_RST)
		e->ev.peer_cookie = 0;
	return true;
}

/* A sender without an id is still a socket: never "no socket owned that port". */
static void test_sender_without_id_is_a_socket(void **state)
{
	struct decided d;

	(void)state;
	load_edited(&d, "repro-peer-crash.jsonl", no_reasons_no_ids, NULL);
	assert_cause(&d.v, "peer_reset", ECONNRESET);
	assert_null(strstr(d.v.sentence, "no socket"));
	assert_non_null(strstr(d.v.sentence, "closed its socket with 1 byte unread"));
	done(&d);
}

static bool copy_close_after_accept(struct tl_event *e, void *arg)
{
	struct tl_event *copy = arg;

	if (e->ev.kind == TA_EV_SYSCALL && e->ev.b == TA_SYS_ACCEPT) {
		*copy = *e;
		copy->ev.b = TA_SYS_CLOSE;
		copy->ev.a = 0;
		copy->ev.aux = 1;
		copy->ev.ts_ns++;
	}
	return true;
}

static void test_close_of_a_copy_is_no_close(void **state)
{
	struct fixture all;
	struct tl_event copy = { 0 };
	struct decided d;

	(void)state;
	fixture_load(&all, "py-hold-open.jsonl");
	memset(&d.fx, 0, sizeof(d.fx));
	for (size_t i = 0; i < all.n; i++) {
		copy.ev.kind = 0;
		fixture_add(&all.ev[i], &d.fx);
		copy_close_after_accept(&all.ev[i], &copy);
		if (copy.ev.kind)
			fixture_add(&copy, &d.fx);
	}
	fixture_free(&all);
	fixture_table(&d.fx, &d.ct);
	d.c = first_owner_conn(&d.ct, &d.fx);
	ta_decide(d.c, &d.v);
	assert_cause(&d.v, "open", 0);
	assert_false(cites_text(&d.v, "closed"));
	done(&d);
}

/* Joined mid-life at attach: the JOIN is the first-known state, and says so. */
static void joined(unsigned int state, int unread, const char *cause, int err)
{
	struct fixture all;
	struct decided d;
	struct tl_event join = { 0 };
	bool joined = false;
	uint64_t cookie = 0;

	fixture_load(&all, "py-hold-open.jsonl");
	memset(&d.fx, 0, sizeof(d.fx));
	for (size_t i = 0; i < all.n && !cookie; i++)
		if (all.ev[i].ev.kind == TA_EV_SYSCALL && all.ev[i].ev.b == TA_SYS_ACCEPT)
			cookie = all.ev[i].ev.cookie;
	assert_true(cookie != 0);
	for (size_t i = 0; i < all.n; i++) {
		const struct ta_event *e = &all.ev[i].ev;

		/* The accepted socket only; everything up to its accept() predates the attach. */
		if (e->cookie != cookie)
			continue;
		if (e->kind != TA_EV_SEND && e->kind != TA_EV_RECV) {
			if (!joined) {
				join = all.ev[i];
				join.ev.kind = TA_EV_JOIN;
				join.ev.state = state;
				join.ev.a = unread;
				join.ev.b = 0;
				join.ev.c = 4;
				join.ev.flags |= TA_F_MIDLIFE;
				fixture_add(&join, &d.fx);
				joined = true;
			}
			continue;
		}
		all.ev[i].ev.state = state;
		fixture_add(&all.ev[i], &d.fx);
	}
	fixture_free(&all);
	fixture_table(&d.fx, &d.ct);
	d.c = first_owner_conn(&d.ct, &d.fx);
	ta_decide(d.c, &d.v);
	assert_true(d.c->midlife);
	assert_cause(&d.v, cause, err);
	assert_false(d.v.complete);
	assert_non_null(strstr(d.v.missing, "joined mid-life at attach in"));
	assert_non_null(strstr(d.v.missing, ta_state_name(state)));
	assert_non_null(strstr(d.v.missing, unread == 3 ? "3 bytes unread" : "0 bytes unread"));
	assert_true(cites_kind(d.c, &d.v, TA_EV_JOIN));
	done(&d);
}

/* Recorded: an idle connection with 3 bytes unread, joined at attach, Ctrl-C. */
static void test_joined_open_recorded(void **state)
{
	struct decided d;

	(void)state;
	decide(&d, "py-joined-open.jsonl");
	assert_true(d.c->midlife);
	assert_cause(&d.v, "open", 0);
	assert_true(cites_kind(d.c, &d.v, TA_EV_JOIN));
	assert_false(d.v.complete);
	assert_string_equal(d.v.missing, "joined mid-life at attach in ESTABLISHED with 3 bytes "
					 "unread and 0 unacked: what happened before is not known");
	done(&d);
}

static void test_joined_open(void **state)
{
	(void)state;
	joined(TA_TCP_ESTABLISHED, 3, "open", 0);
	/* In CLOSE_WAIT at attach: the peer's FIN came before, and the JOIN shows it. */
	joined(TA_TCP_CLOSE_WAIT, 0, "open", 0);
}

static void test_catalogue(void **state)
{
	const struct cause *c;
	size_t n = 0;

	(void)state;
	for (; (c = ta_cause_at(n)); n++) {
		assert_ptr_equal(ta_cause_by_id(c->id), c);
		assert_non_null(c->summary);
		for (size_t k = 0; k < n; k++)
			assert_string_not_equal(ta_cause_at(k)->id, c->id);
	}
	assert_true(n >= 4);
	assert_string_equal(ta_cause_at(n - 1)->id, "unknown");
	assert_null(ta_cause_by_id("no_such_cause"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fin_then_rst_repro),
		cmocka_unit_test(test_fin_then_rst_python),
		cmocka_unit_test(test_peer_crash_repro),
		cmocka_unit_test(test_peer_crash_python),
		cmocka_unit_test(test_orderly),
		cmocka_unit_test(test_both_ends_fin_then_rst),
		cmocka_unit_test(test_both_ends_peer_crash),
		cmocka_unit_test(test_fin_then_rst_without_recv),
		cmocka_unit_test(test_fin_then_rst_rst_lost),
		cmocka_unit_test(test_next_calls_fin_then_rst),
		cmocka_unit_test(test_next_calls_peer_crash),
		cmocka_unit_test(test_lost_marks_incomplete),
		cmocka_unit_test(test_midlife_marks_incomplete),
		cmocka_unit_test(test_self_reset_is_not_peer_reset),
		cmocka_unit_test(test_shutdown_connecting),
		cmocka_unit_test(test_connect_abandoned),
		cmocka_unit_test(test_connect_abandoned_curl),
		cmocka_unit_test(test_fin_before_accept),
		cmocka_unit_test(test_fin_before_accept_rst_lost),
		cmocka_unit_test(test_owner_killed),
		cmocka_unit_test(test_owner_killed_exit_unseen),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_no_reply),
		cmocka_unit_test(test_sender_named_without_reasons),
		cmocka_unit_test(test_sender_without_id_is_a_socket),
		cmocka_unit_test(test_second_child_seen_from_birth),
		cmocka_unit_test(test_twin_tuple_in_other_netns),
		cmocka_unit_test(test_no_reply_quick_close_is_orderly),
		cmocka_unit_test(test_no_reply_answered_is_orderly),
		cmocka_unit_test(test_close_of_a_copy_is_no_close),
		cmocka_unit_test(test_joined_open),
		cmocka_unit_test(test_joined_open_recorded),
		cmocka_unit_test(test_catalogue),
	};

	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
