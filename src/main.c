// SPDX-License-Identifier: GPL-2.0
/* tcpabort-trace: options, checks that need no BPF, then trace. */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/types.h>

#include "tcpabort.h"
#include "kfeatures.h"
#include "report.h"
#include "selftest.h"
#include "trace.h"
#include "util.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define TA_VERSION "0.1.0"

static const char usage[] =
	"Usage: tcpabort-trace SCOPE... [--json] [-o FILE] [-d SECONDS] [-b KIB] [-v]\n"
	"                      [--all | --errors-only] [--port PORT[,PORT]...]...\n"
	"       tcpabort-trace [options] -- COMMAND [ARG]...\n"
	"       tcpabort-trace report [--json] [--all | --errors-only] [--port PORT]... FILE...\n"
	"       tcpabort-trace --selftest [--keep]\n"
	"       tcpabort-trace --features [--json]\n"
	"\n"
	"Explain why a process's TCP connections died: which RST, FIN, timeout or local\n"
	"abort made its recv/send/connect return ECONNRESET, EPIPE, ECONNABORTED,\n"
	"ETIMEDOUT, ECONNREFUSED or a silent EOF, with the kernel events that prove it.\n"
	"\n"
	"Attaches BPF programs to the kernel's TCP tracepoints and follows every TCP\n"
	"socket of the traced processes: those they already hold (joined mid-life,\n"
	"with their state and queues) and every one they create, connect or accept\n"
	"after the attach.  As each connection ends it prints the connection's timeline\n"
	"and a verdict: a cause id, the errno it explains, one sentence, and the\n"
	"evidence.  Tracing stops when every traced process has exited (with --comm,\n"
	"--cgroup or --unit: when -d runs out), or on Ctrl-C / SIGTERM; connections still\n"
	"open are then reported as they stand.\n"
	"\n"
	"Scope (whom to trace; combine freely):\n"
	"  -p, --pid PIDS    these processes (all their threads): a PID, a comma list,\n"
	"                    or one word of PIDs as `pidof` prints them; repeatable\n"
	"      --tree        also every existing descendant of the -p processes\n"
	"                    (nginx master + workers, postmaster + backends)\n"
	"      --no-children do not follow processes forked after the attach\n"
	"                    (followed by default)\n"
	"      --comm NAME   every process named NAME (/proc/PID/comm), now and any\n"
	"                    that takes the name by exec later\n"
	"      --cgroup PATH every process in this cgroup v2 and below it (a path\n"
	"                    under the cgroup2 mount, or absolute), now and later\n"
	"      --unit NAME   the cgroup of systemd unit NAME (.service if no suffix)\n"
	"  -- COMMAND ARG... run COMMAND under trace, attached before it starts\n"
	"\n"
	"Options:\n"
	"  -d, --duration SECONDS  stop after this long (whatever the scope)\n"
	"      --json        JSON Lines: start, event, connection and end records\n"
	"                    (see docs/output.md for the contract)\n"
	"      --all         every connection in full: text prints healthy ones too (by\n"
	"                    default only those that ended abnormally are printed;\n"
	"                    orderly_close and open are counted in the summary), and\n"
	"                    the kernel sends every connection's events instead of a\n"
	"                    one-record summary of each healthy one (more to read)\n"
	"      --errors-only JSON: only abnormal connections, each record preceded by\n"
	"                    its events (report gives the same verdicts from it)\n"
	"      --port PORT   only connections with this local or remote port; repeat\n"
	"                    or give a comma list (text, JSON and the summary)\n"
	"  A summary (connections by cause and errno, top peers, first/last seen) ends\n"
	"  the output; SIGUSR1 writes one at once and tracing goes on.\n"
	"  -o, --output FILE write the output to FILE instead of standard output;\n"
	"                    it is flushed after every connection's verdict\n"
	"  -b, --buffer-size KIB  ring buffer size in KiB, a power of two, at least\n"
	"                    4 (default 4096; 2048 with the flight recorder, 5.11+,\n"
	"                    unless --all); events that do not fit are counted as\n"
	"                    lost, and the connections they belong to marked incomplete\n"
	"      --max-sockets N  traced sockets at once (default 65536; about 300 bytes\n"
	"                    of kernel memory each, allocated at start); sockets beyond\n"
	"                    it are counted and reported, never silently dropped\n"
	"  -v, --verbose     say what is attached; -vv also prints every event as it\n"
	"                    arrives (text) and libbpf's messages\n"
	"      --selftest    run every tcpabort-repro scenario under the tracer, each in\n"
	"                    a private network namespace, and print expected against\n"
	"                    observed verdicts: proof that this kernel gives the\n"
	"                    evidence the verdicts rest on (--keep keeps the output)\n"
	"      --features    print which path each capability takes on this kernel,\n"
	"                    and what evidence is degraded there (docs/kernels.md)\n"
	"  -h, --help        this help\n"
	"  -V, --version     print the version\n"
	"\n"
	"Causes (docs/causes.md):\n"
	"  peer_reset              RST from the peer, no FIN before it: ECONNRESET\n"
	"  reset_after_peer_fin    the peer's FIN, then its RST: recv EOF, send EPIPE\n"
	"  connection_refused      RST answering the SYN: ECONNREFUSED\n"
	"  local_abort             ss -K / bpf_sock_destroy, names who: ECONNABORTED\n"
	"  connect_on_dead_socket  connect() retried on a failed socket: ECONNABORTED\n"
	"  timeout_retransmit, timeout_syn, timeout_keepalive, timeout_user: ETIMEDOUT\n"
	"  icmp_unreachable        an ICMP error: EHOSTUNREACH, ENETUNREACH, ...\n"
	"  connect_abandoned       closed while the SYN was still retried: the app's timeout\n"
	"  disconnect              connect(AF_UNSPEC) or shutdown() while connecting\n"
	"  write_after_shutdown    send after our own shutdown(SHUT_WR): EPIPE\n"
	"  reset_sent_unread_close, reset_sent_linger_zero, reset_sent_linger2,\n"
	"  reset_sent_data_after_close, memory_abort: our kernel reset the peer\n"
	"  closed_without_reply    sent, waited, closed with nothing back: app's timeout\n"
	"  orderly_close           both FINs, no error\n"
	"  open                    still open when tracing stopped, nothing wrong so far\n"
	"  unknown                 the evidence does not decide; says what is missing\n"
	"\n"
	"Examples:\n"
	"  sudo tcpabort-trace -p \"$(pidof nginx)\"       # master and workers\n"
	"  sudo tcpabort-trace --tree -p $(cat /run/postgresql/15-main.pid)\n"
	"  sudo tcpabort-trace --unit redis-server -d 600 --json -o /tmp/redis.jsonl\n"
	"  sudo tcpabort-trace -- curl -s https://example.org/\n"
	"  sudo tcpabort-trace -p 812 --json -o /tmp/812.jsonl\n"
	"  tcpabort-repro fin-then-rst --pause &   # then: sudo tcpabort-trace -p <pid>\n"
	"  sudo tcpabort-trace --selftest          # does this kernel give the evidence?\n"
	"  tcpabort-trace report /tmp/812.jsonl    # the verdicts again, later\n"
	"\n"
	"Exit status:\n"
	"  0  traced until the processes exited or a signal asked us to stop\n"
	"  1  runtime failure (BPF load or attach, output I/O)\n"
	"  2  bad command line\n"
	"  3  a PID does not exist, -p got an empty list, or no such cgroup/unit\n"
	"  4  not enough privilege (needs root, or CAP_BPF + CAP_PERFMON)\n"
	"  5  the kernel lacks BTF or a required tracepoint\n"
	"  6, 7  report: a file cannot be read / is not tcpabort-trace JSON\n"
	"  8  --selftest: a scenario got the wrong verdict\n"
	"\n"
	"Requires Linux 5.12+ with BTF (/sys/kernel/btf/vmlinux); RST reasons need 6.10+,\n"
	"per-call send/recv results 6.3+; --cgroup and --unit need cgroup v2.\n";

