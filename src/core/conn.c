// SPDX-License-Identifier: GPL-2.0
/* Connection table: events grouped by socket cookie, in timestamp order, bounded. */
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
 * a timewait sock (same cookie), which answers late data with an RST.  Read
 * back from the destroy at `at`: what that sock sends afterwards does not
 * change what the socket did.
 */
static bool handed_to_timewait(const struct conn *c, size_t at)
{
	for (size_t i = at; i-- > 0;) {
		const struct ta_event *e = &c->ev[i].ev;

		if (e->kind == TA_EV_RST_SENT || e->kind == TA_EV_RST_RECV)
			return false;
		if (e->kind == TA_EV_STATE && e->b == TA_TCP_CLOSE)
			return ta_has_timewait_successor(e->a);
	}
	return false;
}

/*
 * The same, from the last destroy held; unchanged when none is (trimmed).
 * A flight recorder's summary is the end of a healthy connection: it says
 * which state the socket left for CLOSE.
 */
static void settle_timewait(struct conn *c)
{
	for (size_t i = c->n; i-- > 0;) {
		if (c->ev[i].ev.kind == TA_EV_DESTROY) {
			c->timewait = handed_to_timewait(c, i);
			return;
		}
		if (c->ev[i].ev.kind == TA_EV_SUMMARY) {
			c->timewait = ta_has_timewait_successor(c->ev[i].ev.aux);
			return;
		}
	}
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
	/* The kernel summarizes only connections whose birth it saw. */
	return e->kind == TA_EV_SUMMARY;
}

/* --- bounded history ------------------------------------------------------------------- */

/*
 * A long-lived connection makes I/O records without end (400,000 sends
 * made 788,096 events, 162 MB), so its timeline is trimmed: whenever n
 * reaches trim_at, the middle is dropped in one pass, and the next pass
 * comes TA_HIST_LAST events later (amortized O(1) an event; never more than
 * TA_HIST_MAX held).
 *
 * What stays, and why the rules (facts.c) decide alike:
 *
 * - Events that are not I/O records: state changes, RSTs sent, received
 *   and sent to us, error reports, destroy, join.  TCP bounds them; past
 *   TA_HIST_TCP (a timewait sock answering a flood with RSTs, ICMP soft
 *   errors), the first and the last TA_HIST_TCP / 4 stay, and in between
 *   the first of each (kind, a, b, c, state): the rules take the first
 *   event of each kind, destroy and the last state from the end.
 *
 * - Of the I/O records (send, recv, retransmit, syscall), the first
 *   TA_HIST_FIRST and the last TA_HIST_LAST, and in between every record
 *   that is the first of its signature since the last other event (the
 *   "epoch"): kind, state, outcome (recv/send: data, 0 or the errno;
 *   retransmit: its error; syscall: exactly which call, result, argument
 *   and remaining references), whether tx_bytes and rx_bytes are still 0.
 *   Every fact the rules draw from an I/O record is "the first record of
 *   such an outcome" (recv EOF, the first failed recv or send, the first
 *   retransmission, close(), exit, connect, shutdown, SO_ERROR, the first
 *   data sent), possibly "after" an event that is not an I/O record (a
 *   successful send after the peer's FIN, a call that returned the error
 *   the kernel stored, any call after FIN_WAIT2 -> CLOSE showing the owner
 *   still held the socket): that first record is kept.  What goes are the
 *   repeats: more data sent or read, more EAGAIN, the same syscall again.
 *   Up to TA_HIST_PINNED such records are kept in the middle; past that
 *   (a pathological mix of outcomes) the later ones go too.
 *
 * - The counters (tx_bytes, rx_bytes, retrans, calls) ride on every event
 *   and only grow: the last event held still carries every byte sent and
 *   read, so no count is lost with the records dropped.
 *
 * The first event is always held (ev[0], for the order of connections),
 * and so is the last (for seen_at and the counters).
 *
 * Events older than some already held (a flight recorder's batch) are
 * merged in time order and trimmed alike.  One limit: an I/O record dropped
 * as a repeat before an older event arrived that would have made it the
 * first of its epoch stays dropped.  Batches are small and the trim keeps
 * the last TA_HIST_LAST records, so that takes more than TA_HIST_LAST
 * identical records newer than a batch still to come.
 */
