// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "reader.h"

/* An errno given by name ("EPIPE") or number; 0 for null. */
static int errno_value(json_t *v, bool *ok)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_string(v)) {
		int e = ta_errno_from_name(json_string_value(v));

		if (e)
			return e;
	}
	*ok = false;
	return 0;
}

static int state_value(json_t *v, bool *ok)
{
	unsigned int s = json_is_string(v) ? ta_state_from_name(json_string_value(v)) : 0;

	if (!s)
		*ok = false;
	return s;
}

static bool addr(json_t *v, __u8 *out, bool *v6)
{
	const char *s = json_string_value(v);

	if (!s)
		return false;
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*v6 = false;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*v6 = true;
		return true;
	}
	return false;
}

static uint64_t u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static int64_t i64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int fail(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s", what);
	return -1;
}

static int parse_event(json_t *o, struct tl_event *t, char *err, size_t errlen)
{
	struct ta_event *e = &t->ev;
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *comm = json_string_value(json_object_get(o, "task_comm"));
	const char *pcomm = json_string_value(json_object_get(o, "task_process"));
	const char *reason;
	json_t *ps;
	bool ok = true, v6 = false, v6d = false;

	memset(t, 0, sizeof(*t));
	if (!kind)
		return fail(err, errlen, "event record without a \"kind\"");
	/* A newer writer's new kind of event: skip it, as the contract says. */
	if (!(e->kind = ta_kind_from_name(kind)))
		return 0;
	if (!json_is_integer(json_object_get(o, "cookie")) ||
	    !json_is_integer(json_object_get(o, "ts_ns")))
		return fail(err, errlen, "event record without \"cookie\" or \"ts_ns\"");
	t->seq = u64(o, "seq");
	e->cookie = u64(o, "cookie");
	e->ts_ns = u64(o, "ts_ns");
	if (!json_is_null(json_object_get(o, "state")))
		e->state = state_value(json_object_get(o, "state"), &ok);
	e->owner_tgid = u64(o, "pid");
	e->task_tgid = u64(o, "task_pid");
	e->task_pid = u64(o, "task_tid");
	if (comm)
		strncpy(e->comm, comm, sizeof(e->comm) - 1);
	/* Format v1 had only the thread's name. */
	snprintf(e->pcomm, sizeof(e->pcomm), "%s", pcomm ? pcomm : e->comm);
	/* "softirq" is this flag's name in captures made before it was renamed. */
	if (json_is_true(json_object_get(o, "other_task")) ||
	    json_is_true(json_object_get(o, "softirq")))
		e->flags |= TA_F_SOFTIRQ;
	if (json_is_true(json_object_get(o, "lost_before")))
		e->flags |= TA_F_LOST_BEFORE;
	if (json_is_true(json_object_get(o, "midlife")))
		e->flags |= TA_F_MIDLIFE;
	if (!addr(json_object_get(o, "saddr"), e->saddr, &v6) ||
	    !addr(json_object_get(o, "daddr"), e->daddr, &v6d) || v6 != v6d)
		return fail(err, errlen, "event record with bad \"saddr\"/\"daddr\"");
	if (v6)
		e->flags |= TA_F_IPV6;
	e->sport = u64(o, "sport");
	e->dport = u64(o, "dport");
	e->tx_bytes = u64(o, "tx_bytes");
	e->rx_bytes = u64(o, "rx_bytes");
	e->tx_calls = u64(o, "tx_calls");
	e->rx_calls = u64(o, "rx_calls");
	e->retrans = u64(o, "retrans");

	switch (e->kind) {
	case TA_EV_STATE:
		e->a = state_value(json_object_get(o, "old"), &ok);
		e->b = state_value(json_object_get(o, "new"), &ok);
		break;
	case TA_EV_RST_SENT:
	case TA_EV_PEER_RST:
		reason = json_string_value(json_object_get(o, "reason"));
		if (reason)
			snprintf(t->rst_name, sizeof(t->rst_name), "%s", reason);
		t->rst = ta_rst_from_name(t->rst_name);
		e->a = i64(o, "reason_code");
		e->aux = u64(o, "unread");
		if (e->kind == TA_EV_PEER_RST) {
			e->peer_cookie = u64(o, "peer_cookie");
			/* Required with a cookie; a socket without an id (before 5.12) has one too.
			 */
			ps = json_object_get(o, "peer_state");
			if (e->peer_cookie || (ps && !json_is_null(ps)))
				e->b = state_value(ps, &ok);
		}
		break;
	case TA_EV_SK_ERROR:
		e->a = errno_value(json_object_get(o, "sk_err"), &ok);
		e->b = errno_value(json_object_get(o, "sk_err_soft"), &ok);
		e->c = u64(o, "user_timeout_ms");
		e->probes = u64(o, "probes");
		e->aux = u64(o, "head_retrans");
		break;
	case TA_EV_RETRANS:
		e->a = -errno_value(json_object_get(o, "err"), &ok);
		break;
	case TA_EV_SEND:
	case TA_EV_RECV:
		e->a = i64(o, "ret");
		e->b = i64(o, "flags");
		if (e->kind == TA_EV_SEND && json_is_true(json_object_get(o, "sigpipe")))
			e->c = json_is_true(json_object_get(o, "sigpipe_fatal"))
				       ? TA_SIGPIPE_FATAL
				       : TA_SIGPIPE_HANDLED;
		break;
	case TA_EV_SYSCALL:
		e->a = i64(o, "ret");
		e->b = ta_sys_from_name(json_string_value(json_object_get(o, "call")) ?: "");
		e->c = i64(o, "arg");
		e->aux = u64(o, "other_refs");
		if (!e->b)
			ok = false;
		break;
	case TA_EV_JOIN:
		e->a = i64(o, "unread");
		e->b = i64(o, "unacked");
		e->c = i64(o, "fd");
		e->aux = u64(o, "accept_queue");
		break;
	case TA_EV_SUMMARY: {
		const char *fin_first = json_string_value(json_object_get(o, "fin_first"));
		const char *born = json_string_value(json_object_get(o, "born"));

		e->c = u64(o, "events");
		e->peer_cookie = u64(o, "first_ts_ns");
		e->a = ta_states_parse(json_string_value(json_object_get(o, "states")) ?: "", &ok);
		e->aux = state_value(json_object_get(o, "closed_from"), &ok);
		e->b = (json_is_true(json_object_get(o, "our_fin")) ? TA_SUM_OUR_FIN : 0) |
		       (json_is_true(json_object_get(o, "peer_fin")) ? TA_SUM_PEER_FIN : 0) |
		       (fin_first && !strcmp(fin_first, "ours") ? TA_SUM_OURS_FIRST : 0) |
		       (json_is_true(json_object_get(o, "closed")) ? TA_SUM_CLOSED : 0) |
		       (json_is_true(json_object_get(o, "handoff")) ? TA_SUM_HANDOFF : 0) |
		       (born && !strcmp(born, "connect") ? TA_SUM_CONNECT : 0);
		break;
	}
	case TA_EV_PROC:
		e->b = ta_proc_from_name(json_string_value(json_object_get(o, "what")) ?: "");
		e->a = i64(o, e->b == TA_PROC_EXIT ? "status" : "parent");
		if (!e->b)
			ok = false;
		break;
	}
	if (!ok)
		return fail(err, errlen, "event record with an unknown state, errno or call name");
	return 1;
}

