// SPDX-License-Identifier: GPL-2.0
/*
 * Verdicts.  A connection's events are reduced to facts (facts.c), then the
 * rules below are tried in catalogue order.  A rule reads facts, never the
 * order in which the application happened to call recv/send/SO_ERROR; it
 * cites the events that prove it and writes one plain explanation.
 *
 * Adding a cause: one rule function, one row in rules[], its section in
 * docs/causes.md, a repro scenario and the tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* Seconds between two events, for "over how long". */
static double secs(const struct facts *f, size_t from, size_t to)
{
	uint64_t a = ev(f, from)->ts_ns, b = ev(f, to)->ts_ns;

	return b > a ? (b - a) / 1e9 : 0;
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
		     ev(f, f->send_err)->c == TA_SIGPIPE_FATAL
			     ? ", and the SIGPIPE it raised kills "
			       "the process (default action)"
		     : ev(f, f->send_err)->c ? ", and raised SIGPIPE (caught, ignored or blocked)"
					     : "");
	if (f->so_error != NONE)
		cite(v, f->so_error, "getsockopt(SO_ERROR) returned %s",
		     errname(ev(f, f->so_error)->c));
}

/* "killed by SIGKILL", "exit status 1", from a status as wait() reports it. */
static void describe_status(int status, char *buf, size_t len)
{
	static const char *const sig[] = {
		[1] = "SIGHUP",	  [2] = "SIGINT",   [3] = "SIGQUIT",  [4] = "SIGILL",
		[6] = "SIGABRT",  [7] = "SIGBUS",   [8] = "SIGFPE",   [9] = "SIGKILL",
		[11] = "SIGSEGV", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
	};
	int s = status & 0x7f;

	if (!s)
		snprintf(buf, len, "exit status %d", (status >> 8) & 0xff);
	else if (s < (int)ARRAY_SIZE(sig) && sig[s])
		snprintf(buf, len, "killed by %s%s", sig[s], status & 0x80 ? ", core dumped" : "");
	else
		snprintf(buf, len, "killed by signal %d%s", s,
			 status & 0x80 ? ", core dumped" : "");
}

static bool closed_by_exit(const struct facts *f)
{
	return f->close_call != NONE && f->close_call == f->owner_exit;
}

/*
 * Who closed the socket, for evidence and sentences: "the owner closed the
 * socket", or the exit that made the kernel close it on the owner's behalf.
 */
static void describe_close(const struct facts *f, char *buf, size_t len)
{
	const struct ta_event *e;
	char how[64];

	if (!closed_by_exit(f)) {
		snprintf(buf, len, "the owner closed the socket");
		return;
	}
	e = ev(f, f->owner_exit);
	describe_status(e->c, how, sizeof(how));
	snprintf(buf, len,
		 "the owner, pid %u (%.16s), exited (%s) with the socket open; the kernel "
		 "closed it on its behalf",
		 e->owner_tgid, e->pcomm[0] ? e->pcomm : e->comm, how);
}

static void cite_close(const struct facts *f, struct verdict *v, const char *prefix)
{
	char who[192];

	if (f->close_call == NONE)
		return;
	describe_close(f, who, sizeof(who));
	cite(v, f->close_call, "%s%s", prefix, who);
}

/* A sentence about the exit, when it is what closed the socket. */
static void say_exit(const struct facts *f, struct verdict *v)
{
	char who[192];

	if (!closed_by_exit(f))
		return;
	describe_close(f, who, sizeof(who));
	who[0] = 'T';
	say(v, "%s, exactly as close() would (an exit is not a FIN from the peer). ", who);
}

/* RST reasons sent from the closing process's own context name that process. */
static bool process_context_reason(enum ta_rst r)
{
	return r == TA_RST_TCP_ABORT_ON_CLOSE || r == TA_RST_TCP_ABORT_ON_LINGER ||
	       r == TA_RST_TCP_STATE || r == TA_RST_TCP_DISCONNECT_WITH_DATA;
}

/* "pid 812 (srv) closed its socket with 1 byte unread: TCP_ABORT_ON_CLOSE" */
static void describe_sender(const struct tl_event *t, char *buf, size_t len)
{
	const struct ta_event *e = &t->ev;
	const char *reason = t->rst_name[0] ? t->rst_name : "no reason given";

	const char *comm = e->pcomm[0] ? e->pcomm : e->comm;

	/* No id but a state: a socket sent it, on a kernel that gives it no id (before 5.12). */
	if (!e->peer_cookie && !e->b) {
		snprintf(buf, len, "no socket on this host owned that address and port (%s)",
			 reason);
		return;
	}
	/*
	 * Before 6.10 the kernel gives no reason.  A sender already CLOSE with
	 * bytes unread, reset from another process's context, is what close()
	 * with unread data does (__tcp_close); say it is inferred.
	 */
	if ((t->rst == TA_RST_NONE || t->rst == TA_RST_NOT_SPECIFIED) && e->aux &&
	    e->b == TA_TCP_CLOSE && e->task_tgid != e->owner_tgid) {
		snprintf(buf, len,
			 "pid %u (%.16s) closed its socket with %u byte%s unread: "
			 "TCP_ABORT_ON_CLOSE, inferred (this kernel gives no reason)",
			 e->task_tgid, comm, e->aux, plural(e->aux));
		return;
	}
	if (process_context_reason(t->rst) && e->aux)
		snprintf(buf, len, "pid %u (%.16s) closed its socket with %u byte%s unread: %s",
			 e->task_tgid, comm, e->aux, plural(e->aux), reason);
	else if (process_context_reason(t->rst))
		snprintf(buf, len, "pid %u (%.16s) aborted the connection there: %s, %s",
			 e->task_tgid, comm, reason, ta_rst_meaning(t->rst));
	else
		snprintf(buf, len, "the sending socket's reason was %s (%s)", reason,
			 ta_rst_meaning(t->rst));
}

static void cite_peer_rst(const struct facts *f, struct verdict *v)
{
	char who[256];

	if (f->peer_rst == NONE)
		return;
	describe_sender(&f->c->ev[f->peer_rst], who, sizeof(who));
	cite(v, f->peer_rst, "the RST's sender, on this host: %s", who);
}

