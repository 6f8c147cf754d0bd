/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whom to trace: the processes a scope names now (--tree, --comm,
 * --cgroup, --unit), read from /proc and the cgroup v2 tree.  Processes that
 * join later (fork, exec) are the BPF side's business.
 */
#ifndef TA_SCOPE_H
#define TA_SCOPE_H

#include <stddef.h>

#include "util.h"

/* Adds every living descendant of the processes already in s. */
int scope_add_descendants(struct pidset *s);
/* Adds every process whose name (comm) is name, except this one. */
int scope_add_comm(struct pidset *s, const char *name);
/*
 * Resolves a cgroup v2 path (absolute, or relative to the cgroup2 mount)
 * or, with unit set, a systemd unit's cgroup, into dir (a path) and returns
 * an O_RDONLY fd of that directory; -1 with a message printed on failure.
 */
int scope_cgroup_open(const char *name, bool unit, char *dir, size_t len);
/* Adds every process in the cgroup at dir and in its descendants. */
int scope_add_cgroup(struct pidset *s, const char *dir);
/* The process's name from /proc, "?" if it is gone. */
void scope_comm_of(int pid, char *buf, size_t len);
/* Its parent's PID, 0 if it is gone. */
int scope_parent(int pid);
/* Is the process still running (not gone, not a zombie)? */
bool scope_alive(int pid);

#endif /* TA_SCOPE_H */
