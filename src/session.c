// SPDX-License-Identifier: GPL-2.0
/*
 * The session: events in, connection records and the summary out.
 *
 * Every decision that depends on time (how long a connection handed to a
 * timewait sock waits for that sock's RST, how long it is kept afterwards
 * for an amendment) is taken from the events' own timestamps, before the
 * event that passes a deadline is fed.  A saved log replays the same events
 * in the same order, so `report` decides exactly as the live run did.  The
 * live clock only concludes what no event still in flight could change (see
 * TA_CLOCK_SLACK_NS).
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"

enum phase {
	PH_OPEN = 0, /* no verdict yet */
	PH_LINGER,   /* destroyed, handed to a timewait sock: waits for that sock's RST */
	PH_KEPT,     /* verdict written; kept while the timewait sock may still speak */
	PH_AMEND,    /* the timewait sock spoke: an amended verdict is pending */
};

/* What a verdict counted in the summary besides its row, to take back on amendment. */
enum told {
	TOLD_HEALTHY = 1 << 0,
	TOLD_INCOMPLETE = 1 << 1,
	TOLD_LOST = 1 << 2,
	TOLD_MIDLIFE = 1 << 3,
	TOLD_OPEN = 1 << 4,
	TOLD_COUNTED = 1 << 5, /* passed the filter: counted at all */
};

struct linger_item {
	uint64_t deadline;
	uint64_t order; /* ties broken by arrival, so the order of records is stable */
	uint64_t cookie;
	uint32_t gen;
};

struct kept_item {
	uint64_t cookie;
	uint32_t gen;
};

#define KEPT_CAP (2 * TA_KEEP_MAX)

int session_init(struct session *s, struct out *out)
{
	*s = (struct session){ .out = out, .print_events = true };
	s->kept = calloc(KEPT_CAP, sizeof(struct kept_item));
	if (!s->kept)
		return -1;
	return ct_init(&s->conns);
}

void session_set_filter(struct session *s, const struct session_filter *f)
{
	s->filter = *f;
	s->out->show_healthy = f->all;
}

bool session_parse_ports(struct session_filter *f, const char *list)
{
	const char *p = list;

	if (!*p)
		return false;
	while (*p) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9')
			return false;
		v = strtoul(p, &end, 10);
		if (v < 1 || v > 65535 || (*end && *end != ','))
			return false;
		if (f->nports == TA_MAX_PORTS)
			return false;
		f->ports[f->nports++] = v;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return false;
	}
	return true;
}

bool session_healthy(const struct verdict *v)
{
	return !strcmp(v->cause->id, "orderly_close") || !strcmp(v->cause->id, "open");
}

/* JSON with a filter: events wait in their connection and go out just before its record. */
static bool deferred(const struct session *s)
{
	return s->out->format == OUT_JSON && (s->filter.errors_only || s->filter.nports);
}

static bool port_wanted(const struct session *s, uint16_t a, uint16_t b)
{
	if (!s->filter.nports)
		return true;
	for (int i = 0; i < s->filter.nports; i++)
		if (s->filter.ports[i] == a || s->filter.ports[i] == b)
			return true;
	return false;
}

/* --- the linger heap: ordered by deadline ---------------------------------------------- */

static bool before(const struct linger_item *a, const struct linger_item *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
}

