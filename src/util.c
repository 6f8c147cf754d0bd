// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *progname = "tcpabort-trace";

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", progname, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	return -1;
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	exit(code);
}

bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts leading space and a sign: we do not. */
	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_pid(const char *s, int *pid)
{
	uint64_t v;

	if (!parse_uint(s, 1, 4194304, &v))
		return false;
	*pid = (int)v;
	return true;
}

bool pidset_has(const struct pidset *s, int pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == pid)
			return true;
	return false;
}

int pidset_add(struct pidset *s, int pid)
{
	if (pidset_has(s, pid))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		int *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = pid;
	return 0;
}

void pidset_del(struct pidset *s, int pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == pid) {
			memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
			s->n--;
			return;
		}
}

void pidset_free(struct pidset *s)
{
	free(s->v);
	*s = (struct pidset){ 0 };
}

const char *parse_pid_list(const char *list, struct pidset *s)
{
	static char bad[32];
	const char *sep = ", \t\n";
	bool any = false;

	while (*list) {
		size_t len = strcspn(list, sep);
		char tok[32];
		int pid;

		if (!len) {
			list++;
			continue;
		}
		snprintf(tok, sizeof(tok), "%.*s", (int)len, list);
		if (len >= sizeof(tok) || !parse_pid(tok, &pid)) {
			snprintf(bad, sizeof(bad), "%s", tok);
			return bad;
		}
		if (pidset_add(s, pid))
			die(EXIT_FAILURE_RUNTIME, "out of memory");
		any = true;
		list += len;
	}
	return any ? NULL : "";
}
