// SPDX-License-Identifier: GPL-2.0
/*
 * `tcpabort-trace --selftest`: every tcpabort-repro scenario, run in a
 * private network namespace under this very binary (started as a separate
 * `tcpabort-trace -p PID --json -o FILE` process, exactly as a user would),
 * with the verdict compared to what the scenario is meant to produce.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "selftest.h"
#include "util.h"

#define MAX_SCENARIOS	64
#define STEP_TIMEOUT_MS 20000

struct scenario {
	char name[64];
	char cause[64];
	char err[32]; /* "-" when the cause explains no errno of ours */
};

struct outcome {
	bool pass;
	char seen[256]; /* "cause/ERRNO" of each connection of the traced pid */
	char note[256];
};

/* The repro ships beside the tracer (build/, or $PREFIX/bin); else $PATH. */
static void find_repro(char *path, size_t len)
{
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(path, len, "%s/tcpabort-repro", self);
		if (!access(path, X_OK))
			return;
	}
	snprintf(path, len, "tcpabort-repro");
}

static int list_scenarios(const char *repro, struct scenario *sc, int max)
{
	char cmd[PATH_MAX + 16], line[512];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "'%s' --list", repro);
	p = popen(cmd, "r");
	if (!p)
		return error("cannot run %s: %s", repro, strerror(errno));
	while (n < max && fgets(line, sizeof(line), p)) {
		struct scenario *s = &sc[n];

		if (sscanf(line, "%63s %63s %31s", s->name, s->cause, s->err) == 3)
			n++;
	}
	if (pclose(p) != 0 || n == 0)
		return error("%s --list gave no scenarios (is tcpabort-repro installed beside "
			     "tcpabort-trace?)",
			     repro);
	return n;
}

/* In the child, before exec: a network namespace of its own with lo up. */
static int private_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return 0;
}

/* Start `repro NAME --pause` in its own netns; its output goes to the file at outfd. */
static pid_t start_repro(const char *repro, const char *name, int outfd)
{
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	if (private_netns())
		_exit(125);
	dup2(outfd, STDOUT_FILENO);
	dup2(outfd, STDERR_FILENO);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	execlp(repro, repro, name, "--pause", (char *)NULL);
	_exit(127);
}

static pid_t start_tracer(pid_t target, const char *out)
{
	char pidstr[16], errpath[4096];
	int fd;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)target);
	/*
	 * Its notes (the scenario's untraced server child, by design) go beside
	 * its output, kept with --keep, not between the selftest's lines.
	 */
	if (snprintf(errpath, sizeof(errpath), "%s.err", out) < (int)sizeof(errpath)) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
	}
	execl("/proc/self/exe", "tcpabort-trace", "-p", pidstr, "--json", "-o", out, (char *)NULL);
	_exit(127);
}

static bool file_has(const char *path, const char *needle)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(buf, sizeof(buf), f))
		found = strstr(buf, needle) != NULL;
	fclose(f);
	return found;
}

/* Wait until the file contains needle, or the process died, or time ran out. */
static bool wait_file(const char *path, const char *needle, pid_t pid)
{
	for (int ms = 0; ms < STEP_TIMEOUT_MS; ms += 20) {
		if (file_has(path, needle))
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return file_has(path, needle);
		usleep(20000);
	}
	return false;
}

static int wait_exit(pid_t pid)
{
	int status;

	for (int ms = 0; ms < STEP_TIMEOUT_MS; ms += 20) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0)
			return -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Read the tracer's output: the verdicts of connections owned by pid. */
static void judge(const char *path, pid_t pid, const struct scenario *sc, struct outcome *oc)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, used = 0;

	oc->seen[0] = '\0';
	if (!f) {
		snprintf(oc->note, sizeof(oc->note), "no tracer output");
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;

		if (type && !strcmp(type, "connection") &&
		    json_integer_value(json_object_get(j, "pid")) == pid) {
			const char *cause = json_string_value(json_object_get(j, "cause"));
			const char *err = json_string_value(json_object_get(j, "errno"));

			if (!err)
				err = "-";
			if (cause && !strcmp(cause, sc->cause) && !strcmp(err, sc->err))
				oc->pass = true;
			if (used < sizeof(oc->seen))
				used += snprintf(oc->seen + used, sizeof(oc->seen) - used,
						 "%s%s/%s", used ? " " : "", cause ? cause : "?",
						 err);
		}
		json_decref(j);
	}
	free(line);
	fclose(f);
	if (!used)
		snprintf(oc->seen, sizeof(oc->seen), "(no connection)");
}