void reader_meta_init(struct reader_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->error_report = true;
}

static int parse_start(json_t *o, struct reader_meta *m, char *err, size_t errlen)
{
	json_t *er = json_object_get(json_object_get(o, "features"), "error_report");

	m->version = json_integer_value(json_object_get(o, "v"));
	if (m->version > TA_WIRE_VERSION) {
		snprintf(err, errlen,
			 "written by a newer tcpabort-trace (format v%d, this one reads v%d)",
			 m->version, TA_WIRE_VERSION);
		return -1;
	}
	m->mono_ns = u64(o, "mono_ns");
	m->npids = 0;
	for (size_t i = 0; i < json_array_size(json_object_get(o, "pids")) && m->npids < 64; i++) {
		json_t *p = json_array_get(json_object_get(o, "pids"), i);

		if (json_is_integer(p))
			m->pids[m->npids++] = json_integer_value(p);
	}
	if (json_is_boolean(er))
		m->error_report = json_is_true(er);
	return 0;
}

int reader_parse_line(const char *line, struct tl_event *e, struct reader_meta *meta, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	const char *type;
	int ret;

	if (!o) {
		snprintf(err, errlen, "not JSON: %s (column %d)", jerr.text, jerr.column);
		return -1;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (!json_is_object(o) || !type)
		ret = fail(err, errlen, "a record without \"type\"");
	else if (!strcmp(type, "event"))
		ret = parse_event(o, e, err, errlen);
	else if (!strcmp(type, "start") && meta)
		ret = parse_start(o, meta, err, errlen);
	else
		ret = 0;
	if (meta && type && !strcmp(type, "end")) {
		meta->ended = true;
		meta->lost = u64(o, "lost");
	}
	if (meta && ret == 0 && type && !strcmp(type, "event"))
		meta->skipped++;
	json_decref(o);
	return ret;
}

int reader_each_event(FILE *f, int (*fn)(const struct tl_event *, void *), void *arg,
		      struct reader_meta *meta, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int ret = 0;

	while (getline(&line, &cap, f) > 0) {
		struct tl_event e;
		char why[200];
		int r;

		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		r = reader_parse_line(line, &e, meta, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "line %lu: %s", lineno, why);
			ret = -1;
			break;
		}
		if (r == 1 && (ret = fn(&e, arg)) != 0)
			break;
	}
	free(line);
	return ret;
}
