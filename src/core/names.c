// SPDX-License-Identifier: GPL-2.0
/* Names of the things events carry. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const states[] = {
	[TA_TCP_ESTABLISHED] = "ESTABLISHED",
	[TA_TCP_SYN_SENT] = "SYN_SENT",
	[TA_TCP_SYN_RECV] = "SYN_RECV",
	[TA_TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TA_TCP_FIN_WAIT2] = "FIN_WAIT2",
	[TA_TCP_TIME_WAIT] = "TIME_WAIT",
	[TA_TCP_CLOSE] = "CLOSE",
	[TA_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TA_TCP_LAST_ACK] = "LAST_ACK",
	[TA_TCP_LISTEN] = "LISTEN",
	[TA_TCP_CLOSING] = "CLOSING",
	[TA_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
	[TA_TCP_BOUND_INACTIVE] = "BOUND_INACTIVE",
};

unsigned int ta_state_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (states[i] && !strcmp(states[i], name))
			return i;
	return 0;
}

const char *ta_state_name(unsigned int state)
{
	if (state < ARRAY_SIZE(states) && states[state])
		return states[state];
	return "UNKNOWN";
}

static const struct {
	int err;
	const char *name;
	const char *text;
} errnos[] = {
	{ ECONNRESET, "ECONNRESET", "Connection reset by peer" },
	{ EPIPE, "EPIPE", "Broken pipe" },
	{ ECONNABORTED, "ECONNABORTED", "Software caused connection abort" },
	{ ETIMEDOUT, "ETIMEDOUT", "Connection timed out" },
	{ ECONNREFUSED, "ECONNREFUSED", "Connection refused" },
	{ EHOSTUNREACH, "EHOSTUNREACH", "No route to host" },
	{ ENETUNREACH, "ENETUNREACH", "Network is unreachable" },
	{ EHOSTDOWN, "EHOSTDOWN", "Host is down" },
	{ ENETDOWN, "ENETDOWN", "Network is down" },
	{ ENOTCONN, "ENOTCONN", "Transport endpoint is not connected" },
	{ EAGAIN, "EAGAIN", "Resource temporarily unavailable" },
	{ EINPROGRESS, "EINPROGRESS", "Operation now in progress" },
	{ EALREADY, "EALREADY", "Operation already in progress" },
	{ EISCONN, "EISCONN", "Transport endpoint is already connected" },
	{ EINTR, "EINTR", "Interrupted system call" },
	{ EINVAL, "EINVAL", "Invalid argument" },
	{ EBADF, "EBADF", "Bad file descriptor" },
	{ EFAULT, "EFAULT", "Bad address" },
	{ ENOMEM, "ENOMEM", "Cannot allocate memory" },
	{ ENOBUFS, "ENOBUFS", "No buffer space available" },
	{ EADDRINUSE, "EADDRINUSE", "Address already in use" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address" },
	{ EPROTO, "EPROTO", "Protocol error" },
	{ EMSGSIZE, "EMSGSIZE", "Message too long" },
	{ EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported" },
	{ EACCES, "EACCES", "Permission denied" },
	{ EPERM, "EPERM", "Operation not permitted" },
};

const char *ta_errno_name(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return NULL;
}

int ta_errno_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (!strcmp(errnos[i].name, name))
			return errnos[i].err;
	return 0;
}

const char *ta_errno_text(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i].err == err)
			return errnos[i].text;
	return "unknown error";
}

void ta_states_list(uint32_t mask, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int st = 1; st < TA_TCP_MAX_STATES && n < len; st++)
		if (mask & (1U << st))
			n += snprintf(buf + n, len - n, "%s%s", n ? " " : "", ta_state_name(st));
}

uint32_t ta_states_parse(const char *list, bool *ok)
{
	uint32_t mask = 0;
	char name[32];

	while (*list) {
		size_t k = strcspn(list, " ");
		unsigned int st;

		if (k && k < sizeof(name)) {
			memcpy(name, list, k);
			name[k] = '\0';
			st = ta_state_from_name(name);
			if (st)
				mask |= 1U << st;
			else
				*ok = false;
		} else if (k) {
			*ok = false;
		}
		list += k;
		list += strspn(list, " ");
	}
	return mask;
}

static const char *const kinds[] = {
	[TA_EV_STATE] = "state",       [TA_EV_RST_SENT] = "rst_sent",
	[TA_EV_RST_RECV] = "rst_recv", [TA_EV_SK_ERROR] = "sk_error",
	[TA_EV_DESTROY] = "destroy",   [TA_EV_SEND] = "send",
	[TA_EV_RECV] = "recv",	       [TA_EV_SYSCALL] = "syscall",
	[TA_EV_PEER_RST] = "peer_rst", [TA_EV_RETRANS] = "retransmit",
	[TA_EV_JOIN] = "join",	       [TA_EV_PROC] = "process",
	[TA_EV_SUMMARY] = "summary",
};

const char *ta_kind_name(unsigned int kind)
{
	if (kind < ARRAY_SIZE(kinds) && kinds[kind])
		return kinds[kind];
	return "unknown";
}

unsigned int ta_kind_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i] && !strcmp(kinds[i], name))
			return i;
	return TA_EV_NONE;
}

static const char *const syscalls[] = {
	[TA_SYS_CONNECT] = "connect",	[TA_SYS_ACCEPT] = "accept",
	[TA_SYS_SHUTDOWN] = "shutdown", [TA_SYS_CLOSE] = "close",
	[TA_SYS_SO_ERROR] = "so_error", [TA_SYS_EXIT] = "exit",
};

const char *ta_sys_name(unsigned int sys)
{
	if (sys < ARRAY_SIZE(syscalls) && syscalls[sys])
		return syscalls[sys];
	return "unknown";
}

static const char *const procs[] = {
	[TA_PROC_START] = "start",
	[TA_PROC_FORK] = "fork",
	[TA_PROC_EXEC] = "exec",
	[TA_PROC_EXIT] = "exit",
};

const char *ta_proc_name(unsigned int what)
{
	if (what < ARRAY_SIZE(procs) && procs[what])
		return procs[what];
	return "unknown";
}

unsigned int ta_proc_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(procs); i++)
		if (procs[i] && !strcmp(procs[i], name))
			return i;
	return TA_PROC_NONE;
}

unsigned int ta_sys_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscalls); i++)
		if (syscalls[i] && !strcmp(syscalls[i], name))
			return i;
	return TA_SYS_NONE;
}

static const struct {
	enum ta_rst id;
	const char *name;
} rsts[] = {
	{ TA_RST_NOT_SPECIFIED, "NOT_SPECIFIED" },
	{ TA_RST_NO_SOCKET, "NO_SOCKET" },
	{ TA_RST_TCP_FLAGS, "TCP_FLAGS" },
	{ TA_RST_TCP_ABORT_ON_DATA, "TCP_ABORT_ON_DATA" },
	{ TA_RST_TCP_TIMEWAIT_SOCKET, "TCP_TIMEWAIT_SOCKET" },
	{ TA_RST_TCP_ABORT_ON_CLOSE, "TCP_ABORT_ON_CLOSE" },
	{ TA_RST_TCP_ABORT_ON_LINGER, "TCP_ABORT_ON_LINGER" },
	{ TA_RST_TCP_ABORT_ON_MEMORY, "TCP_ABORT_ON_MEMORY" },
	{ TA_RST_TCP_STATE, "TCP_STATE" },
	{ TA_RST_TCP_KEEPALIVE_TIMEOUT, "TCP_KEEPALIVE_TIMEOUT" },
	{ TA_RST_TCP_DISCONNECT_WITH_DATA, "TCP_DISCONNECT_WITH_DATA" },
};

enum ta_rst ta_rst_from_name(const char *name)
{
	if (!name || !*name)
		return TA_RST_NONE;
	for (size_t i = 0; i < ARRAY_SIZE(rsts); i++)
		if (!strcmp(rsts[i].name, name))
			return rsts[i].id;
	return TA_RST_OTHER;
}

const char *ta_winsock(int err)
{
	switch (err) {
	case ECONNRESET:
		return "WSAECONNRESET (10054)";
	case ECONNABORTED:
		return "WSAECONNABORTED (10053)";
	case ETIMEDOUT:
		return "WSAETIMEDOUT (10060)";
	case ECONNREFUSED:
		return "WSAECONNREFUSED (10061)";
	case EHOSTUNREACH:
		return "WSAEHOSTUNREACH (10065)";
	case ENETUNREACH:
		return "WSAENETUNREACH (10051)";
	case EHOSTDOWN:
		return "WSAEHOSTDOWN (10064)";
	case ENETDOWN:
		return "WSAENETDOWN (10050)";
	}
	return NULL;
}

const char *ta_rst_name(enum ta_rst r)
{
	for (size_t i = 0; i < ARRAY_SIZE(rsts); i++)
		if (rsts[i].id == r)
			return rsts[i].name;
	return r == TA_RST_OTHER ? "OTHER" : "";
}

const char *ta_rst_meaning(enum ta_rst r)
{
	switch (r) {
	case TA_RST_NO_SOCKET:
		return "no socket owned that address and port any more: the process had exited or "
		       "closed it";
	case TA_RST_TCP_FLAGS:
		return "a listening socket got a segment for a connection it does not know, "
		       "so that connection's own socket was gone";
	case TA_RST_TCP_ABORT_ON_DATA:
		return "that socket had been closed, and our data reached it while it was still "
		       "finishing its close in FIN_WAIT";
	case TA_RST_TCP_TIMEWAIT_SOCKET:
		return "that socket had been closed and was in TIME_WAIT when our data reached it";
	case TA_RST_TCP_ABORT_ON_CLOSE:
		return "its owner closed it with received data still unread";
	case TA_RST_TCP_ABORT_ON_LINGER:
		return "its owner closed it in FIN_WAIT2 with TCP_LINGER2 < 0";
	case TA_RST_TCP_ABORT_ON_MEMORY:
		return "its kernel dropped it under memory pressure (too many orphans)";
	case TA_RST_TCP_STATE:
		return "an abort: close() with SO_LINGER {1,0}, or ss -K / bpf_sock_destroy";
	case TA_RST_TCP_KEEPALIVE_TIMEOUT:
		return "its keepalive probes went unanswered";
	case TA_RST_TCP_DISCONNECT_WITH_DATA:
		return "it was disconnected with data still unsent";
	case TA_RST_NOT_SPECIFIED:
		return "the kernel gave no reason";
	case TA_RST_NONE:
		return "no reason is known (the kernel reports RST reasons from 6.10)";
	case TA_RST_OTHER:
		break;
	}
	return "a reason this version of tcpabort-trace does not interpret";
}
