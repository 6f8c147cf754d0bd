/* SPDX-License-Identifier: GPL-2.0 */
/* A small streaming JSON writer: one object per line (JSON Lines). */
#ifndef TA_JSON_H
#define TA_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 8

struct jw {
	FILE *f;
	int depth;
	bool first[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, FILE *f);
void jw_obj_open(struct jw *w, const char *key); /* key NULL at top level / in arrays */
void jw_obj_close(struct jw *w);		 /* a newline after the top-level object */
void jw_arr_open(struct jw *w, const char *key);
void jw_arr_close(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *s); /* s NULL -> null */
void jw_strn(struct jw *w, const char *key, const char *s, size_t max);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* Write s as a JSON string (quotes included), escaping everything JSON needs. */
void json_quote(FILE *f, const char *s, size_t max);

#endif /* TA_JSON_H */