/* Root, or CAP_BPF + CAP_PERFMON (5.8+), or CAP_SYS_ADMIN on older kernels. */
static bool privileged(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	__u32 eff[2];

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff[0] = data[0].effective;
	eff[1] = data[1].effective;
#define HAS(cap) (eff[(cap) / 32] & (1U << ((cap) % 32)))
	return HAS(CAP_SYS_ADMIN) || (HAS(CAP_BPF) && HAS(CAP_PERFMON));
#undef HAS
}

/*
 * The process a PID names: itself, or, for a thread ID, its thread group
 * (kill() accepts thread IDs, pidfd_open() does not).  0 when there is none.
 */
static int process_of(int pid)
{
	char path[64], line[256];
	int tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static const char report_usage[] =
	"Usage: tcpabort-trace report [--json] [--all|--errors-only] [--port PORT]... FILE...\n"
	"\n"
	"Print the verdicts again from output saved with --json (- reads standard\n"
	"input): the same rules as a live run, so a newer tcpabort-trace can re-explain\n"
	"an old capture, then the summary.  --all, --errors-only and --port select\n"
	"connections as in a live run.  Needs no privilege.\n"
	"\n"
	"Exit status: 0 done, 2 bad command line, 6 a file cannot be read,\n"
	"7 a file is not tcpabort-trace JSON (the message names the line).\n";

/* --port's value: a port or a comma list, added to f. */
static void port_option(struct session_filter *f, const char *arg)
{
	if (!session_parse_ports(f, arg))
		die(EXIT_USAGE,
		    "invalid port list '%s' (ports 1 to 65535, commas between; at most %d)", arg,
		    TA_MAX_PORTS);
}

static void filter_check(const struct session_filter *f, bool json, bool report)
{
	if (f->errors_only && !json)
		die(EXIT_USAGE, "--errors-only goes with --json: text shows only abnormal "
				"connections already (try --help)");
	/* Live, --all --json asks the kernel for every history; a log is what it is. */
	if (f->all && json && report)
		die(EXIT_USAGE,
		    "--all is for text: JSON keeps every connection already (try --help)");
	if (f->all && f->errors_only)
		die(EXIT_USAGE, "--all and --errors-only contradict each other (try --help)");
}

static int report_cmd(int argc, char **argv)
{
	struct report_opts o = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "--all"))
			o.filter.all = true;
		else if (!strcmp(argv[i], "--errors-only"))
			o.filter.errors_only = true;
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port_option(&o.filter, argv[++i]);
		else if (!strncmp(argv[i], "--port=", 7))
			port_option(&o.filter, argv[i] + 7);
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return fputs(report_usage, stdout), EXIT_OK;
		else if (argv[i][0] == '-' && argv[i][1])
			die(EXIT_USAGE, "report: unknown option '%s' (try report --help)", argv[i]);
		else
			argv[o.nfiles++] = argv[i];
	}
	if (!o.nfiles)
		die(EXIT_USAGE, "report: give the files to read (try report --help)");
	filter_check(&o.filter, o.json, true);
	o.files = argv;
	return report_main(&o);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "selftest", no_argument, NULL, 'S' },
		{ "keep", no_argument, NULL, 'K' },
		{ "all", no_argument, NULL, 'A' },
		{ "errors-only", no_argument, NULL, 'E' },
		{ "port", required_argument, NULL, 'P' },
		{ "tree", no_argument, NULL, 'T' },
		{ "no-children", no_argument, NULL, 'N' },
		{ "comm", required_argument, NULL, 'C' },
		{ "cgroup", required_argument, NULL, 'G' },
		{ "unit", required_argument, NULL, 'U' },
		{ "duration", required_argument, NULL, 'd' },
		{ "features", no_argument, NULL, 'F' },
		{ "max-sockets", required_argument, NULL, 'M' },
		{ 0 },
	};
	struct trace_opts o = { 0 };
	bool selftest = false, keep = false, features = false;
	uint64_t kib, secs;
	const char *bad;
	int c;

	/* A closed output pipe is a write error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_cmd(argc - 1, argv + 1);
	opterr = 0;
	/* "+": stop at the first non-option, so `-- CMD -x` keeps its own options. */
	while ((c = getopt_long(argc, argv, "+:p:o:b:d:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			/* One PID, a comma list, or `pidof`'s space-separated word. */
			bad = parse_pid_list(optarg, &o.pids);
			/* -p "$(pidof x)" with no x running: say that, not "invalid". */
			if (bad && !*bad)
				die(EXIT_NO_PROCESS, "no process to trace: -p was given no PID "
						     "(is the program running?)");
			if (bad)
				die(EXIT_USAGE, "invalid PID '%s' (a number from 1 to 4194304)",
				    bad);
			break;
		case 'T':
			o.tree = true;
			break;
		case 'N':
			o.no_children = true;
			break;
		case 'C':
			if (!*optarg || strlen(optarg) > 15)
				die(EXIT_USAGE,
				    "invalid process name '%s' (1 to 15 characters, as "
				    "/proc/PID/comm shows it)",
				    optarg);
			o.comm = optarg;
			break;
		case 'G':
			o.cgroup = optarg;
			break;
		case 'U':
			o.unit = optarg;
			break;
		case 'd':
			if (!parse_uint(optarg, 1, 31 * 24 * 3600, &secs))
				die(EXIT_USAGE, "invalid duration '%s' (whole seconds, at least 1)",
				    optarg);
			o.duration_s = secs;
			break;
		case 'j':
			o.json = true;
			break;
		case 'o':
			o.out_path = optarg;
			break;
		case 'b':
			/* The kernel wants a power-of-two number of pages. */
			/* Mapped twice by the kernel: 256 MiB is already 512 MiB of mapping. */
			if (!parse_uint(optarg, 4, 1U << 18, &kib) || (kib & (kib - 1)))
				die(EXIT_USAGE,
				    "invalid buffer size '%s' (KiB: a power of two from 4 to "
				    "262144)",
				    optarg);
			o.buffer_kib = kib;
			break;
		case 'M':
			if (!parse_uint(optarg, 1024, 4194304, &kib))
				die(EXIT_USAGE,
				    "invalid socket count '%s' (a number from 1024 to 4194304)",
				    optarg);
			o.max_sockets = kib;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		case 'S':
			selftest = true;
			break;
		case 'K':
			keep = true;
			break;
		case 'F':
			features = true;
			break;
		case 'A':
			o.filter.all = true;
			break;
		case 'E':
			o.filter.errors_only = true;
			break;
		case 'P':
			port_option(&o.filter, optarg);
			break;
		case 'V':
			printf("tcpabort-trace %s (wire format v%d)\n", TA_VERSION,
			       TA_WIRE_VERSION);
			return EXIT_OK;
		case ':':
			die(EXIT_USAGE, "option '%s' needs a value (try --help)", argv[optind - 1]);
		default:
			die(EXIT_USAGE, "unknown option '%s' (try --help)", argv[optind - 1]);
		}
	}
	/* getopt leaves "--" consumed: what follows it is the command. */
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--"))
			die(EXIT_USAGE, "unexpected argument '%s' (try --help)", argv[optind]);
		o.cmd = argv + optind;
	}
	if (keep && !selftest)
		die(EXIT_USAGE, "--keep goes with --selftest (try --help)");
	filter_check(&o.filter, o.json, false);
	if (features)
		return kfeatures_main(o.json);
	if (selftest) {
		if (o.pids.n)
			die(EXIT_USAGE, "--selftest traces its own scenarios: no -p (try --help)");
		/* Network namespaces and nftables need CAP_SYS_ADMIN/CAP_NET_ADMIN: root. */
		if (geteuid() != 0)
			die(EXIT_PRIVILEGE,
			    "permission denied: --selftest needs root (network "
			    "namespaces, nftables, BPF); try: sudo %s --selftest",
			    argv[0]);
		return selftest_main(keep);
	}
	if (o.tree && !o.pids.n)
		die(EXIT_USAGE, "--tree takes the descendants of -p PID: give one (try --help)");
	if (!o.pids.n && !o.comm && !o.cgroup && !o.unit && !o.cmd)
		die(EXIT_USAGE, "nothing to trace: give -p PID, --comm, --cgroup, --unit or -- "
				"COMMAND (try --help)");
	if (o.cgroup && o.unit)
		die(EXIT_USAGE, "--cgroup and --unit both name a cgroup: give one (try --help)");
	for (size_t i = 0; i < o.pids.n; i++) {
		int tgid = process_of(o.pids.v[i]);

		if (!tgid)
			die(EXIT_NO_PROCESS, "no such process: %d", o.pids.v[i]);
		if (tgid != o.pids.v[i]) {
			warn("%d is a thread of process %d: tracing the whole process", o.pids.v[i],
			     tgid);
			/* A thread ID mapped to its process can repeat a PID given as such. */
			if (pidset_has(&o.pids, tgid))
				pidset_del(&o.pids, o.pids.v[i--]);
			else
				o.pids.v[i] = tgid;
		}
	}
	if (!privileged())
		die(EXIT_PRIVILEGE,
		    "permission denied: tracing needs root (or CAP_BPF and "
		    "CAP_PERFMON); try: sudo %s",
		    argv[0]);
	return trace_main(&o);
}
