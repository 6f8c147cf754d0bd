// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scope.h"

/* "/proc/PID/stat": the state and the parent, after the parenthesised comm. */
static bool proc_stat(int pid, char *state, int *ppid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* comm may hold spaces and parentheses: the last ')' ends it. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		ok = sscanf(p + 1, " %c %d", state, ppid) == 2;
	fclose(f);
	return ok;
}

bool scope_alive(int pid)
{
	char state;
	int ppid;

	return proc_stat(pid, &state, &ppid) && state != 'Z' && state != 'X';
}

int scope_parent(int pid)
{
	char state;
	int ppid;

	return proc_stat(pid, &state, &ppid) ? ppid : 0;
}

void scope_comm_of(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, len, f))
		snprintf(buf, len, "?");
	else
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* Calls fn for every process in /proc. */
static int each_process(int (*fn)(int pid, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int ret = 0;

	if (!d)
		return error("cannot list /proc: %s", strerror(errno));
	while (!ret && (de = readdir(d))) {
		int pid;

		if (parse_pid(de->d_name, &pid))
			ret = fn(pid, arg);
	}
	closedir(d);
	return ret;
}

struct family {
	struct pidset *s;
	int *pid, *ppid;
	size_t n, cap;
};

static int note_parent(int pid, void *arg)
{
	struct family *f = arg;
	char state;
	int ppid;

	if (!proc_stat(pid, &state, &ppid) || state == 'Z' || state == 'X')
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		int *a = realloc(f->pid, cap * sizeof(int)), *b;

		if (!a)
			return -1;
		f->pid = a;
		b = realloc(f->ppid, cap * sizeof(int));
		if (!b)
			return -1;
		f->ppid = b;
		f->cap = cap;
	}
	f->pid[f->n] = pid;
	f->ppid[f->n++] = ppid;
	return 0;
}

int scope_add_descendants(struct pidset *s)
{
	struct family f = { .s = s };
	bool grew = true;
	int ret;

	ret = each_process(note_parent, &f);
	/* A process's children can be listed before it: repeat until nothing joins. */
	while (!ret && grew) {
		grew = false;
		for (size_t i = 0; i < f.n; i++)
			/* Never ourselves: `--tree -p $$` from a shell is our parent's tree. */
			if (pidset_has(s, f.ppid[i]) && !pidset_has(s, f.pid[i]) &&
			    f.pid[i] != getpid()) {
				if (pidset_add(s, f.pid[i])) {
					ret = error("out of memory");
					break;
				}
				grew = true;
			}
	}
	free(f.pid);
	free(f.ppid);
	return ret;
}

struct by_name {
	struct pidset *s;
	const char *name;
};

static int match_comm(int pid, void *arg)
{
	struct by_name *b = arg;
	char comm[64];

	if (pid == getpid() || !scope_alive(pid))
		return 0;
	scope_comm_of(pid, comm, sizeof(comm));
	if (strcmp(comm, b->name))
		return 0;
	return pidset_add(b->s, pid) ? error("out of memory") : 0;
}

int scope_add_comm(struct pidset *s, const char *name)
{
	struct by_name b = { s, name };

	return each_process(match_comm, &b);
}

/* Where cgroup v2 is mounted: /sys/fs/cgroup, or .../unified on hybrid hosts. */
static int cgroup2_root(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[PATH_MAX], type[64];
	int found = -1;

	if (!f)
		return error("cannot read /proc/self/mounts: %s", strerror(errno));
	while (found && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			found = 0;
		}
	fclose(f);
	if (found)
		return error("no cgroup v2 hierarchy is mounted: --cgroup and --unit need one");
	return 0;
}

/* Depth-first search below dir for a directory named name; 1 when found. */
static int find_dir(const char *dir, const char *name, char *out, size_t len, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d || depth > 16) {
		if (d)
			closedir(d);
		return 0;
	}
	while (!found && (de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		if (!strcmp(de->d_name, name)) {
			snprintf(out, len, "%s", sub);
			found = 1;
		} else {
			found = find_dir(sub, name, out, len, depth + 1);
		}
	}
	closedir(d);
	return found;
}

/* systemd's own answer, when systemd runs this host. */
static bool systemd_cgroup(const char *unit, char *buf, size_t len)
{
	char cmd[512];
	FILE *p;
	bool ok;

	if (access("/run/systemd/system", F_OK) || strpbrk(unit, "'\\"))
		return false;
	snprintf(cmd, sizeof(cmd), "systemctl show -p ControlGroup --value -- '%s' 2>/dev/null",
		 unit);
	p = popen(cmd, "r");
	if (!p)
		return false;
	ok = fgets(buf, len, p) && buf[0] == '/';
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

int scope_cgroup_open(const char *name, bool unit, char *dir, size_t len)
{
	char root[PATH_MAX], rel[PATH_MAX], unitname[256];
	struct stat st;
	int fd;

	if (cgroup2_root(root, sizeof(root)))
		return -1;
	if (unit) {
		/* "nginx" means nginx.service, as systemctl reads it. */
		snprintf(unitname, sizeof(unitname), "%s%s", name,
			 strchr(name, '.') ? "" : ".service");
		if (systemd_cgroup(unitname, rel, sizeof(rel)))
			snprintf(dir, len, "%s%s", root, rel);
		else if (!find_dir(root, unitname, dir, len, 0))
			return error("no cgroup for unit %s under %s (is it running?)", unitname,
				     root);
	} else if (!strncmp(name, root, strlen(root))) {
		snprintf(dir, len, "%s", name);
	} else {
		snprintf(dir, len, "%s/%s", root, name[0] == '/' ? name + 1 : name);
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return error("no such cgroup: %s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error("cannot open cgroup %s: %s", dir, strerror(errno));
	return fd;
}

int scope_add_cgroup(struct pidset *s, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int pid, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "r");
	if (!f)
		return error("cannot read %s: %s", path, strerror(errno));
	while (fscanf(f, "%d", &pid) == 1)
		if (pid != getpid() && pidset_add(s, pid))
			ret = error("out of memory");
	fclose(f);
	d = opendir(dir);
	while (!ret && d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			ret = scope_add_cgroup(s, path);
	}
	if (d)
		closedir(d);
	return ret;
}
