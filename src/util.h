/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TA_UTIL_H
#define TA_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes: documented in docs/tcpabort-trace.8 and --help. */
enum ta_exit {
	EXIT_OK = 0,
	EXIT_FAILURE_RUNTIME = 1, /* load, attach or I/O failure */
	EXIT_USAGE = 2,		  /* bad command line */
	EXIT_NO_PROCESS = 3,	  /* a PID does not exist */
	EXIT_PRIVILEGE = 4,	  /* not root / missing capabilities */
	EXIT_KERNEL = 5,	  /* kernel lacks BTF or a required hook */
	EXIT_NO_INPUT = 6,	  /* report: a file cannot be read */
	EXIT_BAD_INPUT = 7,	  /* report: a file is not tcpabort-trace JSON */
	EXIT_SELFTEST_FAILED = 8, /* --selftest: a scenario got the wrong verdict */
};

extern const char *progname;

/* "tcpabort-trace: msg" on stderr; returns -1 (git's idiom). */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict decimal parse of [min, max]; false on junk, sign or overflow. */
bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A PID: 1 ..  4194304 (PID_MAX_LIMIT). */
bool parse_pid(const char *s, int *pid);

/* A set of process IDs, in the order they were added. */
struct pidset {
	int *v;
	size_t n, cap;
};

bool pidset_has(const struct pidset *s, int pid);
/* Adds pid unless present; -1 on ENOMEM. */
int pidset_add(struct pidset *s, int pid);
void pidset_del(struct pidset *s, int pid);
void pidset_free(struct pidset *s);

/*
 * PIDs separated by commas and/or white space ("12,13 14": what `pidof`
 * prints, or a list) into s.  Returns NULL, or on a bad element a copy of
 * it (static storage) for the error message; "" for an empty list.
 */
const char *parse_pid_list(const char *list, struct pidset *s);

#endif /* TA_UTIL_H */
