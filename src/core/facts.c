// SPDX-License-Identifier: GPL-2.0
/*
 * Reducing a timeline to facts.  Every fact names the event that proves it,
 * so a rule can cite it.
 */
#include <errno.h>
#include <string.h>

#include "facts.h"

#define AF_UNSPEC_ 0 /* connect() with it disconnects */

bool transient_errno(int err)
{
	return err == EAGAIN || err == EINTR || err == EINPROGRESS || err == EALREADY;
}

/*
 * Did the owner still hold the socket after event idx?  Only a process that
 * holds it can call into it (or exit with it open): then the socket was no
 * orphan at idx.
 */
static bool held_after(const struct conn *c, size_t idx)
{
	for (size_t i = idx + 1; i < c->n; i++) {
		unsigned int k = c->ev[i].ev.kind;

		if (k == TA_EV_SEND || k == TA_EV_RECV || k == TA_EV_SYSCALL)
			return true;
	}
	return false;
}

/*
 * We learn of the peer's FIN only from state moves.  A FIN that reaches a
 * socket in FIN_WAIT2 shows as FIN_WAIT2 -> CLOSE (tcp_time_wait hands over
 * to a timewait sock, then tcp_done), which an RST also causes: it is the
 * FIN only when no RST came first.  And only while the owner still holds
 * the socket: an orphan is handed to a timewait sock as soon as it reaches
 * FIN_WAIT2 (tcp_fin_timeout <= 60 s), FIN or not.  An owner that exits
 * without close() orphans the socket as close() does, and its exit may go
 * unseen (an old capture, events lost): without a close or exit before the
 * move, only a later call proves the owner still held it.
 */
static bool peer_fin_move(const struct facts *f, const struct ta_event *e, size_t i)
{
	if (e->a == TA_TCP_ESTABLISHED && e->b == TA_TCP_CLOSE_WAIT)
		return true;
	if (e->a == TA_TCP_FIN_WAIT1 && e->b == TA_TCP_CLOSING)
		return true;
	if (e->a == TA_TCP_FIN_WAIT2 && e->b == TA_TCP_TIME_WAIT)
		return true;
	return e->a == TA_TCP_FIN_WAIT2 && e->b == TA_TCP_CLOSE && f->rst_recv == NONE &&
	       f->rst_sent == NONE && f->close_call == NONE && held_after(f->c, i);
}

/* An orphan leaving FIN_WAIT2 or CLOSING quietly went on as a timewait sock. */
static bool timewait_handoff(const struct facts *f, const struct ta_event *e)
{
	return f->close_call != NONE && e->b == TA_TCP_CLOSE && f->rst_recv == NONE &&
	       f->rst_sent == NONE &&
	       (e->a == TA_TCP_FIN_WAIT2 || e->a == TA_TCP_CLOSING || e->a == TA_TCP_TIME_WAIT);
}

/*
 * The reason for an RST this socket sent, when the kernel gave none (before
 * 6.10 there is no reason; 6.10 and 6.11 say NOT_SPECIFIED for active
 * resets).  Each case mirrors the kernel path that sends such an RST, and
 * is checked against recorded runs with their reasons removed.
 */
static enum ta_rst infer_reason(const struct facts *f, size_t idx)
{
	const struct conn *c = f->c;
	const struct ta_event *e = &c->ev[idx].ev;
	bool after_close = f->close_call != NONE && f->close_call < idx;
	bool in_close = after_close && !(e->flags & TA_F_SOFTIRQ);

	if (e->state == TA_TCP_TIME_WAIT)
		return TA_RST_TCP_TIMEWAIT_SOCKET;
	/*
	 * Sent after the full socket was destroyed, under its cookie: what is
	 * left of a closed socket (its timewait sock) answered data.
	 */
	for (size_t i = 0; i < idx; i++)
		if (c->ev[i].ev.kind == TA_EV_DESTROY)
			return TA_RST_TCP_ABORT_ON_DATA;
	/* An orphan reset itself on data (tcp_reset), then answered it. */
	if (after_close && f->rst_recv != NONE && f->rst_recv < idx)
		return TA_RST_TCP_ABORT_ON_DATA;
	/* The keepalive timer sends its RST just before reporting ETIMEDOUT. */
	for (size_t i = idx + 1; i < c->n; i++)
		if (c->ev[i].ev.kind == TA_EV_SK_ERROR && c->ev[i].ev.a == ETIMEDOUT &&
		    c->ev[i].ev.probes)
			return TA_RST_TCP_KEEPALIVE_TIMEOUT;
	if (after_close && f->closed != NONE && f->closed < idx) {
		switch (f->closed_from) {
		case TA_TCP_FIN_WAIT2:
			/* __tcp_close in FIN_WAIT2 with TCP_LINGER2 < 0 */
			return in_close ? TA_RST_TCP_ABORT_ON_LINGER : TA_RST_NONE;
		case TA_TCP_FIN_WAIT1:
		case TA_TCP_CLOSING:
		case TA_TCP_LAST_ACK:
			/*
			 * Our FIN was out: in close() itself only tcp_check_oom aborts;
			 * later, data that acks the FIN of an orphan does (tcp_done).
			 */
			return in_close ? TA_RST_TCP_ABORT_ON_MEMORY : TA_RST_TCP_ABORT_ON_DATA;
		default:
			/* Aborted in close(): unread data, or SO_LINGER {1,0}. */
			return e->aux ? TA_RST_TCP_ABORT_ON_CLOSE : TA_RST_TCP_STATE;
		}
	}
	if (f->sk_err == ECONNABORTED)
		return TA_RST_TCP_STATE;
	return TA_RST_NONE;
}

