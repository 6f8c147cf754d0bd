// SPDX-License-Identifier: GPL-2.0
/*
 * The system around a scenario: a private network namespace with its own
 * sysctls and nftables rules, the kernel's TCP counters, and the one global
 * sysctl a scenario may have to touch.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repro.h"
#include "sys.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NFT_TABLE "tcpabort_repro"
#define NFT_MS	  3000

static char nft_path[256];

/* ------------------------------------------------------------- namespace */

static int find_nft(void)
{
	const char *path = getenv("PATH");
	char dirs[1024], *dir, *save = NULL;

	/* sudo and cron often leave the sbin directories out of PATH */
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/local/sbin", path ? path : "");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(nft_path, sizeof(nft_path), "%s/nft", dir);
		if (!access(nft_path, X_OK))
			return 0;
	}
	nft_path[0] = '\0';
	return -1;
}

static int lo_up(void)
{
	struct ifreq ifr;
	int fd, rc = -1;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/*
 * Called before the --pause wait, so the tracer attaches to the process that
 * already lives in the namespace.  Everything set up in it (lo, sysctls,
 * rules) disappears with the namespace when the last process exits.
 */
int repro_netns_enter(void)
{
	int err;

	if (find_nft()) {
		repro_out("# setup failed: nft not found (PATH, /usr/sbin, /sbin): install "
			  "nftables");
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		err = errno;
		repro_out("# setup failed: unshare(CLONE_NEWNET) = -1 %s (%s): this scenario "
			  "needs root",
			  repro_errname(err), strerror(err));
		return -1;
	}
	if (lo_up()) {
		err = errno;
		repro_out("# setup failed: cannot bring lo up in the new namespace: %s",
			  repro_errname(err));
		return -1;
	}
	repro_out("# in a private network namespace (lo up); its sysctls and nftables rules "
		  "go with it");
	return 0;
}

/* ---------------------------------------------------------------- sysctls */

static int read_int_fd(int fd, int *val)
{
	char buf[32];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%d", val) == 1 ? 0 : -1;
}

static int write_int_fd(int fd, int val)
{
	char buf[32];
	int len;

	len = snprintf(buf, sizeof(buf), "%d\n", val);
	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

static int sysctl_set(const char *name, int val, bool optional)
{
	char path[128];
	int fd, old, err;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && optional) {
		repro_out("# sysctl net.ipv4.%s does not exist on this kernel", name);
		return 0;
	}
	if (fd < 0 || read_int_fd(fd, &old) || write_int_fd(fd, val)) {
		err = errno;
		repro_out("# setup failed: sysctl net.ipv4.%s = %d: %s", name, val,
			  repro_errname(err));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	repro_out("# sysctl net.ipv4.%s = %d (was %d), in this namespace only", name, val, old);
	return 0;
}

/* Only for per-namespace sysctls, in our own namespace: nothing to restore. */
int repro_sysctl_set(const char *name, int val)
{
	return sysctl_set(name, val, false);
}

/* The same, for a sysctl that older kernels lack and can do without. */
int repro_sysctl_set_opt(const char *name, int val)
{
	return sysctl_set(name, val, true);
}

/* --------------------------------------------------------------- nftables */

static void nft_child(int in)
{
	char *const argv[] = { "nft", "-f", "-", NULL };
	sigset_t none;

	dup2(in, STDIN_FILENO);
	repro_close_fds_except(-1, -1, -1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(nft_path, argv);
	_exit(127);
}

/* Feeds a ruleset to `nft -f -`; `what` says in words what it does. */
int repro_nft(const char *what, const char *fmt, ...)
{
	char rules[1024];
	int fds[2], status, len;
	ssize_t n;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	len = vsnprintf(rules, sizeof(rules), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(rules) || !nft_path[0])
		return -1;
	if (pipe(fds))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		nft_child(fds[0]);
	}
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		return -1;
	}
	/* our SIGPIPE handler turns a dead nft into a short write here */
	n = write(fds[1], rules, len);
	close(fds[1]);
	if (repro_reap_child(pid, "nft", NFT_MS, &status))
		return -1;
	if (n != len || !WIFEXITED(status) || WEXITSTATUS(status)) {
		repro_out("# setup failed: nft did not take the rules for: %s", what);
		return -1;
	}
	repro_out("# nft: %s", what);
	return 0;
}

static void addr_str(const struct sockaddr_in *a, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
}

/*
 * The input hook is ingress: the packet left the client normally, so the
 * client's stack sees a silent peer.  Dropping on output instead makes the
 * sender's own transmit fail, which TCP treats as local congestion.
 */
int repro_nft_drop_flow(const struct repro *r, const char *verdict)
{
	struct sockaddr_in local;
	socklen_t alen = sizeof(local);
	char from[32], to[32], what[128], sip[INET_ADDRSTRLEN], dip[INET_ADDRSTRLEN];

	if (getsockname(r->client_fd, (struct sockaddr *)&local, &alen))
		return -1;
	addr_str(&local, from, sizeof(from));
	addr_str(&r->addr, to, sizeof(to));
	inet_ntop(AF_INET, &local.sin_addr, sip, sizeof(sip));
	inet_ntop(AF_INET, &r->addr.sin_addr, dip, sizeof(dip));
	snprintf(what, sizeof(what), "%s every packet %s -> %s on input, from now on", verdict,
		 from, to);
	return repro_nft(what,
			 "table ip " NFT_TABLE " {\n"
			 "\tchain input {\n"
			 "\t\ttype filter hook input priority 0; policy accept;\n"
			 "\t\tip saddr %s tcp sport %u ip daddr %s tcp dport %u %s\n"
			 "\t}\n"
			 "}\n",
			 sip, ntohs(local.sin_port), dip, ntohs(r->addr.sin_port), verdict);
}

/* Only SYNs, so the verdict never touches an established connection. */
int repro_nft_syn(const struct repro *r, const char *verdict)
{
	char to[32], what[128], dip[INET_ADDRSTRLEN];

	addr_str(&r->addr, to, sizeof(to));
	inet_ntop(AF_INET, &r->addr.sin_addr, dip, sizeof(dip));
	snprintf(what, sizeof(what), "%s every SYN to %s on input", verdict, to);
	return repro_nft(what,
			 "table ip " NFT_TABLE " {\n"
			 "\tchain input {\n"
			 "\t\ttype filter hook input priority 0; policy accept;\n"
			 "\t\tip daddr %s tcp dport %u tcp flags & (syn | ack) == syn %s\n"
			 "\t}\n"
			 "}\n",
			 dip, ntohs(r->addr.sin_port), verdict);
}

/* --------------------------------------------------------------- counters */

/*
 * The MIB counters the kernel moves for each cause, per network namespace:
 * a cross-check for the tracer's verdict that needs no tracing at all.
 */
static const struct {
	const char *file;
	const char *group;
	const char *name;
} mibs[] = {
	{ "/proc/net/snmp", "Tcp", "AttemptFails" },
	{ "/proc/net/snmp", "Tcp", "EstabResets" },
	{ "/proc/net/snmp", "Tcp", "OutRsts" },
	{ "/proc/net/netstat", "TcpExt", "TCPAbortOnData" },
	{ "/proc/net/netstat", "TcpExt", "TCPAbortOnClose" },
	{ "/proc/net/netstat", "TcpExt", "TCPAbortOnMemory" },
	{ "/proc/net/netstat", "TcpExt", "TCPAbortOnTimeout" },
	{ "/proc/net/netstat", "TcpExt", "TCPAbortOnLinger" },
	{ "/proc/net/netstat", "TcpExt", "TCPAbortFailed" },
};

static long long mib_start[ARRAY_SIZE(mibs)];
static bool mib_taken;

static const char *next_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl ? nl + 1 : NULL;
}

