// SPDX-License-Identifier: GPL-2.0
/*
 * Verdicts: a connection's events are first reduced to facts (which event
 * showed the peer's FIN, which RST arrived in which state, what sk_err the
 * kernel stored, what each call returned), then the rules are tried in
 * catalogue order over those facts.  A rule reads facts, never the order in
 * which the application happened to call recv/send/SO_ERROR.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NONE	      ((size_t)-1)

struct facts {
	const struct conn *c;
	size_t birth; /* connect's SYN_SENT, or the child's SYN_RECV */
	size_t established;
	size_t peer_fin; /* the state change that shows the peer's FIN */
	size_t our_fin;	 /* the state change that shows our FIN */
	size_t handoff;	 /* the orphan went on as a timewait sock */
	size_t rst_recv; /* first tcp_receive_reset */
	unsigned int rst_recv_state;
	size_t rst_sent; /* first RST this socket sent */
	size_t peer_rst; /* first RST another local socket sent us */
	size_t sk_error; /* first error report with sk_err set */
	int sk_err;
	size_t close_call;
	size_t destroy;
	size_t recv_eof;       /* first recv that returned 0 */
	size_t recv_err;       /* first recv that failed with a connection error */
	size_t send_err;       /* first send that failed */
	size_t send_after_fin; /* first successful send after the peer's FIN */
	size_t so_error;       /* first getsockopt(SO_ERROR) that returned an error */
	size_t consumed;       /* first call that returned sk_err to the application */
	unsigned int last_state;
};

/* Errors that say nothing about the connection's fate. */
static bool transient(int err)
{
	return err == EAGAIN || err == EINTR || err == EINPROGRESS || err == EALREADY;
}

/*
 * We learn of the peer's FIN only from state moves.  A FIN that reaches a
 * socket in FIN_WAIT2 shows as FIN_WAIT2 -> CLOSE (tcp_time_wait hands over
 * to a timewait sock, then tcp_done), which an RST also causes: it is the
 * FIN only when no RST came first.  And only while the owner still holds
 * the socket: an orphan is handed to a timewait sock as soon as it reaches
 * FIN_WAIT2 (tcp_fin_timeout <= 60 s), FIN or not.
 */
static bool peer_fin_move(const struct facts *f, const struct ta_event *e)
{
	if (e->a == TA_TCP_ESTABLISHED && e->b == TA_TCP_CLOSE_WAIT)
		return true;
	if (e->a == TA_TCP_FIN_WAIT1 && e->b == TA_TCP_CLOSING)
		return true;
	if (e->a == TA_TCP_FIN_WAIT2 && e->b == TA_TCP_TIME_WAIT)
		return true;
	return e->a == TA_TCP_FIN_WAIT2 && e->b == TA_TCP_CLOSE && f->rst_recv == NONE &&
	       f->rst_sent == NONE && f->close_call == NONE;
}

/* An orphan leaving FIN_WAIT1/FIN_WAIT2/CLOSING quietly went on as a timewait sock. */
static bool timewait_handoff(const struct facts *f, const struct ta_event *e)
{
	return f->close_call != NONE && e->b == TA_TCP_CLOSE && f->rst_recv == NONE &&
	       f->rst_sent == NONE &&
	       (e->a == TA_TCP_FIN_WAIT2 || e->a == TA_TCP_CLOSING || e->a == TA_TCP_TIME_WAIT);
}