static void run_one(const char *repro, const char *dir, const struct scenario *sc,
		    struct outcome *oc)
{
	char app[PATH_MAX], out[PATH_MAX];
	pid_t rp, tp;
	int fd, rrc, trc;

	memset(oc, 0, sizeof(*oc));
	snprintf(app, sizeof(app), "%s/%s.app", dir, sc->name);
	snprintf(out, sizeof(out), "%s/%s.jsonl", dir, sc->name);
	fd = open(app, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(oc->note, sizeof(oc->note), "cannot create %s.app: %s", sc->name,
			 strerror(errno));
		return;
	}
	rp = start_repro(repro, sc->name, fd);
	close(fd);
	if (rp < 0 || !wait_file(app, "paused", rp)) {
		snprintf(oc->note, sizeof(oc->note), "the scenario did not start (see %s.app)",
			 sc->name);
		kill(rp, SIGKILL);
		wait_exit(rp);
		return;
	}
	tp = start_tracer(rp, out);
	if (tp < 0 || !wait_file(out, "\"type\":\"start\"", tp)) {
		snprintf(oc->note, sizeof(oc->note), "the tracer did not start");
		kill(rp, SIGKILL);
		kill(tp, SIGTERM);
		wait_exit(rp);
		wait_exit(tp);
		return;
	}
	kill(rp, SIGUSR1);
	rrc = wait_exit(rp);
	trc = wait_exit(tp);
	judge(out, rp, sc, oc);
	/* A scenario that did not produce its outcome proves nothing, whatever the verdict. */
	if (rrc != 0) {
		oc->pass = false;
		snprintf(oc->note, sizeof(oc->note), "scenario exit %d (see %s.app)", rrc,
			 sc->name);
	} else if (trc != 0) {
		oc->pass = false;
		snprintf(oc->note, sizeof(oc->note), "tracer exit %d", trc);
	}
}

/* The work directory holds only files we wrote. */
static void remove_tree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
			unlink(path);
		}
	closedir(dp);
	rmdir(dir);
}

int selftest_main(bool keep)
{
	char repro[PATH_MAX], dir[] = "/tmp/tcpabort-selftest.XXXXXX";
	struct scenario sc[MAX_SCENARIOS];
	struct outcome oc;
	int n, failed = 0;

	find_repro(repro, sizeof(repro));
	n = list_scenarios(repro, sc, MAX_SCENARIOS);
	if (n < 0)
		return EXIT_FAILURE_RUNTIME;
	if (!mkdtemp(dir))
		return error("mkdtemp: %s", strerror(errno)), EXIT_FAILURE_RUNTIME;
	printf("%-22s %-28s %-13s %-6s %s\n", "SCENARIO", "EXPECTED", "ERRNO", "RESULT",
	       "OBSERVED (cause/errno of each connection)");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		run_one(repro, dir, &sc[i], &oc);
		failed += !oc.pass;
		printf("%-22s %-28s %-13s %-6s %s%s%s\n", sc[i].name, sc[i].cause, sc[i].err,
		       oc.pass ? "pass" : "FAIL", oc.seen, oc.note[0] ? "  # " : "", oc.note);
		fflush(stdout);
	}
	printf("selftest: %d passed, %d failed\n", n - failed, failed);
	fflush(stdout);
	if (keep || failed)
		fprintf(stderr, "%s: the scenarios' output and the tracer's JSON are in %s\n",
			progname, dir);
	else
		remove_tree(dir);
	return failed ? EXIT_SELFTEST_FAILED : EXIT_OK;
}
