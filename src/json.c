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

	fputc('"', f);
	/* Plain bytes go out in runs: one fwrite per run, not one call per byte. */
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];

		if (c != '"' && c != '\\' && c >= 0x20 && c < 0x7f) {
			run++;
			continue;
		}
		if (run)
			fwrite(s + i - run, 1, run, f);
		run = 0;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else
			/* Bytes from the kernel (comm) need not be UTF-8: keep them readable as
			 * Latin-1. */
			fprintf(f, "\\u%04x", c);
	}
	if (run)
		fwrite(s + i - run, 1, run, f);
	fputc('"', f);
}

/* Separator and key before a value. */
static void prefix(struct jw *w, const char *key)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			fputc(',', w->f);
		w->first[w->depth] = false;
	}
	if (key) {
		json_quote(w->f, key, strlen(key));
		fputc(':', w->f);
	}
}

static void open(struct jw *w, const char *key, char c)
{
	prefix(w, key);
	fputc(c, w->f);
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
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
	if (w->depth == 0)
		fputc('\n', w->f);
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
		fputs("null", w->f);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_strn(w, key, s, s ? strlen(s) : 0);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	prefix(w, key);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_i64(struct jw *w, const char *key, int64_t v)
{
	prefix(w, key);
	fprintf(w->f, "%lld", (long long)v);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	prefix(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	prefix(w, key);
	fputs("null", w->f);
}
