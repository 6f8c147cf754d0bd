// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "json.h"

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

void json_quote(FILE *f, const char *s, size_t max)
{
	size_t run = 0, i;

	/*
	 * The tracer is single-threaded and writes a record per connection at
	 * churn rates: stdio without its lock, and plain bytes in runs.
	 */
	fputc_unlocked('"', f);
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];

		if (c != '"' && c != '\\' && c >= 0x20 && c < 0x7f) {
			run++;
			continue;
		}
		if (run)
			fwrite_unlocked(s + i - run, 1, run, f);
		run = 0;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs_unlocked("\\n", f);
		else if (c == '\t')
			fputs_unlocked("\\t", f);
		else
			/* Bytes from the kernel (comm) need not be UTF-8: keep them readable as
			 * Latin-1. */
			fprintf(f, "\\u%04x", c);
	}
	if (run)
		fwrite_unlocked(s + i - run, 1, run, f);
	fputc_unlocked('"', f);
}

/* Separator and key before a value. */
static void prefix(struct jw *w, const char *key)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			fputc_unlocked(',', w->f);
		w->first[w->depth] = false;
	}
	if (key) {
		json_quote(w->f, key, strlen(key));
		fputc_unlocked(':', w->f);
	}
}

static void open(struct jw *w, const char *key, char c)
{
	prefix(w, key);
	fputc_unlocked(c, w->f);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

void jw_obj_open(struct jw *w, const char *key)
{
	open(w, key, '{');
}

void jw_arr_open(struct jw *w, const char *key)
{
	open(w, key, '[');
}

static void close_(struct jw *w, char c)
{
	fputc_unlocked(c, w->f);
	if (w->depth > 0)
		w->depth--;
	if (w->depth == 0)
		fputc_unlocked('\n', w->f);
}

void jw_obj_close(struct jw *w)
{
	close_(w, '}');
}

void jw_arr_close(struct jw *w)
{
	close_(w, ']');
}

void jw_strn(struct jw *w, const char *key, const char *s, size_t max)
{
	prefix(w, key);
	if (s)
		json_quote(w->f, s, max);
	else
		fputs_unlocked("null", w->f);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_strn(w, key, s, s ? strlen(s) : 0);
}

/* Decimal digits of v, written without printf (a record has a dozen numbers). */
static void put_u64(FILE *f, uint64_t v)
{
	char buf[24];
	char *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, f);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	prefix(w, key);
	put_u64(w->f, v);
}

void jw_i64(struct jw *w, const char *key, int64_t v)
{
	prefix(w, key);
	if (v < 0) {
		fputc_unlocked('-', w->f);
		/* -(v + 1) + 1: no overflow at INT64_MIN. */
		put_u64(w->f, (uint64_t)(-(v + 1)) + 1);
	} else {
		put_u64(w->f, (uint64_t)v);
	}
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	prefix(w, key);
	fputs_unlocked(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	prefix(w, key);
	fputs_unlocked("null", w->f);
}
