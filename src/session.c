// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "session.h"

int session_init(struct session *s, struct out *out)
{
	*s = (struct session){ .out = out, .print_events = true };
	return ct_init(&s->conns);
}

static void conclude(struct session *s, struct conn *c)
{
	struct verdict *v;

	/* A listener's fate is not a connection's: its events were output, that is all. */
	if (c->listener)
		return;
	v = malloc(sizeof(*v));
	if (!v)
		return;
	ta_decide(c, v);
	out_connection(s->out, c, v);
	s->connections++;
	free(v);
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
	if (s->print_events)
		out_event(s->out, &copy);
	c = ct_feed(&s->conns, &copy);
	if (!c)
		return -1;
	c->errors_unseen = s->errors_unseen;
	if (c->ended && !c->timewait) {
		conclude(s, c);
		ct_remove(&s->conns, c);
	} else if (c->ended && copy.ev.kind == TA_EV_DESTROY) {
		s->lingering++;
	}
	/* Saved logs carry no clock of their own: their events' time drives the linger. */
	if (s->lingering)
		session_tick(s, copy.ev.ts_ns);
	return 0;
}

struct expiry {
	struct session *s;
	uint64_t now;
	struct conn **due;
	size_t n;
};

static void find_due(struct conn *c, void *arg)
{
	struct expiry *x = arg;

	if (c->ended && c->timewait && x->now >= c->end_ns + TA_TIMEWAIT_LINGER_NS &&
	    x->n < x->s->lingering)
		x->due[x->n++] = c;
}

void session_tick(struct session *s, uint64_t now_ns)
{
	struct expiry x = { .s = s, .now = now_ns };

	if (!s->lingering)
		return;
	x.due = calloc(s->lingering, sizeof(*x.due));
	if (!x.due)
		return;
	ct_each(&s->conns, find_due, &x);
	for (size_t i = 0; i < x.n; i++) {
		conclude(s, x.due[i]);
		ct_remove(&s->conns, x.due[i]);
		s->lingering--;
	}
	free(x.due);
}

struct gather {
	struct conn **v;
	size_t n;
};

static void collect(struct conn *c, void *arg)
{
	struct gather *g = arg;

	g->v[g->n++] = c;
}

static void suspect_loss(struct conn *c, void *arg)
{
	(void)arg;
	if (!c->ended)
		c->lost = true;
}

static int by_first_event(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;

	return (x->ev[0].seq > y->ev[0].seq) - (x->ev[0].seq < y->ev[0].seq);
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
	ct_free(&s->conns);
}

void session_discard(struct session *s)
{
	ct_free(&s->conns);
}