struct sig {
	int32_t a, b, c;
	uint32_t aux;
	uint16_t kind;
	uint8_t state, zero; /* zero: bit 0 tx_bytes == 0, bit 1 rx_bytes == 0 */
};

/* Compared with memcmp: no padding. */
_Static_assert(sizeof(struct sig) == 20, "struct sig has padding");

#define SIG_MAX 64 /* signatures remembered per set; past that, nothing more is "first" */

static bool is_io(unsigned int kind)
{
	return kind == TA_EV_SEND || kind == TA_EV_RECV || kind == TA_EV_RETRANS ||
	       kind == TA_EV_SYSCALL;
}

static struct sig sig_of(const struct ta_event *e)
{
	struct sig s = { .kind = e->kind,
			 .state = e->state,
			 .zero = (e->tx_bytes == 0) | (e->rx_bytes == 0) << 1 };

	switch (e->kind) {
	case TA_EV_SEND:
		/* c: what a SIGPIPE does */
		s.c = e->c;
		/* fallthrough */
	case TA_EV_RECV:
		s.a = e->a > 0 ? 1 : e->a; /* data, EOF, or the errno */
		break;
	case TA_EV_RETRANS:
		s.a = e->a;
		break;
	case TA_EV_SYSCALL:
		s.a = e->a, s.b = e->b, s.c = e->c, s.aux = e->aux;
		break;
	default:
		s.a = e->a, s.b = e->b, s.c = e->c;
		break;
	}
	return s;
}

/* Is e the first of its signature in set?  Remembers it. */
static bool first_of(struct sig *set, size_t *n, const struct ta_event *e)
{
	struct sig s = sig_of(e);

	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&set[i], &s, sizeof(s)))
			return false;
	if (*n == SIG_MAX)
		return false;
	set[(*n)++] = s;
	return true;
}

static void count_dropped(struct conn *c, const struct ta_event *e)
{
	if (!c->trimmed++ || e->ts_ns < c->trimmed_first_ns)
		c->trimmed_first_ns = e->ts_ns;
	if (e->ts_ns > c->trimmed_last_ns)
		c->trimmed_last_ns = e->ts_ns;
	c->trimmed_tcp += !is_io(e->kind);
}

/*
 * Drops the middle of the history (see above), in place and in order.
 * c->written and c->fed_at follow the events they point at.  In deferred
 * output (src/session.c) events not yet written when they are dropped are
 * lost from the log too: conn.trimmed says how many.
 */
static void trim(struct conn *c)
{
	struct sig io_seen[SIG_MAX], tcp_seen[SIG_MAX];
	size_t nio_seen = 0, ntcp_seen = 0, nio = 0, ntcp = 0, io = 0, tcp = 0;
	size_t io_pinned = 0, tcp_pinned = 0, w = 0, written = 0, fed_at = SIZE_MAX;

	for (size_t i = 0; i < c->n; i++)
		if (is_io(c->ev[i].ev.kind))
			nio++;
	ntcp = c->n - nio;
	for (size_t i = 0; i < c->n; i++) {
		const struct ta_event *e = &c->ev[i].ev;
		bool keep, first;

		if (is_io(e->kind)) {
			first = first_of(io_seen, &nio_seen, e);
			keep = io < TA_HIST_FIRST || io + TA_HIST_LAST >= nio;
			if (!keep && first && io_pinned < TA_HIST_PINNED) {
				keep = true;
				io_pinned++;
			}
			io++;
		} else {
			first = first_of(tcp_seen, &ntcp_seen, e);
			nio_seen = 0; /* a new epoch: what comes next is "after" this */
			keep = ntcp <= TA_HIST_TCP || tcp < TA_HIST_TCP / 4 ||
			       tcp + TA_HIST_TCP / 4 >= ntcp;
			if (!keep && first && tcp_pinned < TA_HIST_TCP / 2) {
				keep = true;
				tcp_pinned++;
			}
			tcp++;
		}
		if (!keep) {
			count_dropped(c, e);
			continue;
		}
		if (i == c->fed_at)
			fed_at = w;
		if (i < c->written)
			written++;
		if (w != i)
			c->ev[w] = c->ev[i];
		w++;
	}
	c->n = w;
	c->written = written;
	c->fed_at = fed_at;
	c->trim_at = w + TA_HIST_LAST;
}

