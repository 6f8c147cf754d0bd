// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "output.h"

/* A full disk or a closed pipe must not go unnoticed: the caller checks o->err. */
static void flush(struct out *o)
{
	errno = 0;
	if ((fflush(o->f) || ferror(o->f)) && !o->err)
		o->err = errno ? errno : EIO;
}

void format_addr(const struct ta_event *e, bool local, char *buf, size_t len)
{
	const void *a = local ? e->saddr : e->daddr;

	if (!inet_ntop(e->flags & TA_F_IPV6 ? AF_INET6 : AF_INET, a, buf, len))
		snprintf(buf, len, "?");
}

static const char *errname(int err)
{
	const char *n = ta_errno_name(err);
	static char buf[16];

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* "2", "-1 EPIPE" */
static void result(char *buf, size_t len, int ret)
{
	if (ret < 0)
		snprintf(buf, len, "-1 %s", errname(-ret));
	else
		snprintf(buf, len, "%d", ret);
}

/* "exit code 0", "killed by SIGKILL": a wait() status. */
static const char *exit_status(int status, char *buf, size_t len)
{
	int sig = status & 0x7f;

	if (!sig)
		snprintf(buf, len, "exit code %d", (status >> 8) & 0xff);
	else if (sigabbrev_np(sig))
		snprintf(buf, len, "killed by SIG%s%s", sigabbrev_np(sig),
			 status & 0x80 ? ", core dumped" : "");
	else
		snprintf(buf, len, "killed by signal %d", sig);
	return buf;
}

void describe_event(const struct tl_event *t, char *buf, size_t len)
{
	const struct ta_event *e = &t->ev;
	const char *reason = t->rst_name[0] ? t->rst_name : "no reason";
	char r[32];

	switch (e->kind) {
	case TA_EV_STATE:
		snprintf(buf, len, "%s -> %s", ta_state_name(e->a), ta_state_name(e->b));
		break;
	case TA_EV_RST_SENT:
		snprintf(buf, len, "sent RST (%s) in %s", reason, ta_state_name(e->state));
		if (e->aux) {
			size_t n = strlen(buf);

			snprintf(buf + n, len - n, ", %u byte%s unread", e->aux,
				 e->aux == 1 ? "" : "s");
		}
		break;
	case TA_EV_RST_RECV:
		snprintf(buf, len, "RST received in %s", ta_state_name(e->state));
		break;
	case TA_EV_PEER_RST:
		if (e->peer_cookie)
			snprintf(buf, len, "RST sent to us by local socket %llu (%s, now %s)",
				 (unsigned long long)e->peer_cookie, reason, ta_state_name(e->b));
		else if (e->b)
			snprintf(buf, len,
				 "RST sent to us by a local socket this kernel gives no id (%s, "
				 "now %s)",
				 reason, ta_state_name(e->b));
		else
			snprintf(buf, len, "RST sent to us by this host, no socket (%s)", reason);
		break;
	case TA_EV_SK_ERROR:
		if (!e->a && e->b)
			snprintf(buf, len, "soft error %s, not yet fatal (%s)", errname(e->b),
				 ta_state_name(e->state));
		else if (!e->a)
			snprintf(buf, len, "error report, nothing stored (%s)",
				 ta_state_name(e->state));
		else
			snprintf(buf, len, "socket error %s (%s)", errname(e->a),
				 ta_state_name(e->state));
		if (e->retrans || e->probes || e->c) {
			size_t n = strlen(buf);

			snprintf(buf + n, len - n,
				 " after %u retransmission%s, %u keepalive probe%s%s", e->retrans,
				 e->retrans == 1 ? "" : "s", e->probes, e->probes == 1 ? "" : "s",
				 e->c ? ", TCP_USER_TIMEOUT set" : "");
		}
		break;
	case TA_EV_DESTROY:
		snprintf(buf, len, "socket destroyed");
		break;
	case TA_EV_RETRANS:
		snprintf(buf, len, "retransmission #%u%s%s", e->retrans ? e->retrans : 1,
			 e->a ? ", failed: " : "", e->a ? errname(-e->a) : "");
		break;
	case TA_EV_SEND:
	case TA_EV_RECV:
		if (e->a == 0 && e->kind == TA_EV_RECV)
			snprintf(r, sizeof(r), "0 (EOF)");
		else
			result(r, sizeof(r), e->a);
		snprintf(buf, len, "%s = %s%s", e->kind == TA_EV_SEND ? "send" : "recv", r,
			 e->kind != TA_EV_SEND	      ? ""
			 : e->c == TA_SIGPIPE_FATAL   ? " + SIGPIPE (default action: kills)"
			 : e->c == TA_SIGPIPE_HANDLED ? " + SIGPIPE (handled)"
						      : "");
		break;
	case TA_EV_SYSCALL:
		result(r, sizeof(r), e->a);
		switch (e->b) {
		case TA_SYS_CLOSE:
			if (e->aux)
				snprintf(buf, len,
					 "close(fd %d): a descriptor copy still holds the socket "
					 "open",
					 e->c);
			else
				snprintf(buf, len, "close(fd %d)", e->c);
			break;
		case TA_SYS_EXIT:
			snprintf(buf, len, "the owner exited (%s); the kernel closed the socket",
				 exit_status(e->c, r, sizeof(r)));
			break;
		case TA_SYS_SO_ERROR:
			snprintf(buf, len, "getsockopt(SO_ERROR) = %s, value %s", r,
				 e->c ? errname(e->c) : "0");
			break;
		case TA_SYS_SHUTDOWN:
			snprintf(buf, len, "shutdown(%s) = %s",
				 e->c == 0   ? "SHUT_RD"
				 : e->c == 1 ? "SHUT_WR"
					     : "SHUT_RDWR",
				 r);
			break;
		default:
			snprintf(buf, len, "%s() = %s", ta_sys_name(e->b), r);
		}
		break;
	case TA_EV_JOIN:
		if (e->state == TA_TCP_LISTEN)
			snprintf(
				buf, len,
				"already open at attach (fd %d): LISTEN, %u waiting to be accepted",
				e->c, e->aux);
		else
			snprintf(buf, len,
				 "already open at attach (fd %d): %s, %d bytes unread, %d unacked",
				 e->c, ta_state_name(e->state), e->a, e->b);
		break;
	case TA_EV_SUMMARY: {
		char states[160];

		ta_states_list(e->a, states, sizeof(states));
		snprintf(buf, len,
			 "summary of %d healthy event%s (%s): %s FIN first, %s; states %s; %s",
			 e->c, e->c == 1 ? "" : "s",
			 e->b & TA_SUM_CONNECT ? "connected" : "accepted",
			 e->b & TA_SUM_OURS_FIRST ? "our" : "the peer's",
			 e->b & TA_SUM_PEER_FIN ? "both FINs seen" : "ours seen", states,
			 e->b & TA_SUM_HANDOFF ? "closed, then handed to a timewait sock"
					       : "closed");
		break;
	}
	case TA_EV_PROC:
		if (e->b == TA_PROC_EXIT)
			snprintf(buf, len, "process %u exited (%s)", e->owner_tgid,
				 exit_status(e->a, r, sizeof(r)));
		else if (e->b == TA_PROC_FORK)
			snprintf(buf, len, "process %u forked from %d: followed", e->owner_tgid,
				 e->a);
		else if (e->b == TA_PROC_EXEC)
			snprintf(buf, len, "process %u entered the scope by exec", e->owner_tgid);
		else
			snprintf(buf, len, "process %u traced", e->owner_tgid);
		break;
	default:
		snprintf(buf, len, "event kind %u", e->kind);
	}
}

static void json_errno(struct jw *w, const char *key, int err)
{
	const char *n = err ? ta_errno_name(err) : NULL;

	if (!err)
		jw_null(w, key);
	else if (n)
		jw_str(w, key, n);
	else
		jw_i64(w, key, err);
}

void out_start(struct out *o, const struct start_info *s)
{
	struct jw w;

	o->t0_ns = s->mono_ns;
	o->started = true;
	for (int i = 0; i < s->npids; i++)
		out_traced_add(o, s->pids[i]);
	if (o->format == OUT_TEXT) {
		fprintf(o->f, "# tcpabort-trace: tracing pid");
		for (int i = 0; i < s->npids; i++)
			fprintf(o->f, "%s %d", i ? "," : "", s->pids[i]);
		fprintf(o->f, " on Linux %s; %s\n", s->kernel,
			o->show_healthy
				? "a verdict is printed as each connection ends"
				: "a verdict is printed as each connection ends abnormally, "
				  "healthy ones are counted (--all shows them)");
		/* A fallback that serves a capability is not a lack: say what is lost. */
		for (int i = 0; i < s->npaths; i++)
			if (s->paths[i].degraded)
				fprintf(o->f, "# on this kernel, %s: %s; %s\n",
					s->paths[i].capability, s->paths[i].path,
					s->paths[i].degraded);
		for (int i = 0; !s->npaths && i < s->nfeatures; i++)
			if (!s->features[i].present)
				fprintf(o->f,
					"# kernel lacks %s: evidence of that kind is missing\n",
					s->features[i].name);
		flush(o);
		return;
	}
	jw_init(&w, o->f);
	jw_obj_open(&w, NULL);
	jw_str(&w, "type", "start");
	jw_u64(&w, "v", TA_WIRE_VERSION);
	jw_arr_open(&w, "pids");
	for (int i = 0; i < s->npids; i++)
		jw_i64(&w, NULL, s->pids[i]);
	jw_arr_close(&w);
	jw_str(&w, "kernel", s->kernel);
	jw_obj_open(&w, "features");
	for (int i = 0; i < s->nfeatures; i++)
		jw_bool(&w, s->features[i].name, s->features[i].present);
	jw_obj_close(&w);
	if (s->npaths) {
		jw_arr_open(&w, "paths");
		for (int i = 0; i < s->npaths; i++) {
			jw_obj_open(&w, NULL);
			jw_str(&w, "capability", s->paths[i].capability);
			jw_str(&w, "path", s->paths[i].path);
			jw_str(&w, "degraded", s->paths[i].degraded);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
	}
	jw_u64(&w, "mono_ns", s->mono_ns);
	jw_u64(&w, "real_ns", s->real_ns);
	jw_obj_close(&w);
	flush(o);
}

/* Every field needed to rebuild the event: `report` reads these records back. */
static void json_event(struct jw *w, const struct tl_event *t)
{
	const struct ta_event *e = &t->ev;
	char addr[64];

	jw_obj_open(w, NULL);
	jw_str(w, "type", "event");
	jw_u64(w, "seq", t->seq);
	jw_u64(w, "cookie", e->cookie);
	jw_u64(w, "ts_ns", e->ts_ns);
	jw_str(w, "kind", ta_kind_name(e->kind));
	/* 0: not known when the event fired (peer_rst is seen from the sender's side). */
	jw_str(w, "state", e->state ? ta_state_name(e->state) : NULL);
	jw_u64(w, "pid", e->owner_tgid);
	jw_u64(w, "task_pid", e->task_tgid);
	jw_u64(w, "task_tid", e->task_pid);
	jw_strn(w, "task_comm", e->comm, sizeof(e->comm));
	jw_strn(w, "task_process", e->pcomm, sizeof(e->pcomm));
	/* The event ran while another process was current: softirq, a timer, ss... */
	jw_bool(w, "other_task", e->flags & TA_F_SOFTIRQ);
	format_addr(e, true, addr, sizeof(addr));
	jw_str(w, "saddr", addr);
	jw_u64(w, "sport", e->sport);
	format_addr(e, false, addr, sizeof(addr));
	jw_str(w, "daddr", addr);
	jw_u64(w, "dport", e->dport);
	switch (e->kind) {
	case TA_EV_STATE:
		jw_str(w, "old", ta_state_name(e->a));
		jw_str(w, "new", ta_state_name(e->b));
		break;
	case TA_EV_RST_SENT:
	case TA_EV_PEER_RST:
		jw_str(w, "reason", t->rst_name[0] ? t->rst_name : NULL);
		jw_i64(w, "reason_code", e->a);
		jw_u64(w, "unread", e->aux);
		if (e->kind == TA_EV_PEER_RST) {
			jw_u64(w, "peer_cookie", e->peer_cookie);
			/* A sender socket has a state even where it has no id (before 5.12). */
			jw_str(w, "peer_state", e->b ? ta_state_name(e->b) : NULL);
		}
		break;
	case TA_EV_SK_ERROR:
		json_errno(w, "sk_err", e->a);
		json_errno(w, "sk_err_soft", e->b);
		jw_u64(w, "user_timeout_ms", (uint32_t)e->c);
		jw_u64(w, "probes", e->probes);
		jw_u64(w, "head_retrans", e->aux);
		break;
	case TA_EV_RETRANS:
		json_errno(w, "err", e->a < 0 ? -e->a : 0);
		break;
	case TA_EV_SEND:
	case TA_EV_RECV:
		jw_i64(w, "ret", e->a);
		json_errno(w, "errno", e->a < 0 ? -e->a : 0);
		jw_i64(w, "flags", e->b);
		if (e->kind == TA_EV_SEND) {
			jw_bool(w, "sigpipe", e->c != TA_SIGPIPE_NONE);
			jw_bool(w, "sigpipe_fatal", e->c == TA_SIGPIPE_FATAL);
		}
		break;
	case TA_EV_SYSCALL:
		jw_str(w, "call", ta_sys_name(e->b));
		jw_i64(w, "ret", e->a);
		json_errno(w, "errno", e->a < 0 ? -e->a : 0);
		jw_i64(w, "arg", e->c);
		if (e->b == TA_SYS_CLOSE)
			jw_u64(w, "other_refs", e->aux);
		break;
	case TA_EV_JOIN:
		jw_i64(w, "unread", e->a);
		jw_i64(w, "unacked", e->b);
		jw_i64(w, "fd", e->c);
		jw_u64(w, "accept_queue", e->aux);
		break;
	case TA_EV_SUMMARY: {
		char states[160];

		/* The flight recorder's record of a healthy connection: see docs/output.md. */
		ta_states_list(e->a, states, sizeof(states));
		jw_u64(w, "events", e->c < 0 ? 0 : e->c);
		jw_u64(w, "first_ts_ns", e->peer_cookie);
		jw_str(w, "states", states);
		jw_str(w, "closed_from", ta_state_name(e->aux));
		jw_str(w, "born", e->b & TA_SUM_CONNECT ? "connect" : "accept");
		jw_bool(w, "our_fin", e->b & TA_SUM_OUR_FIN);
		jw_bool(w, "peer_fin", e->b & TA_SUM_PEER_FIN);
		jw_str(w, "fin_first", e->b & TA_SUM_OURS_FIRST ? "ours" : "peer");
		jw_bool(w, "closed", e->b & TA_SUM_CLOSED);
		jw_bool(w, "handoff", e->b & TA_SUM_HANDOFF);
		break;
	}
	case TA_EV_PROC:
		jw_str(w, "what", ta_proc_name(e->b));
		if (e->b == TA_PROC_EXIT)
			jw_i64(w, "status", e->a);
		else
			jw_i64(w, "parent", e->a);
		break;
	}
	jw_u64(w, "tx_bytes", e->tx_bytes);
	jw_u64(w, "rx_bytes", e->rx_bytes);
	jw_u64(w, "tx_calls", e->tx_calls);
	jw_u64(w, "rx_calls", e->rx_calls);
	jw_u64(w, "retrans", e->retrans);
	jw_bool(w, "lost_before", e->flags & TA_F_LOST_BEFORE);
	jw_bool(w, "midlife", e->flags & TA_F_MIDLIFE);
	jw_obj_close(w);
}

/* "+12.345ms" relative to the start record. */
static void reltime(const struct out *o, uint64_t ts, char *buf, size_t len)
{
	double ms = ts >= o->t0_ns ? (ts - o->t0_ns) / 1e6 : -((o->t0_ns - ts) / 1e6);

	snprintf(buf, len, "%+.3fms", ms);
}

void out_traced_add(struct out *o, uint32_t pid)
{
	if (out_is_traced(o, pid))
		return;
	o->traced[o->traced_next] = pid;
	o->traced_next = (o->traced_next + 1) % TA_OUT_TRACED;
	if (o->ntraced < TA_OUT_TRACED)
		o->ntraced++;
}

bool out_is_traced(const struct out *o, uint32_t pid)
{
	for (size_t i = 0; i < o->ntraced; i++)
		if (o->traced[i] == pid)
			return true;
	return false;
}

/*
 * Whose context an event ran in matters only when that task had a hand in
 * it: a traced process, the sender of an RST, the task that aborted the
 * socket.  Otherwise it is whatever a softirq or a timer interrupted
 * (dpkg-deb, qemu...), and naming it would mislead.
 */
static bool context_meaningful(const struct out *o, const struct ta_event *e)
{
	if (!e->task_tgid)
		return false;
	return out_is_traced(o, e->task_tgid) || e->kind == TA_EV_PEER_RST ||
	       (e->kind == TA_EV_SK_ERROR && e->a == ECONNABORTED);
}

static const char *process_name(const struct ta_event *e)
{
	return e->pcomm[0] ? e->pcomm : e->comm;
}

static void text_event_line(struct out *o, const struct tl_event *t, const char *indent, char mark)
{
	const struct ta_event *e = &t->ev;
	char when[32], what[200];

	reltime(o, e->ts_ns, when, sizeof(when));
	describe_event(t, what, sizeof(what));
	fprintf(o->f, "%s%c %12s  %-9s %s", indent, mark, when, ta_kind_name(e->kind), what);
	if ((e->flags & TA_F_SOFTIRQ) && context_meaningful(o, e))
		fprintf(o->f, "  [in %.*s/%u]", TA_COMM_LEN, process_name(e), e->task_tgid);
	else if (e->flags & TA_F_SOFTIRQ)
		fputs("  [softirq/timer]", o->f);
	fputc('\n', o->f);
}

void out_event(struct out *o, const struct tl_event *t)
{
	struct jw w;

	if (o->format == OUT_JSON) {
		jw_init(&w, o->f);
		json_event(&w, t);
		return;
	}
	if (o->verbose) {
		fprintf(o->f, "cookie %" PRIu64 " ", (uint64_t)t->ev.cookie);
		text_event_line(o, t, "", ' ');
	}
}

const struct ta_event *conn_tuple(const struct conn *c)
{
	for (size_t i = c->n; i-- > 0;)
		if (c->ev[i].ev.sport)
			return &c->ev[i].ev;
	return &c->ev[0].ev;
}

static bool cited(const struct verdict *v, size_t idx)
{
	for (size_t i = 0; i < v->nevidence; i++)
		if (v->evidence[i].idx == idx)
			return true;
	return false;
}

/*
 * Print text after a label, wrapped at TEXT_WIDTH with a hanging indent:
 * verdicts are read in terminals and in mail.
 */
#define TEXT_WIDTH 100

static void wrapped(FILE *f, const char *label, const char *text, int indent)
{
	int col = fprintf(f, "%-*s", indent, label);

	while (*text) {
		size_t word = strcspn(text, " ");

		if (col > indent && col + 1 + (int)word > TEXT_WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		col += fprintf(f, "%.*s", (int)word, text);
		text += word;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

/* "redis-server", or "redis-server, thread bio_close_file" when the thread has its own name. */
static void owner_name(const struct conn *c, char *buf, size_t len)
{
	if (!c->comm[0])
		snprintf(buf, len, "?");
	else if (c->thread[0] && strncmp(c->thread, c->comm, TA_COMM_LEN))
		snprintf(buf, len, "%.*s, thread %.*s", TA_COMM_LEN, c->comm, TA_COMM_LEN,
			 c->thread);
	else
		snprintf(buf, len, "%.*s", TA_COMM_LEN, c->comm);
}

static void text_connection(struct out *o, const struct conn *c, const struct verdict *v,
			    const struct amend *a)
{
	const struct ta_event *t = conn_tuple(c);
	char src[64], dst[64], who[64], note[96] = "";

	format_addr(t, true, src, sizeof(src));
	format_addr(t, false, dst, sizeof(dst));
	owner_name(c, who, sizeof(who));
	if (a && a->shown)
		snprintf(note, sizeof(note), "  (amends the verdict above)");
	else if (a)
		snprintf(note, sizeof(note), "  (amends an earlier %s verdict)",
			 a->cause ? a->cause : "");
	fprintf(o->f, "\nconnection %s:%u -> %s:%u  pid %u (%s)  cookie %" PRIu64 "%s%s\n", src,
		t->sport, dst, t->dport, c->owner, who, c->cookie, c->ended ? "" : "  [still open]",
		note);
	for (size_t i = 0; i < c->n; i++)
		text_event_line(o, &c->ev[i], "  ", cited(v, i) ? '*' : ' ');
	if (c->trimmed)
		fprintf(o->f, "  (%" PRIu64 " repeated event%s from the middle not kept)\n",
			(uint64_t)c->trimmed, c->trimmed == 1 ? "" : "s");
	fprintf(o->f, "  cause:    %s", v->cause->id);
	if (v->err)
		fprintf(o->f, " (%s)", errname(v->err));
	if (v->winsock)
		fprintf(o->f, "  Winsock: %s", v->winsock);
	fputc('\n', o->f);
	wrapped(o->f, "  why:", v->sentence, 12);
	for (size_t i = 0; i < v->nevidence; i++) {
		char when[32], label[48];

		reltime(o, c->ev[v->evidence[i].idx].ev.ts_ns, when, sizeof(when));
		snprintf(label, sizeof(label), "  %-9s %12s", i ? "" : "evidence:", when);
		wrapped(o->f, label, v->evidence[i].why, 26);
	}
	if (!v->complete || v->missing[0])
		wrapped(o->f, v->complete ? "  note:" : "  INCOMPLETE:", v->missing, 14);
}

static void json_connection(struct out *o, const struct conn *c, const struct verdict *v,
			    const struct amend *a)
{
	const struct ta_event *t = conn_tuple(c);
	char addr[64];
	struct jw w;

	jw_init(&w, o->f);
	jw_obj_open(&w, NULL);
	jw_str(&w, "type", "connection");
	jw_u64(&w, "cookie", c->cookie);
	jw_u64(&w, "pid", c->owner);
	jw_strn(&w, "comm", c->comm[0] ? c->comm : NULL, sizeof(c->comm));
	jw_strn(&w, "thread", c->thread[0] ? c->thread : NULL, sizeof(c->thread));
	format_addr(t, true, addr, sizeof(addr));
	jw_str(&w, "saddr", addr);
	jw_u64(&w, "sport", t->sport);
	format_addr(t, false, addr, sizeof(addr));
	jw_str(&w, "daddr", addr);
	jw_u64(&w, "dport", t->dport);
	jw_str(&w, "cause", v->cause->id);
	json_errno(&w, "errno", v->err);
	jw_str(&w, "explanation", v->sentence);
	jw_str(&w, "winsock", v->winsock);
	jw_arr_open(&w, "evidence");
	for (size_t i = 0; i < v->nevidence; i++) {
		const struct tl_event *e = &c->ev[v->evidence[i].idx];
		char what[200];

		describe_event(e, what, sizeof(what));
		jw_obj_open(&w, NULL);
		jw_u64(&w, "seq", e->seq);
		jw_u64(&w, "ts_ns", e->ev.ts_ns);
		jw_str(&w, "kind", ta_kind_name(e->ev.kind));
		jw_str(&w, "event", what);
		jw_str(&w, "proves", v->evidence[i].why);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	if (v->next.known) {
		jw_obj_open(&w, "next");
		if (v->next.recv)
			json_errno(&w, "recv", v->next.recv);
		else
			jw_str(&w, "recv", "EOF");
		json_errno(&w, "send", v->next.send);
		jw_bool(&w, "sigpipe", v->next.sigpipe);
		json_errno(&w, "so_error", v->next.so_error);
		jw_obj_close(&w);
	} else {
		jw_null(&w, "next");
	}
	jw_bool(&w, "complete", v->complete);
	jw_str(&w, "missing", v->missing[0] ? v->missing : NULL);
	jw_bool(&w, "ended", c->ended);
	jw_u64(&w, "events", c->n);
	/* A long connection's history is bounded: repeats dropped from its middle. */
	jw_u64(&w, "events_trimmed", c->trimmed);
	/* An earlier record of this cookie gave a verdict that this one replaces. */
	jw_bool(&w, "amends", a != NULL);
	jw_obj_close(&w);
}

void out_connection(struct out *o, const struct conn *c, const struct verdict *v,
		    const struct amend *a)
{
	if (o->format == OUT_JSON)
		json_connection(o, c, v, a);
	else
		text_connection(o, c, v, a);
	/* A connection's verdict is a unit: a killed tracer leaves whole ones behind. */
	flush(o);
}

void out_proc(struct out *o, const struct tl_event *t)
{
	const struct ta_event *e = &t->ev;
	const char *name = process_name(e);
	char st[48];

	if (o->format == OUT_JSON) {
		out_event(o, t);
		return;
	}
	switch (e->b) {
	case TA_PROC_EXIT:
		fprintf(o->f, "# pid %u (%.*s) exited (%s)\n", e->owner_tgid, TA_COMM_LEN, name,
			exit_status(e->a, st, sizeof(st)));
		break;
	case TA_PROC_FORK:
		fprintf(o->f, "# following pid %u (%.*s), forked from %d\n", e->owner_tgid,
			TA_COMM_LEN, name, e->a);
		break;
	case TA_PROC_EXEC:
		fprintf(o->f, "# following pid %u (%.*s): it entered the scope by exec\n",
			e->owner_tgid, TA_COMM_LEN, name);
		break;
	default:
		fprintf(o->f, "# tracing pid %u (%.*s)\n", e->owner_tgid, TA_COMM_LEN, name);
	}
	flush(o);
}

struct ranked {
	const struct summary *s;
	int idx[TA_SUMMARY_ROWS];
	int n;
};

static void rank_rows(const struct summary *s, struct ranked *r)
{
	r->n = 0;
	for (int i = 0; i < s->nrows; i++) {
		int k = r->n++;

		if (!s->rows[i].count) {
			r->n--;
			continue;
		}
		/* Few rows: insertion sort, most connections first, then first seen. */
		while (k && (s->rows[r->idx[k - 1]].count < s->rows[i].count))
			r->idx[k] = r->idx[k - 1], k--;
		r->idx[k] = i;
	}
}

/* The row's peers, most counted first; returns how many (at most max). */
static int top_peers(const struct summary_row *row, const struct summary_peer **top, int max)
{
	const struct summary_peer *all[TA_SUMMARY_PEERS];
	int n = 0;

	for (int i = 0; i < TA_SUMMARY_PEERS; i++) {
		int k = n;

		if (!row->peers[i].count)
			continue;
		while (k && all[k - 1]->count < row->peers[i].count)
			all[k] = all[k - 1], k--;
		all[k] = &row->peers[i];
		n++;
	}
	n = n < max ? n : max;
	memcpy(top, all, n * sizeof(*top));
	return n;
}

static void peer_addr(const struct summary_peer *p, char *buf, size_t len)
{
	struct ta_event e = { .flags = p->v6 ? TA_F_IPV6 : 0 };

	memcpy(e.daddr, p->addr, sizeof(e.daddr));
	format_addr(&e, false, buf, len);
}

static void reltime_s(const struct out *o, uint64_t ts, char *buf, size_t len)
{
	double sec = ts >= o->t0_ns ? (ts - o->t0_ns) / 1e9 : -((o->t0_ns - ts) / 1e9);

	snprintf(buf, len, "%+.3fs", sec);
}

#define SUMMARY_TOP 3

static void text_summary(struct out *o, const struct summary *s, bool final, uint64_t lost,
			 const struct ranked *r)
{
	fprintf(o->f,
		"\n# summary%s: %" PRIu64 " connections, %" PRIu64 " healthy, %" PRIu64
		" abnormal; %" PRIu64 " incomplete, %" PRIu64 " with lost events, %" PRIu64
		" joined mid-life, %" PRIu64 " still open, %" PRIu64 " amended",
		final ? "" : " so far", s->connections, s->healthy, s->connections - s->healthy,
		s->incomplete, s->lost, s->midlife, s->open, s->amended);
	if (!final)
		fprintf(o->f, "; %" PRIu64 " followed now", s->tracking);
	if (lost)
		fprintf(o->f, "; %" PRIu64 " events lost", lost);
	fputc('\n', o->f);
	for (int i = 0; i < r->n; i++) {
		const struct summary_row *row = &s->rows[r->idx[i]];
		const struct summary_peer *top[SUMMARY_TOP];
		int n = top_peers(row, top, SUMMARY_TOP);
		char first[32], last[32], addr[64];

		reltime_s(o, row->first_ns, first, sizeof(first));
		reltime_s(o, row->last_ns, last, sizeof(last));
		fprintf(o->f, "# summary:   %s", row->cause->id);
		if (row->err)
			fprintf(o->f, " (%s)", errname(row->err));
		fprintf(o->f, ": %" PRIu64 ", first %s, last %s", row->count, first, last);
		for (int k = 0; k < n; k++) {
			peer_addr(top[k], addr, sizeof(addr));
			fprintf(o->f, "%s%s%s%s:%u (%" PRIu64 ")", k ? ", " : "; peers ",
				top[k]->v6 ? "[" : "", addr, top[k]->v6 ? "]" : "", top[k]->port,
				top[k]->count);
		}
		fputc('\n', o->f);
	}
	if (s->overflow)
		fprintf(o->f, "# summary:   %" PRIu64 " more in causes the table had no room for\n",
			s->overflow);
	if (s->kept_evicted)
		fprintf(o->f,
			"# summary:   %" PRIu64 " connections were let go before their timewait "
			"sock: a later RST for them stands alone\n",
			s->kept_evicted);
}

void out_summary(struct out *o, const struct summary *s, bool final, uint64_t events, uint64_t lost)
{
	struct ranked r;
	struct jw w;

	rank_rows(s, &r);
	if (o->format == OUT_TEXT) {
		text_summary(o, s, final, lost, &r);
		flush(o);
		return;
	}
	jw_init(&w, o->f);
	jw_obj_open(&w, NULL);
	jw_str(&w, "type", "summary");
	jw_bool(&w, "final", final);
	jw_u64(&w, "events", events);
	jw_u64(&w, "events_lost", lost);
	jw_u64(&w, "connections", s->connections);
	jw_u64(&w, "healthy", s->healthy);
	jw_u64(&w, "abnormal", s->connections - s->healthy);
	jw_u64(&w, "incomplete", s->incomplete);
	jw_u64(&w, "lost", s->lost);
	jw_u64(&w, "midlife", s->midlife);
	jw_u64(&w, "still_open", s->open);
	jw_u64(&w, "amended", s->amended);
	jw_u64(&w, "followed_now", s->tracking);
	jw_u64(&w, "kept_evicted", s->kept_evicted);
	jw_u64(&w, "overflow", s->overflow);
	jw_arr_open(&w, "causes");
	for (int i = 0; i < r.n; i++) {
		const struct summary_row *row = &s->rows[r.idx[i]];
		const struct summary_peer *top[SUMMARY_TOP];
		int n = top_peers(row, top, SUMMARY_TOP);
		char addr[64];

		jw_obj_open(&w, NULL);
		jw_str(&w, "cause", row->cause->id);
		json_errno(&w, "errno", row->err);
		jw_u64(&w, "count", row->count);
		jw_u64(&w, "first_ns", row->first_ns);
		jw_u64(&w, "last_ns", row->last_ns);
		jw_arr_open(&w, "peers");
		for (int k = 0; k < n; k++) {
			peer_addr(top[k], addr, sizeof(addr));
			jw_obj_open(&w, NULL);
			jw_str(&w, "addr", addr);
			jw_u64(&w, "port", top[k]->port);
			jw_u64(&w, "count", top[k]->count);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	flush(o);
}

void out_end(struct out *o, const struct end_info *e)
{
	struct jw w;

	if (o->format == OUT_TEXT) {
		/* Text shows only some connections: the summary above counts them all. */
		fprintf(o->f,
			"\n# %" PRIu64 " events, %" PRIu64 " connection%s shown, %" PRIu64
			" events lost%s\n",
			e->events, e->connections, e->connections == 1 ? "" : "s", e->lost,
			e->lost ? " (verdicts marked INCOMPLETE may lack evidence)" : "");
		if (e->unread)
			fprintf(o->f,
				"# %" PRIu64 " events not read: stopped with a backlog (open "
				"connections marked INCOMPLETE)\n",
				e->unread);
		if (e->ends_lost)
			fprintf(o->f,
				"# %" PRIu64 " connection%s ended with their history lost: no "
				"verdict, or an INCOMPLETE one (see -b)\n",
				e->ends_lost, e->ends_lost == 1 ? "" : "s");
		if (e->untracked)
			fprintf(o->f,
				"# %" PRIu64 " socket%s of the traced processes not traced: the "
				"socket table was full (--max-sockets)\n",
				e->untracked, e->untracked == 1 ? "" : "s");
	} else {
		jw_init(&w, o->f);
		jw_obj_open(&w, NULL);
		jw_str(&w, "type", "end");
		jw_u64(&w, "events", e->events);
		jw_u64(&w, "lost", e->lost);
		jw_u64(&w, "unread", e->unread);
		jw_u64(&w, "connections", e->connections);
		jw_u64(&w, "untracked", e->untracked);
		jw_u64(&w, "connections_lost", e->ends_lost);
		jw_obj_close(&w);
	}
	flush(o);
}