/* The file has a line of names and a line of values per group. */
static long long mib_find(const char *text, const char *group, const char *name)
{
	char prefix[32];
	const char *names, *values, *p, *q;
	size_t plen, nlen = strlen(name);

	plen = snprintf(prefix, sizeof(prefix), "%s:", group);
	for (names = text; names && *names; names = next_line(names)) {
		if (strncmp(names, prefix, plen) || names[plen] != ' ')
			continue;
		values = strchr(names, '\n');
		if (!values || strncmp(values + 1, prefix, plen))
			return -1;
		p = names + plen;
		q = values + 1 + plen;
		while (*p == ' ' && *q == ' ') {
			p++;
			q++;
			if (!strncmp(p, name, nlen) && (p[nlen] == ' ' || p[nlen] == '\n'))
				return strtoll(q, NULL, 10);
			p += strcspn(p, " \n");
			q += strcspn(q, " \n");
		}
		return -1;
	}
	return -1;
}

static int slurp(const char *path, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (used < len - 1) {
		n = read(fd, buf + used, len - 1 - used);
		if (n <= 0)
			break;
		used += n;
	}
	close(fd);
	buf[used] = '\0';
	return 0;
}

static void mib_read(long long *vals)
{
	static char snmp[8192], netstat[16384];
	size_t i;
	bool ok_snmp = !slurp("/proc/net/snmp", snmp, sizeof(snmp));
	bool ok_netstat = !slurp("/proc/net/netstat", netstat, sizeof(netstat));

	for (i = 0; i < ARRAY_SIZE(mibs); i++) {
		bool is_snmp = !strcmp(mibs[i].file, "/proc/net/snmp");

		if (is_snmp ? !ok_snmp : !ok_netstat)
			vals[i] = -1;
		else
			vals[i] = mib_find(is_snmp ? snmp : netstat, mibs[i].group, mibs[i].name);
	}
}

