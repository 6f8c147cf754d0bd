// SPDX-License-Identifier: GPL-2.0
/* Connection table: events grouped by socket cookie, in arrival order. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static size_t slot(const struct conn_table *ct, uint64_t cookie)
{
	/* Cookies are sequential; mix them so buckets fill evenly. */
	cookie ^= cookie >> 33;
	cookie *= 0xff51afd7ed558ccdULL;
	cookie ^= cookie >> 33;
	return cookie & (ct->nbucket - 1);
}

int ct_init(struct conn_table *ct)
{
	ct->nbucket = 256;
	ct->count = 0;
	ct->bucket = calloc(ct->nbucket, sizeof(*ct->bucket));
	return ct->bucket ? 0 : -1;
}

static void conn_free(struct conn *c)
{
	free(c->ev);
	free(c);
}

void ct_free(struct conn_table *ct)
{
	for (size_t i = 0; i < ct->nbucket; i++) {
		struct conn *c = ct->bucket[i], *next;

		for (; c; c = next) {
			next = c->next;
			conn_free(c);
		}
	}
	free(ct->bucket);
	ct->bucket = NULL;
	ct->count = 0;
}

static int grow(struct conn_table *ct)
{
	size_t n = ct->nbucket * 2;
	struct conn **b = calloc(n, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < ct->nbucket; i++) {
		struct conn *c = ct->bucket[i], *next;

		for (; c; c = next) {
			struct conn_table tmp = { .nbucket = n };
			size_t s = slot(&tmp, c->cookie);

			next = c->next;
			c->next = b[s];
			b[s] = c;
		}
	}
	free(ct->bucket);
	ct->bucket = b;
	ct->nbucket = n;
	return 0;
}

struct conn *ct_find(struct conn_table *ct, uint64_t cookie)
{
	struct conn *c = ct->bucket[slot(ct, cookie)];

	while (c && c->cookie != cookie)
		c = c->next;
	return c;
}

static struct conn *conn_new(struct conn_table *ct, uint64_t cookie)
{
	struct conn *c;
	size_t s;

	if (ct->count >= ct->nbucket && grow(ct))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cookie = cookie;
	s = slot(ct, cookie);
	c->next = ct->bucket[s];
	ct->bucket[s] = c;
	ct->count++;
	return c;
}

/*
 * Closing from FIN_WAIT1/2 or CLOSING without an RST hands the connection to
 * a timewait sock (same cookie), which answers late data with an RST.
 */
static bool handed_to_timewait(const struct conn *c)
{
	for (size_t i = c->n; i-- > 0;) {
		const struct ta_event *e = &c->ev[i].ev;

		if (e->kind == TA_EV_RST_SENT || e->kind == TA_EV_RST_RECV)
			return false;
		if (e->kind == TA_EV_STATE && e->b == TA_TCP_CLOSE)
			return ta_has_timewait_successor(e->a);
	}
	return false;
}

/*
 * Is this the first thing that happens to a socket?  connect (CLOSE ->
 * SYN_SENT, or the connect() call itself), listen (CLOSE -> LISTEN), or a
 * child cloned from a traced listener (LISTEN -> SYN_RECV).  accept() is
 * not: a child of an untraced listener lived in the accept queue unseen,
 * and an RST may have come and gone there.
 */
static bool birth(const struct ta_event *e)
{
	if (e->kind == TA_EV_STATE)
		return e->a == TA_TCP_CLOSE || e->a == TA_TCP_SYN_RECV ||
		       e->a == TA_TCP_NEW_SYN_RECV || e->a == TA_TCP_LISTEN;
	if (e->kind == TA_EV_SYSCALL)
		return e->b == TA_SYS_CONNECT;
	return false;
}

struct conn *ct_feed(struct conn_table *ct, const struct tl_event *e)
{
	struct conn *c = ct_find(ct, e->ev.cookie);

	if (!c) {
		c = conn_new(ct, e->ev.cookie);
		if (!c)
			return NULL;
		c->midlife = !birth(&e->ev);
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct tl_event *ev = realloc(c->ev, cap * sizeof(*ev));

		if (!ev)
			return NULL;
		c->ev = ev;
		c->cap = cap;
	}
	c->ev[c->n++] = *e;
	c->owner = e->ev.owner_tgid;
	/* current is the owner only when the event ran in its context. */
	if (e->ev.task_tgid == e->ev.owner_tgid) {
		memcpy(c->comm, e->ev.pcomm[0] ? e->ev.pcomm : e->ev.comm, sizeof(c->comm));
		memcpy(c->thread, e->ev.comm, sizeof(c->thread));
	}
	if (e->ev.flags & TA_F_LOST_BEFORE)
		c->lost = true;
	if (e->ev.flags & TA_F_MIDLIFE)
		c->midlife = true;
	if ((e->ev.kind == TA_EV_STATE && e->ev.b == TA_TCP_LISTEN) ||
	    (e->ev.kind == TA_EV_JOIN && e->ev.state == TA_TCP_LISTEN))
		c->listener = true;
	if (e->ev.kind == TA_EV_DESTROY) {
		c->ended = true;
		c->end_ns = e->ev.ts_ns;
		c->timewait = handed_to_timewait(c);
	}
	return c;
}

void ct_remove(struct conn_table *ct, struct conn *c)
{
	struct conn **pp = &ct->bucket[slot(ct, c->cookie)];

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = c->next;
		ct->count--;
		conn_free(c);
	}
}

void ct_each(struct conn_table *ct, void (*fn)(struct conn *, void *), void *arg)
{
	for (size_t i = 0; i < ct->nbucket; i++)
		for (struct conn *c = ct->bucket[i]; c; c = c->next)
			fn(c, arg);
}