void ct_trim(struct conn *c)
{
	if (c->n > TA_HIST_FIRST + TA_HIST_LAST)
		trim(c);
}

/* --- feeding --------------------------------------------------------------------------- */

/* Where an event stamped ts goes: after the last one no newer (stable for equal stamps). */
static size_t place(const struct conn *c, uint64_t ts)
{
	size_t lo = 0, hi = c->n;

	if (!c->n || c->ev[c->n - 1].ev.ts_ns <= ts)
		return c->n; /* in order: append, no search */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->ev[mid].ev.ts_ns <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int reserve(struct conn *c)
{
	/*
	 * Start small: a healthy connection is one summary event, and thousands
	 * linger at once waiting for their timewait sock's RST (churn: 11,000 a
	 * second), so 16 slots each made the tracer's RSS 67 MB where 1 makes 16.
	 */
	size_t cap = c->cap ? c->cap * 2 : 1;
	struct tl_event *ev;

	if (c->n < c->cap)
		return 0;
	/* trim() keeps n <= TA_HIST_MAX: the array never grows past it. */
	if (cap > TA_HIST_MAX && c->n < TA_HIST_MAX)
		cap = TA_HIST_MAX;
	ev = realloc(c->ev, cap * sizeof(*ev));
	if (!ev)
		return -1;
	c->ev = ev;
	c->cap = cap;
	return 0;
}

struct conn *ct_feed(struct conn_table *ct, const struct tl_event *e)
{
	struct conn *c = ct_find(ct, e->ev.cookie);
	size_t at;

	if (!c) {
		c = conn_new(ct, e->ev.cookie);
		if (!c)
			return NULL;
		c->trim_at = TA_HIST_FIRST + 2 * TA_HIST_LAST;
	}
	if (reserve(c))
		return NULL;
	at = place(c, e->ev.ts_ns);
	memmove(&c->ev[at + 1], &c->ev[at], (c->n - at) * sizeof(*c->ev));
	c->ev[at] = *e;
	c->n++;
	/* Inserted among events already written: the session writes it now. */
	if (at < c->written)
		c->written++;
	c->fed_at = at;
	/* The newest event says who owns the socket now; an older one only fills a gap. */
	if (at == c->n - 1 || !c->owner)
		c->owner = e->ev.owner_tgid;
	/* current is the owner only when the event ran in its context: the newest such names it. */
	if (e->ev.task_tgid == e->ev.owner_tgid && (e->ev.ts_ns >= c->comm_ns || !c->comm[0])) {
		memcpy(c->comm, e->ev.pcomm[0] ? e->ev.pcomm : e->ev.comm, sizeof(c->comm));
		memcpy(c->thread, e->ev.comm, sizeof(c->thread));
		c->comm_ns = e->ev.ts_ns;
	}
	if (e->ev.flags & TA_F_LOST_BEFORE)
		c->lost = true;
	if (e->ev.flags & TA_F_MIDLIFE)
		c->midlife_flag = true;
	/* Born before tracing: flagged so, or its first event is no birth. */
	if (at == 0 || e->ev.flags & TA_F_MIDLIFE)
		c->midlife = c->midlife_flag || !birth(&c->ev[0].ev);
	if ((e->ev.kind == TA_EV_STATE && e->ev.b == TA_TCP_LISTEN) ||
	    (e->ev.kind == TA_EV_JOIN && e->ev.state == TA_TCP_LISTEN))
		c->listener = true;
	if (e->ev.kind == TA_EV_DESTROY || e->ev.kind == TA_EV_SUMMARY) {
		c->ended = true;
		c->end_ns = e->ev.ts_ns;
	}
	/* The destroy came first and older events follow (a batch): read again. */
	if (c->ended &&
	    (e->ev.kind == TA_EV_DESTROY || e->ev.kind == TA_EV_SUMMARY || at < c->n - 1))
		settle_timewait(c);
	if (c->n >= c->trim_at)
		trim(c);
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