void repro_mib_snapshot(void)
{
	mib_read(mib_start);
	mib_taken = true;
}

void repro_mib_report(void)
{
	long long now[ARRAY_SIZE(mibs)];
	char line[400];
	size_t i, used = 0;

	if (!mib_taken)
		return;
	mib_read(now);
	for (i = 0; i < ARRAY_SIZE(mibs) && used < sizeof(line); i++) {
		if (now[i] < 0 || mib_start[i] < 0 || now[i] == mib_start[i])
			continue;
		used += snprintf(line + used, sizeof(line) - used, "%s%s.%s %+lld",
				 used ? ", " : "", mibs[i].group, mibs[i].name,
				 now[i] - mib_start[i]);
	}
	if (used)
		repro_out("# counters moved in this network namespace: %s", line);
}

/* ------------------------------------------------------- a global sysctl */

/*
 * Global net sysctls (tcp_max_orphans, tcp_mem) exist only in the initial
 * network namespace: elsewhere /proc/sys/net/ipv4 has no such file.  The file
 * is opened there, through kthreadd's namespace (pid 2 is in the initial one
 * whenever we share its pid namespace), and we come straight back.  A file
 * opened once keeps writing to that namespace's table.
 */
static int open_global_sysctl(const char *path)
{
	char comm[32] = "";
	int fd, self, init, err;
	FILE *f;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	f = fopen("/proc/2/comm", "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	if (strcmp(comm, "kthreadd\n")) {
		errno = ENOENT;
		return -1;
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	init = open("/proc/2/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || init < 0 || setns(init, CLONE_NEWNET)) {
		err = errno;
		fd = -1;
		goto out;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	err = errno;
	if (setns(self, CLONE_NEWNET)) {
		/* going on in the wrong namespace would touch the host's sockets */
		repro_err("setns() back to our own network namespace: %s", repro_errname(errno));
		_exit(REPRO_EXIT_SETUP);
	}
	if (fd >= 0)
		repro_out("# it is not visible in this network namespace: opened it in the initial "
			  "one (via /proc/2/ns/net) and came back");
out:
	if (self >= 0)
		close(self);
	if (init >= 0)
		close(init);
	errno = err;
	return fd;
}

int repro_gsysctl_open(struct repro_gsysctl *g, const char *name)
{
	char path[128];
	int err;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->ctl = -1;
	g->name = name;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	repro_out("# net.ipv4.%s is global: one value for every namespace on this host", name);
	g->fd = open_global_sysctl(path);
	if (g->fd < 0 || read_int_fd(g->fd, &g->saved)) {
		err = errno;
		repro_out("# setup failed: cannot open net.ipv4.%s for writing: %s (%s)", name,
			  repro_errname(err), strerror(err));
		return -1;
	}
	repro_out("# net.ipv4.%s is %d", name, g->saved);
	return 0;
}

/*
 * The guardian restores the value if we die while it is changed (SIGKILL
 * cannot be caught).  It runs in its own session, so a Ctrl-C or a kill of
 * our process group does not take it along, and it holds nothing of ours but
 * the sysctl file: a copy of the client socket would keep that socket open
 * past the client's close().
 */
static void guardian(struct repro_gsysctl *g, int ctl)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	int cur;
	char c;

	setsid();
	prctl(PR_SET_NAME, "repro-guardian");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	repro_close_fds_except(ctl, g->fd, -1);
	if (write(ctl, "G", 1) != 1)
		_exit(1);
	/* a stopped or dead parent: restore after this, unless someone else changed it */
	if (poll(&pfd, 1, 2 * REPRO_SERVER_MS) == 1 && read(ctl, &c, 1) == 1 && c == 'R')
		_exit(0);
	if (!read_int_fd(g->fd, &cur) && cur == g->lowered)
		write_int_fd(g->fd, g->saved);
	_exit(2);
}

int repro_gsysctl_arm(struct repro_gsysctl *g, int lowered)
{
	struct pollfd pfd;
	int sv[2];
	char c;

	g->lowered = lowered;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(NULL);
	g->guard = fork();
	if (g->guard == 0) {
		close(sv[0]);
		guardian(g, sv[1]);
	}
	close(sv[1]);
	if (g->guard < 0) {
		close(sv[0]);
		return -1;
	}
	g->ctl = sv[0];
	pfd = (struct pollfd){ .fd = g->ctl, .events = POLLIN };
	if (poll(&pfd, 1, REPRO_WAIT_MS) != 1 || read(g->ctl, &c, 1) != 1 || c != 'G') {
		repro_out("# the guardian pid %d did not get ready", (int)g->guard);
		repro_gsysctl_disarm(g);
		return -1;
	}
	repro_out("# guardian pid %d will restore net.ipv4.%s = %d if we die", (int)g->guard,
		  g->name, g->saved);
	return 0;
}

int repro_gsysctl_write(struct repro_gsysctl *g, int val)
{
	return write_int_fd(g->fd, val);
}

/* Tells the guardian all is well, and reaps it. */
void repro_gsysctl_disarm(struct repro_gsysctl *g)
{
	int status;

	if (g->ctl >= 0) {
		if (write(g->ctl, "R", 1) != 1)
			repro_out("# cannot reach the guardian: %s", repro_errname(errno));
		close(g->ctl);
		g->ctl = -1;
	}
	if (g->guard > 0) {
		repro_reap_child(g->guard, "guardian", REPRO_WAIT_MS, &status);
		g->guard = 0;
	}
}

/* Restores the saved value (it may not have changed) and closes the file. */
int repro_gsysctl_close(struct repro_gsysctl *g)
{
	int cur = -1, rc = 0;

	if (g->fd < 0)
		return 0;
	repro_gsysctl_disarm(g);
	if (read_int_fd(g->fd, &cur) || cur != g->saved) {
		rc = write_int_fd(g->fd, g->saved);
		repro_out("# net.ipv4.%s restored to %d%s", g->name, g->saved,
			  rc ? ": FAILED" : "");
	}
	close(g->fd);
	g->fd = -1;
	return rc;
}