/* The sentence's clause about where the RST came from. */
static void say_rst_origin(const struct facts *f, struct verdict *v)
{
	char who[256];

	if (f->peer_rst == NONE) {
		say(v, " Its sender was not matched to a socket on this host (it came from another "
		       "host, or was sent before the attach); the sender's reason is not visible "
		       "here.");
		return;
	}
	describe_sender(&f->c->ev[f->peer_rst], who, sizeof(who));
	say(v, " The RST came from this host: %s.", who);
}

/* What the application saw, or will see on its next calls. */
static void say_calls(const struct facts *f, struct verdict *v)
{
	bool any = false;

	if (f->recv_eof != NONE || f->recv_err != NONE || f->send_err != NONE ||
	    f->so_error != NONE || f->connect_call != NONE) {
		size_t mark = strlen(v->sentence);

		say(v, " The application saw:");
		if (f->connect_call != NONE && ev(f, f->connect_call)->a < 0 &&
		    !transient_errno(-ev(f, f->connect_call)->a)) {
			say(v, " connect failed with %s", errname(-ev(f, f->connect_call)->a));
			any = true;
		}
		if (f->recv_eof != NONE) {
			say(v, "%s recv returned 0 (EOF)", any ? ";" : "");
			any = true;
		}
		if (f->recv_err != NONE) {
			say(v, "%s recv failed with %s", any ? ";" : "",
			    errname(-ev(f, f->recv_err)->a));
			any = true;
		}
		if (f->send_err != NONE) {
			const struct ta_event *s = ev(f, f->send_err);

			say(v, "%s send failed with %s%s", any ? ";" : "", errname(-s->a),
			    s->c == TA_SIGPIPE_FATAL ? " and SIGPIPE, which kills the process"
			    : s->c		     ? " and SIGPIPE (not fatal here)"
						     : "");
			any = true;
		}
		if (f->so_error != NONE) {
			say(v, "%s SO_ERROR returned %s", any ? ";" : "",
			    errname(ev(f, f->so_error)->c));
			any = true;
		}
		if (any)
			say(v, ".");
		else
			v->sentence[mark] = '\0';
	}
	if (!any && v->next.known) {
		say(v,
		    " The application has not called into the socket since; its next recv will "
		    "return any data still queued, then %s",
		    v->next.recv ? "fail with " : "0 (EOF)");
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
	/* Without error reports (before 5.14) a pending error would be invisible. */
	if (f->c->errors_unseen)
		return;
	v->next.known = true;
	v->next.recv = f->peer_fin != NONE ? 0 : (pending ? f->sk_err : 0);
	v->next.send = pending ? f->sk_err : EPIPE;
	v->next.sigpipe = v->next.send == EPIPE;
	v->next.so_error = pending ? f->sk_err : 0;
}

/* ---- the rules, one per cause, in catalogue order ---- */

/* A connect() retried on a socket whose failure was already reported. */
/* The event that shows the peer's FIN: a state move, or the first state seen. */
static void cite_peer_fin(const struct facts *f, struct verdict *v)
{
	const struct ta_event *e;

	if (f->peer_fin == NONE)
		return;
	e = ev(f, f->peer_fin);
	if (e->kind == TA_EV_SUMMARY)
		cite(v, f->peer_fin, "the peer's FIN arrived (in the kernel's summary)");
	else if (f->peer_fin_unseen)
		cite(v, f->peer_fin,
		     "first seen%s in %s: the peer's FIN had arrived before tracing saw the socket",
		     e->kind == TA_EV_JOIN				 ? " at attach"
		     : e->kind == TA_EV_SYSCALL && e->b == TA_SYS_ACCEPT ? " at accept()"
									 : "",
		     ta_state_name(e->state));
	else
		cite(v, f->peer_fin, "the peer's FIN arrived: %s -> %s", ta_state_name(e->a),
		     ta_state_name(e->b));
}

static bool rule_connect_on_dead_socket(const struct facts *f, struct verdict *v)
{
	const struct ta_event *first;

	if (f->connect_aborted == NONE || f->sk_err == ECONNABORTED)
		return false;
	first = f->connect_call != NONE ? ev(f, f->connect_call) : NULL;
	cite(v, f->syn_sent, "connect() started: CLOSE -> SYN_SENT");
	cite(v, f->sk_error, "the first attempt failed: the kernel stored %s", errname(f->sk_err));
	if (first && f->connect_call != f->connect_aborted && first->a < 0 &&
	    !transient_errno(-first->a))
		cite(v, f->connect_call, "connect() returned %s, consuming that error",
		     errname(-first->a));
	else if (f->consumed != NONE && f->consumed != f->connect_aborted)
		cite(v, f->consumed, "the application read that error, which consumed it");
	cite(v, f->connect_aborted,
	     "connect() on the same, now closed socket returned ECONNABORTED");
	say(v,
	    "connect() was called again on a socket whose earlier connection attempt had already "
	    "failed");
	if (f->sk_err)
		say(v, " (%s, already returned to the application)", errname(f->sk_err));
	say(v, ". This connect() returned ECONNABORTED and sent nothing: the kernel would not "
	       "start a new attempt on this socket. Close it and retry with a new socket.");
	return true;
}

/* SOCK_DESTROY (ss -K) or bpf_sock_destroy: tcp_abort(sk, ECONNABORTED). */
static bool rule_local_abort(const struct facts *f, struct verdict *v)
{
	const struct ta_event *e;

	if (f->sk_err != ECONNABORTED)
		return false;
	e = ev(f, f->sk_error);
	if (e->task_tgid != e->owner_tgid)
		cite(v, f->sk_error,
		     "pid %u (%.16s) aborted the socket: the kernel stored ECONNABORTED",
		     e->task_tgid, e->comm);
	else
		cite(v, f->sk_error, "the socket was aborted from its own process: ECONNABORTED");
	if (f->rst_sent != NONE)
		cite(v, f->rst_sent, "the abort sent an RST to the peer (%s%s)",
		     ta_rst_name(f->rst_reason), f->rst_inferred ? ", inferred" : "");
	cite_calls(f, v);
	if (e->task_tgid != e->owner_tgid)
		say(v,
		    "The connection was destroyed on this host by pid %u (%.16s), through "
		    "SOCK_DESTROY (what `ss -K` does) or bpf_sock_destroy: the kernel aborted it "
		    "with ECONNABORTED",
		    e->task_tgid, e->comm);
	else
		say(v, "The connection was aborted on this host from its own process (SOCK_DESTROY "
		       "or bpf_sock_destroy): the kernel stored ECONNABORTED");
	say(v, "%s. On Linux ECONNABORTED never comes from the peer.",
	    f->rst_sent != NONE ? " and sent the peer an RST, so the peer sees ECONNRESET" : "");
	say_calls(f, v);
	return true;
}

/*
 * tcp_disconnect() itself stores ECONNRESET and reports it, in the caller's
 * context, after the move to CLOSE and before the call returns: that error
 * is the disconnect's own, not an RST's.
 */
static bool disconnect_error(const struct facts *f, size_t by)
{
	const struct ta_event *e;

	if (f->sk_err != ECONNRESET || f->rst_recv != NONE || f->peer_rst != NONE)
		return false;
	e = ev(f, f->sk_error);
	return f->sk_error > f->closed && f->sk_error < by && !(e->flags & TA_F_SOFTIRQ) &&
	       e->task_tgid == e->owner_tgid;
}

/* connect(AF_UNSPEC), or shutdown() while the handshake was in progress. */
static bool rule_disconnect(const struct facts *f, struct verdict *v)
{
	size_t by = f->connect_unspec;

	if (by == NONE && f->shutdown_call != NONE && f->closed != NONE &&
	    f->closed_from == TA_TCP_SYN_SENT && f->closed <= f->shutdown_call &&
	    f->rst_recv == NONE && (!f->sk_err || disconnect_error(f, f->shutdown_call)))
		by = f->shutdown_call;
	if (by == NONE)
		return false;
	cite(v, f->syn_sent, "connect() started: CLOSE -> SYN_SENT");
	cite(v, by, "%s",
	     by == f->connect_unspec ? "connect(AF_UNSPEC) disconnected the socket"
				     : "shutdown() during the handshake");
	cite(v, f->closed, "the kernel dropped the connection: %s -> CLOSE",
	     ta_state_name(f->closed_from));
	if (f->sk_err == ECONNRESET)
		cite(v, f->sk_error,
		     "tcp_disconnect() stored ECONNRESET and reported it in our own context: no "
		     "RST came from anywhere");
	cite_calls(f, v);
	say(v,
	    "The application itself disconnected the socket (%s while it was %s): the kernel "
	    "drops the connection and stores ECONNRESET, which SO_ERROR returns.",
	    by == f->connect_unspec ? "connect() with AF_UNSPEC" : "shutdown()",
	    f->closed != NONE ? ta_state_name(f->closed_from) : "connecting");
	say_calls(f, v);
	return true;
}

static bool rule_connection_refused(const struct facts *f, struct verdict *v)
{
	if (f->rst_recv == NONE || f->rst_recv_state != TA_TCP_SYN_SENT)
		return false;
	cite(v, f->syn_sent, "connect() sent a SYN: CLOSE -> SYN_SENT");
	cite_peer_rst(f, v);
	cite(v, f->rst_recv, "the SYN was answered by an RST");
	cite(v, f->sk_error, "the kernel stored %s", errname(f->sk_err));
	cite_calls(f, v);
	say(v, "The connection was refused: the peer answered the SYN with an RST, which means "
	       "nothing was listening on that address and port (or a firewall rejected it with "
	       "an RST). connect() fails with ECONNREFUSED.");
	say_rst_origin(f, v);
	say_calls(f, v);
	return true;
}

/* Errors only an ICMP message (tcp_v4_err, tcp_v6_err) stores on a TCP socket. */
static bool icmp_errno(int err)
{
	return err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN || err == ENETDOWN ||
	       err == EPROTO || err == EACCES || err == EPERM || err == EOPNOTSUPP;
}

static bool rule_icmp_unreachable(const struct facts *f, struct verdict *v)
{
	bool refused = f->sk_err == ECONNREFUSED && f->rst_recv == NONE;

	if (!f->sk_err || f->rst_recv != NONE || !(icmp_errno(f->sk_err) || refused))
		return false;
	v->err = f->sk_err;
	v->winsock = ta_winsock(f->sk_err);
	cite(v, f->syn_sent, "connect() sent a SYN: CLOSE -> SYN_SENT");
	if (f->first_retrans != NONE)
		cite(v, f->first_retrans, "retransmissions began");
	cite(v, f->sk_error, "the kernel stored %s, with no RST received: an ICMP error",
	     errname(f->sk_err));
	cite_calls(f, v);
	if (f->closed_from == TA_TCP_SYN_SENT || f->established == NONE)
		say(v,
		    "An ICMP error (%s: %s) answered the connection attempt: a router or the "
		    "destination host said it cannot be reached. connect() fails with %s.",
		    errname(f->sk_err), ta_errno_text(f->sk_err), errname(f->sk_err));
	else
		say(v,
		    "The connection timed out after %u retransmission%s, and the kernel reports "
		    "the last ICMP error it had received (%s: %s) instead of ETIMEDOUT.",
		    f->retrans, plural(f->retrans), errname(f->sk_err), ta_errno_text(f->sk_err));
	say_calls(f, v);
	return true;
}

/* How the retransmissions went, for the timeout explanations. */
static void say_retrans(const struct facts *f, struct verdict *v)
{
	if (f->first_retrans != NONE && f->sk_error != NONE)
		say(v, " %u retransmission%s over %.1f s went unanswered.", f->retrans,
		    plural(f->retrans), secs(f, f->first_retrans, f->sk_error));
}

static bool timed_out(const struct facts *f)
{
	return f->sk_err == ETIMEDOUT;
}

static bool rule_timeout_keepalive(const struct facts *f, struct verdict *v)
{
	const struct ta_event *e;

	if (!timed_out(f))
		return false;
	if (!(f->rst_sent != NONE && f->rst_reason == TA_RST_TCP_KEEPALIVE_TIMEOUT))
		return false;
	e = ev(f, f->sk_error);
	cite(v, f->rst_sent, "the keepalive timer gave up and sent an RST (%s%s)",
	     ta_rst_name(f->rst_reason), f->rst_inferred ? ", inferred" : "");
	cite(v, f->sk_error, "the kernel stored ETIMEDOUT after %u unanswered keepalive probe%s",
	     e->probes, plural(e->probes));
	cite_calls(f, v);
	say(v,
	    "The connection was idle and the peer stopped answering: %u keepalive probe%s went "
	    "unanswered, so the kernel gave up, sent an RST and stored ETIMEDOUT. The peer host "
	    "is down, unreachable, or something on the path dropped the connection's state.",
	    e->probes, plural(e->probes));
	say_calls(f, v);
	return true;
}

static bool rule_timeout_syn(const struct facts *f, struct verdict *v)
{
	if (!timed_out(f) || f->closed_from != TA_TCP_SYN_SENT)
		return false;
	cite(v, f->syn_sent, "connect() sent a SYN: CLOSE -> SYN_SENT");
	cite(v, f->first_retrans, "the SYN went unanswered and was retransmitted");
	cite(v, f->sk_error, "after %u SYN retransmission%s the kernel stored ETIMEDOUT",
	     f->retrans, plural(f->retrans));
	cite_calls(f, v);
	say(v,
	    "Nothing answered the connection attempt: %u SYN retransmission%s over %.1f s "
	    "(net.ipv4.tcp_syn_retries) got neither a SYN-ACK, an RST nor an ICMP error, so "
	    "connect() fails with ETIMEDOUT. Packets to or from the peer are being dropped, or "
	    "the host is down.",
	    f->retrans, plural(f->retrans),
	    f->syn_sent != NONE && f->sk_error != NONE ? secs(f, f->syn_sent, f->sk_error) : 0);
	say_calls(f, v);
	return true;
}

static bool rule_timeout_user(const struct facts *f, struct verdict *v)
{
	const struct ta_event *e;

	if (!timed_out(f) || !ev(f, f->sk_error)->c)
		return false;
	e = ev(f, f->sk_error);
	cite(v, f->first_retrans, "data went unacknowledged and was retransmitted");
	cite(v, f->sk_error, "TCP_USER_TIMEOUT (%d ms) expired: the kernel stored ETIMEDOUT", e->c);
	cite_calls(f, v);
	say(v,
	    "The application's TCP_USER_TIMEOUT of %d ms expired: sent data stayed "
	    "unacknowledged that long, so the kernel gave up and stored ETIMEDOUT.",
	    e->c);
	say_retrans(f, v);
	say_calls(f, v);
	return true;
}

static bool rule_timeout_retransmit(const struct facts *f, struct verdict *v)
{
	if (!timed_out(f))
		return false;
	cite(v, f->first_retrans, "data went unacknowledged and was retransmitted");
	cite(v, f->sk_error, "after %u retransmission%s the kernel stored ETIMEDOUT", f->retrans,
	     plural(f->retrans));
	cite_calls(f, v);
	say(v, "The peer stopped acknowledging data: the kernel retransmitted until "
	       "net.ipv4.tcp_retries2 ran out, then gave up and stored ETIMEDOUT.");
	say_retrans(f, v);
	say(v, " The peer host is down or unreachable, or packets are being dropped.");
	say_calls(f, v);
	return true;
}

/*
 * The application closed (or its owner exited) while connect() was still
 * in progress, with nothing stored: its own timeout fired before the
 * kernel's SYN retries ran out.
 */
static bool rule_connect_abandoned(const struct facts *f, struct verdict *v)
{
	double waited;

	if (f->syn_sent == NONE || f->established != NONE || f->close_call == NONE)
		return false;
	if (f->closed == NONE || f->closed_from != TA_TCP_SYN_SENT)
		return false;
	if (f->rst_recv != NONE || f->peer_rst != NONE || f->sk_err || f->connect_err != NONE)
		return false;
	waited = secs(f, f->syn_sent, f->close_call);
	cite(v, f->syn_sent, "connect() sent a SYN: CLOSE -> SYN_SENT");
	if (f->first_retrans != NONE)
		cite(v, f->first_retrans, "the SYN went unanswered and was retransmitted");
	cite_close(f, v, "");
	cite(v, f->closed,
	     "the kernel dropped the attempt: SYN_SENT -> CLOSE, after %u SYN retransmission%s "
	     "and no SYN-ACK, RST or ICMP error",
	     f->retrans, plural(f->retrans));
	say_exit(f, v);
	say(v,
	    "The application gave up on the connection attempt %.1f s after connect() started: "
	    "it closed the socket while the kernel was still retrying the SYN (%u retransmission%s "
	    "so far, no SYN-ACK, RST or ICMP error). No call returned an error: the "
	    "application's own connect timeout (curl --connect-timeout, a poll() limit) fired "
	    "before the kernel's (net.ipv4.tcp_syn_retries, about 2 minutes by default).",
	    waited, f->retrans, plural(f->retrans));
	if (f->retrans)
		say(v, " The SYNs or their answers are being dropped, or the peer host is down or "
		       "too slow to answer.");
	else
		say(v, " It gave up before the first SYN retransmission: the peer may only have "
		       "been slow.");
	return true;
}

static bool rule_reset_after_peer_fin(const struct facts *f, struct verdict *v)
{
	const struct ta_event *fin;
	uint64_t after;

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

	cite_peer_fin(f, v);
	if (f->send_after_fin != NONE)
		cite(v, f->send_after_fin, "we sent data after the peer's FIN (send returned %d)",
		     ev(f, f->send_after_fin)->a);
	cite_peer_rst(f, v);
	cite(v, f->rst_recv, "an RST arrived while we were in CLOSE_WAIT");
	cite(v, f->sk_error,
	     "the kernel stored %s on the socket (an RST in CLOSE_WAIT gives EPIPE)",
	     errname(f->sk_err));
	cite_calls(f, v);

	if (f->peer_fin_unseen)
		say(v,
		    "The peer closed its end first (first seen in %s: its FIN came before tracing "
		    "saw the socket)",
		    ta_state_name(fin->state));
	else
		say(v, "The peer closed its end first (its FIN moved us to CLOSE_WAIT)");
	if (after)
		say(v, ", we then sent %" PRIu64 " more byte%s", after, plural(after));
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
	return f->rst_sent != NONE && f->rst_sent > f->rst_recv &&
	       f->rst_reason == TA_RST_TCP_ABORT_ON_DATA;
}

/*
 * The RST itself was not seen (its socket's beginning was missed), but recv
 * or send returned ECONNRESET: the kernel stores that only for an RST
 * received in a synchronized state, or for our own SO_LINGER {1,0} abort,
 * which would have shown as our close and RST.
 */
static bool rule_peer_reset_unseen(const struct facts *f, struct verdict *v)
{
	size_t call = NONE;

	if (!f->c->midlife || f->rst_recv != NONE || f->rst_sent != NONE)
		return false;
	if (f->recv_err != NONE && ev(f, f->recv_err)->a == -ECONNRESET)
		call = f->recv_err;
	else if (f->send_err != NONE && ev(f, f->send_err)->a == -ECONNRESET)
		call = f->send_err;
	if (call == NONE || (f->close_call != NONE && f->close_call < call))
		return false;
	/* After the peer's FIN an RST stores EPIPE: this ECONNRESET is no RST's. */
	if (f->peer_fin != NONE && f->peer_fin < call)
		return false;
	cite(v, call, "%s returned ECONNRESET, which only an RST received from the peer stores",
	     ev(f, call)->kind == TA_EV_RECV ? "recv" : "send");
	cite_calls(f, v);
	say(v,
	    "The peer reset the connection: %s returned ECONNRESET, and the kernel stores that "
	    "error only when an RST arrives in a synchronized state. The RST itself was not "
	    "seen: it came before tracing followed this socket (the socket predates the attach, "
	    "or waited in the accept queue of a listener that does), so its sender and whether "
	    "a FIN came first are not known.",
	    ev(f, call)->kind == TA_EV_RECV ? "recv" : "send");
	say_calls(f, v);
	return true;
}

static bool rule_peer_reset(const struct facts *f, struct verdict *v)
{
	const struct ta_event *r;

	if (f->rst_recv == NONE)
		return rule_peer_reset_unseen(f, v);
	if (!synchronized(f->rst_recv_state))
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

/* The RST this socket sent, with its reason, for the reset_sent_* causes. */
static void cite_our_rst(const struct facts *f, struct verdict *v, const char *what)
{
	const struct ta_event *e = ev(f, f->rst_sent);

	cite(v, f->rst_sent, "our kernel sent an RST (%s%s) in %s: %s", ta_rst_name(f->rst_reason),
	     f->rst_inferred ? ", inferred: the kernel gave no reason" : "",
	     ta_state_name(e->state), what);
}

static bool sent(const struct facts *f, enum ta_rst r)
{
	return f->rst_sent != NONE && f->rst_reason == r;
}

static bool rule_memory_abort(const struct facts *f, struct verdict *v)
{
	if (!sent(f, TA_RST_TCP_ABORT_ON_MEMORY))
		return false;
	cite_close(f, v, "");
	cite_our_rst(f, v, "too many orphaned sockets, or TCP memory exhausted");
	say_exit(f, v);
	say(v, "After the owner closed the socket, the kernel dropped it instead of finishing the "
	       "close: there were too many orphaned sockets (net.ipv4.tcp_max_orphans) or TCP was "
	       "out of memory (net.ipv4.tcp_mem), so it sent an RST (TCP_ABORT_ON_MEMORY, MIB "
	       "TCPAbortOnMemory).");
	if (f->our_fin != NONE && f->our_fin < f->rst_sent)
		say(v, " Our FIN had gone out first, so the peer reads EOF, and its next send "
		       "fails with EPIPE (the RST reaches it in CLOSE_WAIT).");
	else
		say(v, " The peer's next call fails with ECONNRESET.");
	return true;
}

static bool rule_reset_sent_linger2(const struct facts *f, struct verdict *v)
{
	if (!sent(f, TA_RST_TCP_ABORT_ON_LINGER))
		return false;
	cite(v, f->our_fin, "we sent our FIN");
	cite_close(f, v, "then ");
	cite_our_rst(f, v, "close() in FIN_WAIT2 with TCP_LINGER2 < 0");
	say_exit(f, v);
	say(v, "We had sent our FIN and were waiting in FIN_WAIT2 for the peer's; close() with "
	       "TCP_LINGER2 set below zero tells the kernel not to wait, so it aborted the "
	       "connection with an RST (TCP_ABORT_ON_LINGER). The peer had our FIN already: it "
	       "reads EOF, and its next send fails with EPIPE (the RST reaches it in "
	       "CLOSE_WAIT).");
	return true;
}

static bool rule_reset_sent_unread_close(const struct facts *f, struct verdict *v)
{
	const struct ta_event *e;

	if (!sent(f, TA_RST_TCP_ABORT_ON_CLOSE))
		return false;
	e = ev(f, f->rst_sent);
	cite_close(f, v, "");
	cite_our_rst(f, v, "close() with received data still unread");
	say_exit(f, v);
	say(v, "We closed the socket with ");
	if (e->aux)
		say(v, "%u byte%s", e->aux, plural(e->aux));
	else
		say(v, "data");
	say(v,
	    " received but not read, so instead of a FIN the kernel sent an RST "
	    "(TCP_ABORT_ON_CLOSE, MIB TCPAbortOnClose), discarding what the peer sent. The peer's "
	    "next recv or send fails with ECONNRESET. Read until EOF (or shutdown(SHUT_WR) and "
	    "drain) before close() if the peer must get an orderly close.");
	return true;
}

static bool rule_reset_sent_linger_zero(const struct facts *f, struct verdict *v)
{
	if (!(sent(f, TA_RST_TCP_STATE) || sent(f, TA_RST_TCP_DISCONNECT_WITH_DATA)))
		return false;
	if (f->close_call == NONE || f->close_call > f->rst_sent)
		return false;
	cite_close(f, v, "");
	cite(v, f->closed, "the connection was dropped at once: %s -> CLOSE",
	     ta_state_name(f->closed_from));
	cite_our_rst(f, v, "close() with SO_LINGER {1, 0}");
	say(v, "We closed the socket with SO_LINGER set to {on, 0 seconds}: close() discards any "
	       "unsent data and aborts the connection with an RST instead of a FIN (MIB "
	       "TCPAbortOnData). The peer's next call fails with ECONNRESET. This is deliberate "
	       "in the application (it avoids TIME_WAIT), but the peer loses data in flight.");
	return true;
}

static bool rule_reset_sent_data_after_close(const struct facts *f, struct verdict *v)
{
	if (!(sent(f, TA_RST_TCP_ABORT_ON_DATA) || sent(f, TA_RST_TCP_TIMEWAIT_SOCKET)))
		return false;
	cite_close(f, v, "");
	cite(v, f->our_fin, "we sent our FIN");
	cite(v, f->handoff, "the closed socket left FIN_WAIT2 quietly (no RST then)");
	if (f->rst_recv != NONE && f->rst_recv < f->rst_sent)
		cite(v, f->rst_recv,
		     "data arrived at the closed socket, which reset itself "
		     "(no RST came from the peer)");
	cite_our_rst(f, v, "data arrived for a socket already closed");
	say_exit(f, v);
	say(v,
	    "We had closed the socket, but the peer kept sending: data that reaches a closed "
	    "socket (an orphan still finishing its close, or a TIME_WAIT socket) is answered "
	    "with an RST (%s).",
	    ta_rst_name(f->rst_reason));
	say(v,
	    " If the peer had already received our FIN, its recv returns 0 (EOF) and its next "
	    "send fails with EPIPE; otherwise it gets ECONNRESET. This is the Winsock 10053 "
	    "pattern seen from the closing side: the peer should stop sending once it reads EOF.");
	return true;
}

static bool rule_write_after_shutdown(const struct facts *f, struct verdict *v)
{
	if (f->shutdown_call == NONE || f->shutdown_how == 0 /* SHUT_RD */)
		return false;
	if (f->send_err == NONE || ev(f, f->send_err)->a != -EPIPE ||
	    f->send_err < f->shutdown_call)
		return false;
	if (f->rst_recv != NONE || f->sk_err)
		return false;
	cite(v, f->shutdown_call, "the application shut down its sending side (%s)",
	     f->shutdown_how == 1 ? "SHUT_WR" : "SHUT_RDWR");
	cite(v, f->our_fin, "our FIN went out");
	cite_calls(f, v);
	say(v,
	    "The application called shutdown(%s) and then sent on the same socket: the sending "
	    "side is closed, so send fails with EPIPE (and raises SIGPIPE unless MSG_NOSIGNAL). "
	    "No RST was involved and the peer did nothing wrong.",
	    f->shutdown_how == 1 ? "SHUT_WR" : "SHUT_RDWR");
	say_calls(f, v);
	return true;
}

/* The first event that shows data sent: sends are coalesced, the counters are not. */
static size_t first_sent(const struct facts *f)
{
	for (size_t i = 0; i < f->c->n; i++)
		if (ev(f, i)->tx_bytes)
			return i;
	return NONE;
}

/*
 * We sent data and closed, seconds later, without one byte back: the
 * application's own reply timeout (nginx's proxy_read_timeout, curl
 * --max-time), which it may log as ETIMEDOUT although the kernel returned
 * none.  Only with per-call results (6.3+): before, rx_bytes stays 0.  A
 * close within RULE_REPLY_WAIT_NS of the first send is fire-and-forget, not a
 * timeout, and stays an orderly close.
 */
#define RULE_REPLY_WAIT_NS 1000000000ULL

static bool rule_closed_without_reply(const struct facts *f, struct verdict *v)
{
	const struct ta_event *cl;
	size_t sent1;
	double waited;

	if (f->close_call == NONE || f->our_fin == NONE)
		return false;
	if (f->peer_fin != NONE && f->peer_fin < f->close_call)
		return false;
	if (f->rst_recv != NONE || f->rst_sent != NONE || f->peer_rst != NONE || f->sk_err)
		return false;
	if (f->recv_err != NONE || f->send_err != NONE)
		return false;
	cl = ev(f, f->close_call);
	sent1 = first_sent(f);
	if (!cl->tx_bytes || cl->rx_bytes || sent1 == NONE || sent1 > f->close_call ||
	    cl->ts_ns < ev(f, sent1)->ts_ns + RULE_REPLY_WAIT_NS)
		return false;
	waited = secs(f, sent1, f->close_call);
	cite(v, sent1, "we sent data (%llu byte%s in all before the close)",
	     (unsigned long long)cl->tx_bytes, plural(cl->tx_bytes));
	cite_close(f, v, "");
	cite(v, f->our_fin, "we sent our FIN: %s -> %s", ta_state_name(ev(f, f->our_fin)->a),
	     ta_state_name(ev(f, f->our_fin)->b));
	say_exit(f, v);
	say(v,
	    "We sent %llu byte%s and closed the connection %.1f s later without having "
	    "received a single byte back%s. The peer neither answered, closed nor reset: ",
	    (unsigned long long)cl->tx_bytes, plural(cl->tx_bytes), waited,
	    f->c->midlife ? " since tracing began" : "");
	if (f->retrans)
		say(v,
		    "%u retransmission%s show the data was not all acknowledged, so it may not "
		    "have arrived. ",
		    f->retrans, plural(f->retrans));
	else
		say(v, "it acknowledged the data (no retransmissions) and stayed silent. ");
	say(v, "The kernel reported no error: this is the application's own timeout (nginx "
	       "logs \"upstream timed out (110: Connection timed out)\", curl \"Operation timed "
	       "out\"), and the ETIMEDOUT such applications log is their timer's, not the "
	       "kernel's. The peer is slow, stuck, or waits for something else.");
	return true;
}

/*
 * A healthy connection the kernel kept to itself and summarized: the same
 * verdict as from its events, with the summary as the evidence.
 */
static bool orderly_summary(const struct facts *f, struct verdict *v)
{
	const struct ta_event *s = ev(f, f->summary);
	bool ours_first = s->b & TA_SUM_OURS_FIRST;

	cite(v, f->summary,
	     "the kernel summarized %d event%s of this connection as harmless: %s FIN first%s, "
	     "the owner's close(), no RST, no error, no failed call",
	     s->c, s->c == 1 ? "" : "s", ours_first ? "our" : "the peer's",
	     s->b & TA_SUM_PEER_FIN ? ", then the other" : "");
	if (f->peer_fin == NONE) {
		say(v,
		    "We closed first; the socket left %s quietly (no RST, no error) and the kernel "
		    "carries on its last phase in a timewait socket. Whether the peer closed too "
		    "is not visible: a timewait socket shows only through the RSTs it sends.",
		    ta_state_name(s->aux));
		return true;
	}
	say(v,
	    "Both ends closed with FIN (%s first); no RST was sent or received and the kernel "
	    "stored no error.",
	    ours_first ? "we" : "the peer");
	return true;
}

static bool rule_orderly_close(const struct facts *f, struct verdict *v)
{
	const struct ta_event *of;

	if (f->our_fin == NONE || (f->peer_fin == NONE && f->handoff == NONE))
		return false;
	if (f->rst_recv != NONE || f->rst_sent != NONE || f->peer_rst != NONE || f->sk_err)
		return false;
	if (f->recv_err != NONE || f->send_err != NONE)
		return false;
	if (f->summary != NONE)
		return orderly_summary(f, v);
	of = ev(f, f->our_fin);
	cite(v, f->our_fin, "we sent our FIN: %s -> %s", ta_state_name(of->a),
	     ta_state_name(of->b));
	cite(v, f->recv_eof, "recv returned 0 (EOF)");
	if (f->peer_fin == NONE) {
		const struct ta_event *h = ev(f, f->handoff);

		cite_close(f, v, "");
		cite(v, f->handoff,
		     "the kernel handed the closed socket to a timewait socket: %s -> %s",
		     ta_state_name(h->a), ta_state_name(h->b));
		say_exit(f, v);
		say(v,
		    "We closed first; the socket left %s quietly (no RST, no error) and the kernel "
		    "carries on its last phase in a timewait socket. Whether the peer closed too "
		    "is not visible: a timewait socket shows only through the RSTs it sends "
		    "(before "
		    "Linux 6.10, only those a socket on this host receives).",
		    ta_state_name(h->a));
		return true;
	}
	cite_peer_fin(f, v);
	cite_close(f, v, "");
	say_exit(f, v);
	say(v,
	    "Both ends closed with FIN (%s first); no RST was sent or received and the kernel "
	    "stored no error.",
	    f->our_fin < f->peer_fin ? "we" : "the peer");
	return true;
}

/*
 * Tracing stopped with the connection still up and nothing wrong seen: that
 * is an answer, not a lack of one.
 */
static bool rule_open(const struct facts *f, struct verdict *v)
{
	const struct conn *c = f->c;
	unsigned int st = f->cur_state;

	if (c->ended || c->listener || !st || st == TA_TCP_CLOSE || st == TA_TCP_TIME_WAIT)
		return false;
	if (f->close_call != NONE || f->rst_recv != NONE || f->rst_sent != NONE ||
	    f->peer_rst != NONE || f->sk_err)
		return false;
	if (f->recv_err != NONE || f->send_err != NONE || f->connect_err != NONE ||
	    f->so_error != NONE)
		return false;
	cite(v, f->join, "already open when tracing began, in %s",
	     ta_state_name(f->join != NONE ? ev(f, f->join)->state : 0));
	cite(v, f->established, "the connection was established");
	cite_peer_fin(f, v);
	cite(v, f->our_fin, "we sent our FIN");
	say(v,
	    "The connection was still open when tracing stopped, in %s; no RST, error or "
	    "timeout so far.",
	    ta_state_name(st));
	if (st == TA_TCP_SYN_SENT)
		say(v, " connect() was still in progress (%u SYN retransmission%s so far).",
		    f->retrans, plural(f->retrans));
	else if (f->retrans)
		say(v, " %u retransmission%s were seen and recovered from.", f->retrans,
		    plural(f->retrans));
	if (f->peer_fin != NONE)
		say(v, " The peer has closed its end (its FIN arrived); this side has not closed "
		       "yet: recv returns 0 (EOF) once queued data is read.");
	else if (f->our_fin != NONE)
		say(v, " We have sent our FIN; the peer has not closed its end yet.");
	return true;
}

/* The fallback: say what was seen and what is missing. */
static bool rule_unknown(const struct facts *f, struct verdict *v)
{
	const struct conn *c = f->c;

	if (!c->ended)
		say(v, "The connection had not ended when tracing stopped (last state %s).",
		    ta_state_name(f->cur_state));
	else
		say(v, "The events seen do not match any known cause.");
	if (f->rst_recv != NONE) {
		cite(v, f->rst_recv, "an RST arrived in %s", ta_state_name(f->rst_recv_state));
		say(v, " An RST arrived in %s.", ta_state_name(f->rst_recv_state));
	}
	if (f->rst_sent != NONE) {
		cite(v, f->rst_sent, "we sent an RST (%s)",
		     f->rst_reason ? ta_rst_name(f->rst_reason) : "no reason");
		say(v, " This socket sent an RST (%s): %s.",
		    f->rst_reason ? ta_rst_name(f->rst_reason) : "no reason",
		    ta_rst_meaning(f->rst_reason));
	}
	if (f->sk_err) {
		cite(v, f->sk_error, "the kernel stored %s on the socket", errname(f->sk_err));
		say(v, " The kernel stored %s on the socket.", errname(f->sk_err));
	}
	if (f->fw2_unclear != NONE) {
		cite(v, f->fw2_unclear,
		     "FIN_WAIT2 -> CLOSE with no close() or exit seen before it and no call after "
		     "it");
		say(v,
		    " The socket left FIN_WAIT2 for CLOSE with no close() or exit seen before it "
		    "and no call into it after: either the peer's FIN arrived while the owner "
		    "still "
		    "held it, or the owner exited (unseen) and the kernel handed the orphan to a "
		    "timewait sock. The events cannot tell which, so whether the peer closed is "
		    "not known.");
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
	{ { "connect_on_dead_socket", ECONNABORTED, NULL,
	    "connect() retried on a socket whose error was already consumed" },
	  rule_connect_on_dead_socket },
	{ { "local_abort", ECONNABORTED, "WSAECONNABORTED (10053)",
	    "destroyed on this host (ss -K, bpf_sock_destroy); names the task that asked" },
	  rule_local_abort },
	{ { "disconnect", ECONNRESET, NULL,
	    "connect(AF_UNSPEC) or shutdown() during SYN_SENT: ECONNRESET via SO_ERROR" },
	  rule_disconnect },
	{ { "connection_refused", ECONNREFUSED, "WSAECONNREFUSED (10061)",
	    "RST received in SYN_SENT: nothing listening" },
	  rule_connection_refused },
	{ { "icmp_unreachable", EHOSTUNREACH, NULL,
	    "an ICMP error ended the connection (EHOSTUNREACH, ENETUNREACH...)" },
	  rule_icmp_unreachable },
	{ { "timeout_keepalive", ETIMEDOUT, "WSAETIMEDOUT (10060)", "keepalive probes unanswered" },
	  rule_timeout_keepalive },
	{ { "timeout_syn", ETIMEDOUT, "WSAETIMEDOUT (10060)", "SYN retries exhausted" },
	  rule_timeout_syn },
	{ { "timeout_user", ETIMEDOUT, "WSAETIMEDOUT (10060)", "TCP_USER_TIMEOUT expired" },
	  rule_timeout_user },
	{ { "timeout_retransmit", ETIMEDOUT, "WSAETIMEDOUT (10060)",
	    "retransmissions exhausted (how many, over how long)" },
	  rule_timeout_retransmit },
	{ { "connect_abandoned", 0, NULL,
	    "the application closed while the kernel still retried the SYN: its own timeout" },
	  rule_connect_abandoned },
	{ { "reset_after_peer_fin", EPIPE, "WSAECONNABORTED (10053)",
	    "the peer's FIN, then its RST, while we were in CLOSE_WAIT: recv EOF, send EPIPE" },
	  rule_reset_after_peer_fin },
	{ { "peer_reset", ECONNRESET, "WSAECONNRESET (10054)",
	    "RST received in a synchronized state with no FIN from the peer before it" },
	  rule_peer_reset },
	{ { "memory_abort", 0, NULL, "the kernel dropped an orphan under memory pressure" },
	  rule_memory_abort },
	{ { "reset_sent_linger2", 0, NULL, "close() in FIN_WAIT2 with TCP_LINGER2 < 0" },
	  rule_reset_sent_linger2 },
	{ { "reset_sent_unread_close", 0, NULL, "we closed with unread data; our kernel sent RST" },
	  rule_reset_sent_unread_close },
	{ { "reset_sent_linger_zero", 0, NULL, "we closed with SO_LINGER {1,0}" },
	  rule_reset_sent_linger_zero },
	{ { "reset_sent_data_after_close", 0, NULL,
	    "data reached our closed socket (orphan or TIME_WAIT); it answered with RST" },
	  rule_reset_sent_data_after_close },
	{ { "write_after_shutdown", EPIPE, "WSAESHUTDOWN (10058)",
	    "send after our own shutdown(SHUT_WR): EPIPE, no RST" },
	  rule_write_after_shutdown },
	{ { "closed_without_reply", 0, NULL,
	    "we sent data, waited, closed with nothing back: the application's own timeout" },
	  rule_closed_without_reply },
	{ { "orderly_close", 0, NULL, "both FINs, no RST, no error" }, rule_orderly_close },
	{ { "open", 0, NULL, "still open when tracing stopped: no RST, error or timeout so far" },
	  rule_open },
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
			v->missing, sizeof(v->missing), "%s",
			c->ended
				? "events of this connection were lost (ring buffer full)"
				: "events were lost (ring buffer full) and this connection had not "
				  "ended: its last events may be among them");
	else if (f->join != NONE)
		snprintf(v->missing, sizeof(v->missing),
			 "joined mid-life at attach in %s with %d byte%s unread and %d unacked: "
			 "what "
			 "happened before is not known",
			 ta_state_name(ev(f, f->join)->state), ev(f, f->join)->a,
			 plural(ev(f, f->join)->a), ev(f, f->join)->b);
	else if (c->midlife && f->first_known != NONE &&
		 ev(f, f->first_known)->kind == TA_EV_SYSCALL &&
		 ev(f, f->first_known)->b == TA_SYS_ACCEPT)
		snprintf(v->missing, sizeof(v->missing),
			 "first seen at accept(), in %s: it waited in the queue of a listener that "
			 "predates the attach, and what happened there before is not known",
			 ta_state_name(ev(f, f->first_known)->state));
	else if (c->midlife)
		snprintf(v->missing, sizeof(v->missing),
			 "its beginning was not seen: the socket predates the attach, was accepted "
			 "from a listener that does, or these are the last events of a connection "
			 "already reported");
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
	gather_facts(c, &f);
	completeness(&f, v);
	predict(&f, v);
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		if (rules[i].match(&f, v)) {
			v->cause = &rules[i].cause;
			/* A rule may name the errno itself (ICMP errors are several). */
			if (!v->err)
				v->err = rules[i].cause.err;
			if (!v->winsock)
				v->winsock = rules[i].cause.winsock;
			qsort(v->evidence, v->nevidence, sizeof(v->evidence[0]), by_time);
			return;
		}
		/* A rule that declined leaves nothing behind. */
		v->nevidence = 0;
		v->sentence[0] = '\0';
		v->err = 0;
		v->winsock = NULL;
	}
}