static void gather(const struct conn *c, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->birth = f->established = f->peer_fin = f->our_fin = f->handoff = NONE;
	f->rst_recv = f->rst_sent = f->peer_rst = f->sk_error = NONE;
	f->close_call = f->destroy = f->recv_eof = f->recv_err = f->send_err = NONE;
	f->send_after_fin = f->so_error = f->consumed = NONE;

	for (size_t i = 0; i < c->n; i++) {
		const struct ta_event *e = &c->ev[i].ev;
		int ret = e->a;

		switch (e->kind) {
		case TA_EV_STATE:
			f->last_state = e->b;
			if (e->b == TA_TCP_SYN_SENT || e->b == TA_TCP_SYN_RECV)
				f->birth = f->birth == NONE ? i : f->birth;
			if (e->b == TA_TCP_ESTABLISHED && f->established == NONE)
				f->established = i;
			if (f->peer_fin == NONE && peer_fin_move(f, e))
				f->peer_fin = i;
			if (f->handoff == NONE && timewait_handoff(f, e))
				f->handoff = i;
			if (f->our_fin == NONE &&
			    ((e->a == TA_TCP_ESTABLISHED && e->b == TA_TCP_FIN_WAIT1) ||
			     (e->a == TA_TCP_CLOSE_WAIT && e->b == TA_TCP_LAST_ACK)))
				f->our_fin = i;
			break;
		case TA_EV_RST_RECV:
			if (f->rst_recv == NONE) {
				f->rst_recv = i;
				f->rst_recv_state = e->state;
			}
			break;
		case TA_EV_RST_SENT:
			if (f->rst_sent == NONE)
				f->rst_sent = i;
			break;
		case TA_EV_PEER_RST:
			if (f->peer_rst == NONE)
				f->peer_rst = i;
			break;
		case TA_EV_SK_ERROR:
			if (f->sk_error == NONE && e->a) {
				f->sk_error = i;
				f->sk_err = e->a;
			}
			break;
		case TA_EV_DESTROY:
			f->destroy = i;
			break;
		case TA_EV_RECV:
			if (ret == 0 && f->recv_eof == NONE)
				f->recv_eof = i;
			if (ret < 0 && !transient(-ret) && f->recv_err == NONE)
				f->recv_err = i;
			if (ret < 0 && f->sk_err && -ret == f->sk_err && f->consumed == NONE)
				f->consumed = i;
			break;
		case TA_EV_SEND:
			if (ret < 0 && !transient(-ret) && f->send_err == NONE)
				f->send_err = i;
			if (ret < 0 && f->sk_err && -ret == f->sk_err && f->consumed == NONE)
				f->consumed = i;
			if (ret >= 0 && f->peer_fin != NONE && f->send_after_fin == NONE)
				f->send_after_fin = i;
			break;
		case TA_EV_SYSCALL:
			if (e->b == TA_SYS_CLOSE && f->close_call == NONE)
				f->close_call = i;
			if (e->b == TA_SYS_SO_ERROR && e->a == 0 && e->c && f->so_error == NONE)
				f->so_error = i;
			if (e->b == TA_SYS_SO_ERROR && e->a == 0 && f->sk_err &&
			    e->c == f->sk_err && f->consumed == NONE)
				f->consumed = i;
			if (e->b == TA_SYS_CONNECT && e->a < 0 && f->sk_err && -e->a == f->sk_err &&
			    f->consumed == NONE)
				f->consumed = i;
			break;
		}
	}
}