static void on_state(struct facts *f, const struct ta_event *e, size_t i)
{
	f->last_state = e->b;
	if (e->a == TA_TCP_CLOSE && e->b == TA_TCP_SYN_SENT && f->syn_sent == NONE)
		f->syn_sent = i;
	if (e->b == TA_TCP_ESTABLISHED && f->established == NONE)
		f->established = i;
	if (e->b == TA_TCP_CLOSE && f->closed == NONE) {
		f->closed = i;
		f->closed_from = e->a;
	}
	if (f->peer_fin == NONE && peer_fin_move(f, e, i))
		f->peer_fin = i;
	if (f->handoff == NONE && timewait_handoff(f, e))
		f->handoff = i;
	if (f->fw2_unclear == NONE && f->peer_fin != i && f->handoff != i &&
	    e->a == TA_TCP_FIN_WAIT2 && e->b == TA_TCP_CLOSE && f->rst_recv == NONE &&
	    f->rst_sent == NONE)
		f->fw2_unclear = i;
	if (f->our_fin == NONE && ((e->a == TA_TCP_ESTABLISHED && e->b == TA_TCP_FIN_WAIT1) ||
				   (e->a == TA_TCP_CLOSE_WAIT && e->b == TA_TCP_LAST_ACK)))
		f->our_fin = i;
}

/*
 * The first state a midlife socket is seen in (its JOIN at attach, or the
 * accept() of a child that waited in the queue of a listener that predates
 * the attach).  A state past CLOSE_WAIT's fork in the diagram means the
 * peer's FIN came before tracing saw the socket: that event is the proof.
 */
static void on_first_known(struct facts *f, const struct ta_event *e, size_t i)
{
	f->first_known = i;
	switch (e->state) {
	case TA_TCP_CLOSE_WAIT:
	case TA_TCP_LAST_ACK:
	case TA_TCP_CLOSING:
	case TA_TCP_TIME_WAIT:
		if (f->peer_fin == NONE) {
			f->peer_fin = i;
			f->peer_fin_unseen = true;
		}
		break;
	}
}

/*
 * A summary stands for a healthy connection's whole life: the kernel sends
 * one only when every record was harmless and both FINs (or ours and the
 * timewait handover after our close()) and the close() were seen (see
 * healthy() in bpf/tcpabort.bpf.c).  Each fact it vouches for points at it.
 */
static void on_summary(struct facts *f, const struct ta_event *e, size_t i)
{
	f->summary = i;
	if (e->a & (1U << TA_TCP_ESTABLISHED) && f->established == NONE)
		f->established = i;
	if (e->b & TA_SUM_CONNECT && f->syn_sent == NONE)
		f->syn_sent = i;
	if (e->b & TA_SUM_OUR_FIN && f->our_fin == NONE)
		f->our_fin = i;
	if (e->b & TA_SUM_PEER_FIN && f->peer_fin == NONE)
		f->peer_fin = i;
	if (e->b & TA_SUM_CLOSED && f->close_call == NONE)
		f->close_call = i;
	if (e->b & TA_SUM_HANDOFF && f->handoff == NONE)
		f->handoff = i;
	if (f->closed == NONE) {
		f->closed = i;
		f->closed_from = e->aux;
	}
	f->last_state = TA_TCP_CLOSE;
	f->destroy = i;
}