static int heap_push(struct linger_heap *h, struct linger_item it)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct linger_item *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	while (i && before(&it, &h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = it;
	return 0;
}

static struct linger_item heap_pop(struct linger_heap *h)
{
	struct linger_item top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= h->n)
			break;
		if (k + 1 < h->n && before(&h->v[k + 1], &h->v[k]))
			k++;
		if (!before(&h->v[k], &last))
			break;
		h->v[i] = h->v[k];
		i = k;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/*
 * An RST arrived and no local sender's record of it yet: on loopback the
 * sender's tcp_send_reset can fire after the receiver, on another CPU, has
 * already read the error, closed and destroyed its socket (seen on 6.18,
 * 1 to 15 connections in 65,000 at churn).  Its peer_rst, which names the
 * sender and its reason, is then worth a short wait.
 */
static bool awaits_peer_rst(const struct conn *c)
{
	bool rst = false;

	for (size_t i = 0; i < c->n; i++) {
		if (c->ev[i].ev.kind == TA_EV_PEER_RST)
			return false;
		if (c->ev[i].ev.kind == TA_EV_RST_RECV)
			rst = true;
	}
	return rst;
}

static int linger(struct session *s, struct conn *c, uint64_t deadline, enum phase ph)
{
	c->phase = ph;
	c->gen++;
	c->deadline = deadline;
	return heap_push(&s->linger, (struct linger_item){ .deadline = deadline,
							   .order = ++s->seq_linger,
							   .cookie = c->cookie,
							   .gen = c->gen });
}

/* --- the summary ----------------------------------------------------------------------- */

/* Events are held in time order: the last one held is the newest. */
static uint64_t seen_at(const struct conn *c)
{
	return c->ended ? c->end_ns : c->ev[c->n - 1].ev.ts_ns;
}

static int row_of(struct summary *sum, const struct cause *cause, int err)
{
	for (int i = 0; i < sum->nrows; i++)
		if (sum->rows[i].cause == cause && sum->rows[i].err == err)
			return i;
	if (sum->nrows == TA_SUMMARY_ROWS)
		return -1;
	sum->rows[sum->nrows] = (struct summary_row){ .cause = cause, .err = err };
	return sum->nrows++;
}

static struct summary_peer *peer_of(struct summary_row *r, const struct ta_event *t)
{
	bool v6 = t->flags & TA_F_IPV6;

	for (int i = 0; i < TA_SUMMARY_PEERS; i++) {
		struct summary_peer *p = &r->peers[i];

		if (p->count && p->port == t->dport && p->v6 == v6 &&
		    !memcmp(p->addr, t->daddr, sizeof(p->addr)))
			return p;
	}
	return NULL;
}

/* Space-Saving: a new peer takes the place of the least counted one, and its count. */
static void peer_count(struct summary_row *r, const struct ta_event *t)
{
	struct summary_peer *p = peer_of(r, t), *min = &r->peers[0];

	if (p) {
		p->count++;
		return;
	}
	for (int i = 1; i < TA_SUMMARY_PEERS; i++)
		if (r->peers[i].count < min->count)
			min = &r->peers[i];
	memcpy(min->addr, t->daddr, sizeof(min->addr));
	min->v6 = t->flags & TA_F_IPV6;
	min->port = t->dport;
	min->count++;
}

static void tally(struct session *s, struct conn *c, const struct verdict *v, bool healthy)
{
	struct summary *sum = &s->sum;
	int row = row_of(sum, v->cause, v->err);
	uint8_t f = TOLD_COUNTED;

	sum->connections++;
	if (row < 0) {
		sum->overflow++;
	} else {
		struct summary_row *r = &sum->rows[row];
		uint64_t at = seen_at(c);

		if (!r->count || at < r->first_ns)
			r->first_ns = at;
		if (!r->count || at > r->last_ns)
			r->last_ns = at;
		r->count++;
		if (!healthy)
			peer_count(r, conn_tuple(c));
	}
	if (healthy)
		f |= TOLD_HEALTHY, sum->healthy++;
	if (!v->complete)
		f |= TOLD_INCOMPLETE, sum->incomplete++;
	if (c->lost)
		f |= TOLD_LOST, sum->lost++;
	if (c->midlife)
		f |= TOLD_MIDLIFE, sum->midlife++;
	if (!c->ended)
		f |= TOLD_OPEN, sum->open++;
	c->told_row = row;
	c->told_flags = f;
}

/* An amended verdict replaces the earlier one in the counts. */
static void untally(struct session *s, struct conn *c)
{
	struct summary *sum = &s->sum;
	uint8_t f = c->told_flags;

	if (!(f & TOLD_COUNTED))
		return;
	sum->connections--;
	if (c->told_row < 0) {
		sum->overflow--;
	} else {
		struct summary_row *r = &sum->rows[c->told_row];
		struct summary_peer *p = f & TOLD_HEALTHY ? NULL : peer_of(r, conn_tuple(c));

		r->count--;
		if (p)
			p->count--;
	}
	sum->healthy -= !!(f & TOLD_HEALTHY);
	sum->incomplete -= !!(f & TOLD_INCOMPLETE);
	sum->lost -= !!(f & TOLD_LOST);
	sum->midlife -= !!(f & TOLD_MIDLIFE);
	sum->open -= !!(f & TOLD_OPEN);
	c->told_flags = 0;
}

/* --- verdicts -------------------------------------------------------------------------- */

/*
 * Deferred output writes a connection's events just before its record: those
 * the bounded history (conn.c) dropped before that are not in the log, and
 * c->trimmed says how many events the timeline lacks.
 */
static void write_events(struct session *s, struct conn *c)
{
	if (s->print_events)
		for (; c->written < c->n; c->written++)
			out_event(s->out, &c->ev[c->written]);
	c->written = c->n;
}

static void conclude(struct session *s, struct conn *c)
{
	const struct ta_event *t;
	struct amend a, *am = NULL;
	struct verdict *v;
	bool healthy, show;

	/* A listener's fate is not a connection's: its events were output, that is all. */
	if (c->listener)
		return;
	v = malloc(sizeof(*v));
	if (!v)
		return;
	/* The bounded history, trimmed to its bound as a replay of the log will trim it. */
	ct_trim(c);
	ta_decide(c, v);
	healthy = session_healthy(v);
	t = conn_tuple(c);
	if (c->phase == PH_AMEND) {
		a = (struct amend){ .cause = c->told_row >= 0 && s->sum.rows[c->told_row].cause
						     ? s->sum.rows[c->told_row].cause->id
						     : NULL,
				    .shown = c->told_shown };
		am = &a;
		untally(s, c);
	}
	show = port_wanted(s, t->sport, t->dport);
	if (show) {
		tally(s, c, v, healthy);
		s->sum.amended += am != NULL;
	} else
		c->told_row = -1, c->told_flags = 0;
	if (s->out->format == OUT_JSON)
		show = show && !(healthy && s->filter.errors_only);
	else
		show = show && (!healthy || s->filter.all);
	if (show) {
		if (deferred(s))
			write_events(s, c);
		out_connection(s->out, c, v, am);
		s->connections++;
	}
	c->told_shown = show;
	free(v);
}

/* The timewait sock may still send an RST for this cookie: keep the connection. */
static void keep(struct session *s, struct conn *c)
{
	struct kept_item *k = (struct kept_item *)s->kept;

	c->phase = PH_KEPT;
	c->gen++;
	/* Full: the oldest goes first, and a late RST for it will stand alone. */
	while (s->kept_n && (s->kept_n == KEPT_CAP || s->kept_live >= TA_KEEP_MAX)) {
		struct kept_item old = k[s->kept_head];
		struct conn *o = ct_find(&s->conns, old.cookie);

		s->kept_head = (s->kept_head + 1) % KEPT_CAP;
		s->kept_n--;
		if (o && o->gen == old.gen && o->phase == PH_KEPT) {
			ct_remove(&s->conns, o);
			s->kept_live--;
			s->kept_evicted++;
		}
	}
	k[(s->kept_head + s->kept_n) % KEPT_CAP] = (struct kept_item){ c->cookie, c->gen };
	s->kept_n++;
	s->kept_live++;
}

/*
 * Everything whose deadline lies before `now` (event time): lingering
 * connections get their verdict, pending amendments are written, and kept
 * connections whose timewait sock has surely expired are let go.
 */
static void due(struct session *s, uint64_t now)
{
	struct kept_item *k = (struct kept_item *)s->kept;

	while (s->linger.n && s->linger.v[0].deadline < now) {
		struct linger_item it = heap_pop(&s->linger);
		struct conn *c = ct_find(&s->conns, it.cookie);

		if (!c || c->gen != it.gen || (c->phase != PH_LINGER && c->phase != PH_AMEND))
			continue;
		conclude(s, c);
		if (c->timewait)
			keep(s, c);
		else
			ct_remove(&s->conns, c);
	}
	while (s->kept_n) {
		struct kept_item old = k[s->kept_head];
		struct conn *o = ct_find(&s->conns, old.cookie);
		bool live = o && o->gen == old.gen && o->phase == PH_KEPT;

		if (live && o->keep_until >= now)
			break;
		s->kept_head = (s->kept_head + 1) % KEPT_CAP;
		s->kept_n--;
		if (live) {
			ct_remove(&s->conns, o);
			s->kept_live--;
		}
	}
}

static void proc_event(struct session *s, const struct tl_event *e)
{
	if (e->ev.b != TA_PROC_EXIT)
		out_traced_add(s->out, e->ev.owner_tgid);
	/* Text shows them always (one line each); JSON passes them on for `report`. */
	if (s->out->format == OUT_TEXT || s->print_events)
		out_proc(s->out, e);
}

int session_feed(struct session *s, const struct tl_event *e)
{
	struct tl_event copy = *e;
	struct conn *c;

	if (!copy.seq)
		copy.seq = ++s->seq;
	else if (copy.seq > s->seq)
		s->seq = copy.seq;
	s->events++;
	/* Before the event: one past a deadline must find that verdict already written. */
	due(s, copy.ev.ts_ns);
	/* A process is not a connection: it never enters the table. */
	if (copy.ev.kind == TA_EV_PROC) {
		proc_event(s, &copy);
		return 0;
	}
	if (s->print_events && !deferred(s) &&
	    (s->out->format == OUT_JSON || port_wanted(s, copy.ev.sport, copy.ev.dport)))
		out_event(s->out, &copy);
	c = ct_feed(&s->conns, &copy);
	if (!c)
		return -1;
	if (c->n == 1)
		c->told_row = -1;
	if (!deferred(s)) {
		c->written = c->n;
	} else if (c->fed_at < c->written && s->print_events) {
		/*
		 * Older than events of its connection already written (a flight
		 * recorder's batch after the verdict): ct_feed counted it as
		 * written, so it goes out now, once, out of time order.
		 */
		out_event(s->out, &c->ev[c->fed_at]);
	}
	c->errors_unseen = s->errors_unseen;
	switch (c->phase) {
	case PH_KEPT:
		/* Its timewait sock spoke after the verdict: amend it once this settles. */
		s->kept_live--;
		return linger(s, c, copy.ev.ts_ns + TA_TIMEWAIT_LINGER_NS, PH_AMEND);
	case PH_OPEN:
		if (!c->ended)
			return 0;
		if (!c->timewait && awaits_peer_rst(c))
			return linger(s, c, c->end_ns + TA_PEER_RST_WAIT_NS, PH_LINGER);
		if (!c->timewait) {
			conclude(s, c);
			ct_remove(&s->conns, c);
			return 0;
		}
		c->keep_until = c->end_ns + TA_KEEP_NS;
		return linger(s, c, c->end_ns + TA_TIMEWAIT_LINGER_NS, PH_LINGER);
	case PH_LINGER:
		/*
		 * Older events merged in show no timewait sock after all, and no
		 * local sender's RST is awaited (or it just came): nothing to wait for.
		 */
		if (c->timewait)
			return 0;
		/* No timewait sock after all: only the short wait for the sender's record. */
		if (awaits_peer_rst(c))
			return c->deadline > c->end_ns + TA_PEER_RST_WAIT_NS
				       ? linger(s, c, c->end_ns + TA_PEER_RST_WAIT_NS, PH_LINGER)
				       : 0;
		conclude(s, c);
		ct_remove(&s->conns, c);
		return 0;
	default:
		return 0;
	}
}

void session_tick(struct session *s, uint64_t now_ns)
{
	if (now_ns > TA_CLOCK_SLACK_NS)
		due(s, now_ns - TA_CLOCK_SLACK_NS);
}

void session_summary(struct session *s)
{
	s->sum.tracking = s->conns.count - s->kept_live;
	s->sum.kept_evicted = s->kept_evicted;
	out_summary(s->out, &s->sum, false, s->events, s->lost);
}

struct gather {
	struct conn **v;
	size_t n;
};

static void collect(struct conn *c, void *arg)
{
	struct gather *g = arg;

	if (c->phase != PH_KEPT)
		g->v[g->n++] = c;
}

static void suspect_loss(struct conn *c, void *arg)
{
	(void)arg;
	if (!c->ended)
		c->lost = true;
}

/*
 * By the arrival of each connection's earliest event (ev[0] is never trimmed,
 * and a deferred log holds it with its seq): a replay orders them alike.
 */
static int by_first_event(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;

	return (x->ev[0].seq > y->ev[0].seq) - (x->ev[0].seq < y->ev[0].seq);
}

static void release(struct session *s)
{
	ct_free(&s->conns);
	free(s->linger.v);
	free(s->kept);
	s->linger = (struct linger_heap){ 0 };
	s->kept = NULL;
}

void session_finish(struct session *s)
{
	struct gather g = { .v = calloc(s->conns.count + 1, sizeof(*g.v)) };

	if (s->lost)
		ct_each(&s->conns, suspect_loss, NULL);
	/* In the order the connections were first seen, so output is stable. */
	if (g.v) {
		ct_each(&s->conns, collect, &g);
		qsort(g.v, g.n, sizeof(*g.v), by_first_event);
		for (size_t i = 0; i < g.n; i++)
			conclude(s, g.v[i]);
		free(g.v);
	}
	s->sum.tracking = 0;
	s->sum.kept_evicted = s->kept_evicted;
	/* Like the end record, it only closes what a start record opened. */
	if (s->out->started)
		out_summary(s->out, &s->sum, true, s->events, s->lost);
	release(s);
}

void session_discard(struct session *s)
{
	release(s);
}