static void cite(struct verdict *v, size_t idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cite(struct verdict *v, size_t idx, const char *fmt, ...)
{
	struct evidence *ev;
	va_list ap;

	if (idx == NONE || v->nevidence == TA_MAX_EVIDENCE)
		return;
	for (size_t i = 0; i < v->nevidence; i++)
		if (v->evidence[i].idx == idx)
			return;
	ev = &v->evidence[v->nevidence++];
	ev->idx = idx;
	va_start(ap, fmt);
	vsnprintf(ev->why, sizeof(ev->why), fmt, ap);
	va_end(ap);
}

static void say(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct verdict *v, const char *fmt, ...)
{
	size_t len = strlen(v->sentence);
	va_list ap;

	if (len >= sizeof(v->sentence) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(v->sentence + len, sizeof(v->sentence) - len, fmt, ap);
	va_end(ap);
}

static const struct ta_event *ev(const struct facts *f, size_t idx)
{
	return &f->c->ev[idx].ev;
}

static const char *errname(int err)
{
	const char *n = ta_errno_name(err);

	return n ? n : "an unnamed error";
}

/* What the application saw, in its own terms, for the evidence list. */
static void cite_calls(const struct facts *f, struct verdict *v)
{
	if (f->recv_eof != NONE)
		cite(v, f->recv_eof, "recv returned 0 (EOF)");
	if (f->recv_err != NONE)
		cite(v, f->recv_err, "recv failed with %s", errname(-ev(f, f->recv_err)->a));
	if (f->send_err != NONE)
		cite(v, f->send_err, "send failed with %s%s", errname(-ev(f, f->send_err)->a),
		     ev(f, f->send_err)->c ? ", and the kernel sent SIGPIPE" : "");
	if (f->so_error != NONE)
		cite(v, f->so_error, "getsockopt(SO_ERROR) returned %s",
		     errname(ev(f, f->so_error)->c));
}

static void cite_peer_rst(const struct facts *f, struct verdict *v)
{
	const struct tl_event *t;

	if (f->peer_rst == NONE)
		return;
	t = &f->c->ev[f->peer_rst];
	cite(v, f->peer_rst, "the other end, a socket on this host, sent the RST (%s): %s",
	     t->rst_name[0] ? t->rst_name : "no reason given", ta_rst_meaning(t->rst));
}

/* The sentence's clause about where the RST came from. */
static void say_rst_origin(const struct facts *f, struct verdict *v)
{
	const struct tl_event *t;

	if (f->peer_rst == NONE) {
		say(v,
		    " No socket on this host was seen sending that RST, so it came from another "
		    "host (or from before the attach); its sender's reason is not visible here.");
		return;
	}
	t = &f->c->ev[f->peer_rst];
	say(v, " The RST was sent by a socket on this host (%s): %s.",
	    t->rst_name[0] ? t->rst_name : "no reason given", ta_rst_meaning(t->rst));
}

/* What the application saw, or will see on its next calls. */
static void say_calls(const struct facts *f, struct verdict *v)
{
	bool any = false;

	if (f->recv_eof != NONE || f->recv_err != NONE || f->send_err != NONE ||
	    f->so_error != NONE) {
		say(v, " The application saw:");
		if (f->recv_eof != NONE) {
			say(v, " recv returned 0 (EOF)");
			any = true;
		}
		if (f->recv_err != NONE) {
			say(v, "%s recv failed with %s", any ? ";" : "",
			    errname(-ev(f, f->recv_err)->a));
			any = true;
		}
		if (f->send_err != NONE) {
			say(v, "%s send failed with %s%s", any ? ";" : "",
			    errname(-ev(f, f->send_err)->a),
			    ev(f, f->send_err)->c ? " and SIGPIPE" : "");
			any = true;
		}
		if (f->so_error != NONE)
			say(v, "%s SO_ERROR returned %s", any ? ";" : "",
			    errname(ev(f, f->so_error)->c));
		say(v, ".");
	} else if (v->next.known) {
		say(v,
		    " The application has not called into the socket since; its next recv will %s",
		    v->next.recv ? "fail with " : "return 0 (EOF)");
		if (v->next.recv)
			say(v, "%s", errname(v->next.recv));
		say(v, ", its next send will fail with %s%s.", errname(v->next.send),
		    v->next.sigpipe ? " and raise SIGPIPE" : "");
	}
}

/*
 * What the next recv, send and SO_ERROR return, from the kernel's rules
 * (tcp_recvmsg: a received FIN wins over a pending error; sk_err is
 * consumed once; then EPIPE for sends).  Unknowable once the socket is
 * closed.
 */
static void predict(const struct facts *f, struct verdict *v)
{
	bool pending = f->sk_err && f->consumed == NONE;

	if (f->close_call != NONE || f->destroy != NONE)
		return;
	if (f->last_state != TA_TCP_CLOSE)
		return;
	v->next.known = true;
	v->next.recv = f->peer_fin != NONE ? 0 : (pending ? f->sk_err : 0);
	v->next.send = pending ? f->sk_err : EPIPE;
	v->next.sigpipe = v->next.send == EPIPE;
	v->next.so_error = pending ? f->sk_err : 0;
}

/* ---- the rules, one per cause ---- */

static bool rule_reset_after_peer_fin(const struct facts *f, struct verdict *v)
{
	const struct ta_event *fin;
	uint64_t after = 0;

	if (f->rst_recv != NONE) {
		if (f->rst_recv_state != TA_TCP_CLOSE_WAIT)
			return false;
	} else if (!(f->sk_err == EPIPE && f->peer_fin != NONE)) {
		return false;
	}
	if (f->peer_fin == NONE)
		return false;
	fin = ev(f, f->peer_fin);
	/* Counters only grow: the last event holds every byte sent. */
	after = ev(f, f->c->n - 1)->tx_bytes - fin->tx_bytes;

	cite(v, f->peer_fin, "the peer's FIN arrived: %s -> %s", ta_state_name(fin->a),
	     ta_state_name(fin->b));
	if (f->send_after_fin != NONE)
		cite(v, f->send_after_fin, "we sent data after the peer's FIN (send returned %d)",
		     ev(f, f->send_after_fin)->a);
	cite_peer_rst(f, v);
	cite(v, f->rst_recv, "an RST arrived while we were in CLOSE_WAIT");
	cite(v, f->sk_error,
	     "the kernel stored %s on the socket (an RST in CLOSE_WAIT gives EPIPE)",
	     errname(f->sk_err));
	cite_calls(f, v);

	say(v, "The peer closed its end first (its FIN moved us to CLOSE_WAIT)");
	if (after)
		say(v, ", we then sent %" PRIu64 " more byte%s", after, after == 1 ? "" : "s");
	else if (f->send_after_fin != NONE)
		say(v, ", we kept sending");
	say(v, ", and the peer answered with an RST. An RST in CLOSE_WAIT stores EPIPE, not "
	       "ECONNRESET: recv returns 0 (EOF) because the FIN came first, and send fails with "
	       "EPIPE (raising SIGPIPE unless MSG_NOSIGNAL).");
	say_rst_origin(f, v);
	say_calls(f, v);
	return true;
}

static bool synchronized(unsigned int state)
{
	switch (state) {
	case TA_TCP_SYN_RECV:
	case TA_TCP_ESTABLISHED:
	case TA_TCP_FIN_WAIT1:
	case TA_TCP_FIN_WAIT2:
	case TA_TCP_LAST_ACK:
	case TA_TCP_CLOSING:
		return true;
	}
	return false;
}

/*
 * An orphan that receives data resets itself (tcp_receive_reset fires) and
 * then answers with TCP_ABORT_ON_DATA: no RST arrived, so it is not the
 * peer's doing.
 */
static bool self_reset(const struct facts *f)
{
	for (size_t i = f->rst_recv + 1; i < f->c->n; i++) {
		const struct tl_event *t = &f->c->ev[i];

		if (t->ev.kind == TA_EV_RST_SENT)
			return t->rst == TA_RST_TCP_ABORT_ON_DATA;
	}
	return false;
}

static bool rule_peer_reset(const struct facts *f, struct verdict *v)
{
	const struct ta_event *r;

	if (f->rst_recv == NONE || !synchronized(f->rst_recv_state))
		return false;
	if (f->peer_fin != NONE && f->peer_fin < f->rst_recv)
		return false;
	if (self_reset(f))
		return false;
	r = ev(f, f->rst_recv);

	cite(v, f->established, "the connection was established");
	cite_peer_rst(f, v);
	cite(v, f->rst_recv, "an RST arrived in %s, with no FIN from the peer before it",
	     ta_state_name(r->state));
	cite(v, f->sk_error, "the kernel stored %s on the socket", errname(f->sk_err));
	cite_calls(f, v);

	say(v,
	    "The peer reset the connection while it was %s, without closing its end first "
	    "(no FIN before the RST), so the kernel stored ECONNRESET: the first recv or send "
	    "fails with ECONNRESET, later sends with EPIPE.",
	    ta_state_name(r->state));
	say_rst_origin(f, v);
	say_calls(f, v);
	return true;
}

static bool rule_orderly_close(const struct facts *f, struct verdict *v)
{
	if (f->our_fin == NONE || (f->peer_fin == NONE && f->handoff == NONE))
		return false;
	if (f->rst_recv != NONE || f->rst_sent != NONE || f->peer_rst != NONE || f->sk_err)
		return false;
	if (f->recv_err != NONE || f->send_err != NONE)
		return false;

	const struct ta_event *of = ev(f, f->our_fin);

	cite(v, f->our_fin, "we sent our FIN: %s -> %s", ta_state_name(of->a),
	     ta_state_name(of->b));
	cite(v, f->recv_eof, "recv returned 0 (EOF)");
	if (f->peer_fin == NONE) {
		const struct ta_event *h = ev(f, f->handoff);

		cite(v, f->close_call, "the owner closed the socket");
		cite(v, f->handoff,
		     "the kernel handed the closed socket to a timewait socket: %s -> %s",
		     ta_state_name(h->a), ta_state_name(h->b));
		say(v,
		    "We closed first; the socket left %s quietly (no RST, no error) and the kernel "
		    "carries on its last phase in a timewait socket. Whether the peer closed too "
		    "is "
		    "not visible: a timewait socket is traced only if it sends an RST.",
		    ta_state_name(h->a));
		return true;
	}
	cite(v, f->peer_fin, "the peer's FIN arrived: %s -> %s",
	     ta_state_name(ev(f, f->peer_fin)->a), ta_state_name(ev(f, f->peer_fin)->b));
	say(v,
	    "Both ends closed with FIN (%s first); no RST was sent or received and the kernel "
	    "stored no error.",
	    f->our_fin < f->peer_fin ? "we" : "the peer");
	return true;
}

/* The fallback: say what was seen and what is missing. */
static bool rule_unknown(const struct facts *f, struct verdict *v)
{
	const struct conn *c = f->c;

	if (!c->ended)
		say(v, "The connection had not ended when tracing stopped (last state %s).",
		    ta_state_name(f->last_state ? f->last_state : c->ev[0].ev.state));
	else
		say(v, "The events seen do not match any known cause.");
	if (f->rst_recv != NONE) {
		cite(v, f->rst_recv, "an RST arrived in %s", ta_state_name(f->rst_recv_state));
		say(v, " An RST arrived in %s.", ta_state_name(f->rst_recv_state));
	}
	if (f->rst_sent != NONE) {
		const struct tl_event *t = &c->ev[f->rst_sent];

		cite(v, f->rst_sent, "we sent an RST (%s)",
		     t->rst_name[0] ? t->rst_name : "no reason");
		say(v, " This socket sent an RST (%s): %s.",
		    t->rst_name[0] ? t->rst_name : "no reason", ta_rst_meaning(t->rst));
	}
	if (f->sk_err) {
		cite(v, f->sk_error, "the kernel stored %s on the socket", errname(f->sk_err));
		say(v, " The kernel stored %s on the socket.", errname(f->sk_err));
	}
	cite_calls(f, v);
	say_calls(f, v);
	return true;
}

struct rule {
	struct cause cause;
	bool (*match)(const struct facts *f, struct verdict *v);
};

/* The catalogue.  Order matters: the first rule that matches decides. */
static const struct rule rules[] = {
	{ { "reset_after_peer_fin", EPIPE, "WSAECONNABORTED (10053)",
	    "the peer's FIN, then its RST, while we were in CLOSE_WAIT: recv EOF, send EPIPE" },
	  rule_reset_after_peer_fin },
	{ { "peer_reset", ECONNRESET, "WSAECONNRESET (10054)",
	    "RST received in a synchronized state with no FIN from the peer before it" },
	  rule_peer_reset },
	{ { "orderly_close", 0, NULL, "both FINs, no RST, no error" }, rule_orderly_close },
	{ { "unknown", 0, NULL, "the evidence does not decide; the verdict says what is missing" },
	  rule_unknown },
};

const struct cause *ta_cause_at(size_t i)
{
	return i < ARRAY_SIZE(rules) ? &rules[i].cause : NULL;
}

const struct cause *ta_cause_by_id(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (!strcmp(rules[i].cause.id, id))
			return &rules[i].cause;
	return NULL;
}

static void completeness(const struct facts *f, struct verdict *v)
{
	const struct conn *c = f->c;

	v->complete = !c->lost && !c->midlife;
	if (c->lost)
		snprintf(
			v->missing, sizeof(v->missing),
			c->ended
				? "events of this connection were lost (ring buffer full)"
				: "events were lost (ring buffer full) and this connection had not "
				  "ended: its last events may be among them");
	else if (c->midlife)
		snprintf(v->missing, sizeof(v->missing),
			 "its beginning was not seen: the socket predates the attach, or these are "
			 "the last events of a connection already reported");
	else if (!c->ended)
		snprintf(v->missing, sizeof(v->missing),
			 "the connection had not ended when tracing stopped");
}

/* Evidence reads best in the order it happened. */
static int by_time(const void *a, const void *b)
{
	const struct evidence *x = a, *y = b;

	return (x->idx > y->idx) - (x->idx < y->idx);
}

void ta_decide(const struct conn *c, struct verdict *v)
{
	struct facts f;

	memset(v, 0, sizeof(*v));
	gather(c, &f);
	completeness(&f, v);
	predict(&f, v);
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		size_t keep = v->nevidence;

		if (rules[i].match(&f, v)) {
			v->cause = &rules[i].cause;
			v->err = rules[i].cause.err;
			qsort(v->evidence, v->nevidence, sizeof(v->evidence[0]), by_time);
			return;
		}
		/* A rule that declined leaves nothing behind. */
		v->nevidence = keep;
		v->sentence[0] = '\0';
	}
}