/* Does this call hand the stored error to the application (and clear it)? */
static bool consumes(const struct facts *f, const struct ta_event *e)
{
	if (!f->sk_err)
		return false;
	if (e->kind == TA_EV_RECV || e->kind == TA_EV_SEND)
		return e->a < 0 && -e->a == f->sk_err;
	if (e->kind == TA_EV_SYSCALL && e->b == TA_SYS_SO_ERROR)
		return e->a == 0 && e->c == f->sk_err;
	if (e->kind == TA_EV_SYSCALL && e->b == TA_SYS_CONNECT)
		return e->a < 0 && -e->a == f->sk_err;
	return false;
}

static void on_syscall(struct facts *f, const struct ta_event *e, size_t i)
{
	switch (e->b) {
	case TA_SYS_CLOSE:
		/*
		 * Another descriptor still refers to the file (a parent closing its
		 * copy after fork): the socket stays open, nothing was closed.
		 */
		if (e->aux) {
			if (f->close_copy == NONE)
				f->close_copy = i;
		} else if (f->close_call == NONE) {
			f->close_call = i;
		}
		break;
	case TA_SYS_EXIT:
		/* The kernel closes it for the exiting owner, just as close() does. */
		if (f->owner_exit == NONE)
			f->owner_exit = i;
		if (f->close_call == NONE)
			f->close_call = i;
		break;
	case TA_SYS_SO_ERROR:
		if (e->a == 0 && e->c && f->so_error == NONE)
			f->so_error = i;
		break;
	case TA_SYS_CONNECT:
		if (f->connect_call == NONE)
			f->connect_call = i;
		if (e->c == AF_UNSPEC_ && f->connect_unspec == NONE)
			f->connect_unspec = i;
		if (e->a == -ECONNABORTED && f->connect_aborted == NONE)
			f->connect_aborted = i;
		if (e->a < 0 && !transient_errno(-e->a) && f->connect_err == NONE)
			f->connect_err = i;
		break;
	case TA_SYS_SHUTDOWN:
		if (e->a == 0 && f->shutdown_call == NONE) {
			f->shutdown_call = i;
			f->shutdown_how = e->c;
		}
		break;
	}
}

void gather_facts(const struct conn *c, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->established = f->syn_sent = f->peer_fin = f->our_fin = f->handoff = NONE;
	f->closed = f->rst_recv = f->rst_sent = f->peer_rst = f->sk_error = NONE;
	f->first_retrans = f->connect_call = f->connect_unspec = f->connect_aborted = NONE;
	f->shutdown_call = f->close_call = f->destroy = NONE;
	f->recv_eof = f->recv_err = f->send_err = f->send_after_fin = NONE;
	f->so_error = f->consumed = NONE;
	f->owner_exit = f->close_copy = f->fw2_unclear = f->join = f->first_known = NONE;
	f->connect_err = f->summary = NONE;

	for (size_t i = 0; i < c->n; i++) {
		const struct ta_event *e = &c->ev[i].ev;
		int ret = e->a;

		if (e->retrans > f->retrans)
			f->retrans = e->retrans;
		if (c->midlife && f->first_known == NONE && e->state)
			on_first_known(f, e, i);
		if (e->kind == TA_EV_STATE)
			f->cur_state = e->b;
		else if (e->state)
			f->cur_state = e->state;
		switch (e->kind) {
		case TA_EV_STATE:
			on_state(f, e, i);
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
		case TA_EV_RETRANS:
			if (f->first_retrans == NONE)
				f->first_retrans = i;
			break;
		case TA_EV_DESTROY:
			f->destroy = i;
			break;
		case TA_EV_RECV:
			if (ret == 0 && f->recv_eof == NONE)
				f->recv_eof = i;
			if (ret < 0 && !transient_errno(-ret) && f->recv_err == NONE)
				f->recv_err = i;
			break;
		case TA_EV_SEND:
			if (ret < 0 && !transient_errno(-ret) && f->send_err == NONE)
				f->send_err = i;
			if (ret >= 0 && f->peer_fin != NONE && f->send_after_fin == NONE)
				f->send_after_fin = i;
			break;
		case TA_EV_SYSCALL:
			on_syscall(f, e, i);
			break;
		case TA_EV_JOIN:
			if (f->join == NONE)
				f->join = i;
			break;
		case TA_EV_SUMMARY:
			on_summary(f, e, i);
			break;
		}
		if (f->consumed == NONE && consumes(f, e))
			f->consumed = i;
	}
	if (f->rst_sent != NONE) {
		const struct tl_event *t = &c->ev[f->rst_sent];

		f->rst_reason = t->rst;
		if (t->rst == TA_RST_NONE || t->rst == TA_RST_NOT_SPECIFIED) {
			enum ta_rst guess = infer_reason(f, f->rst_sent);

			if (guess != TA_RST_NONE) {
				f->rst_reason = guess;
				f->rst_inferred = true;
			}
		}
	}
}
