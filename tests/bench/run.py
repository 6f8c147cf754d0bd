#!/usr/bin/env python3
"""make bench: what tracing costs a process that churns connections.

Usage (root): tests/bench/run.py    (or `make bench`)

In one invocation, interleaved rounds with the order rotated each round
(A B C D, B C D A, ...), so that drift of the machine spreads evenly:

  A  untraced          the load generator alone
  B  empty programs    tests/bench/empty.bpf.c: one no-op program on each of
                       the tracer's hooks (the cost of being attached at all)
  C  traced            tcpabort-trace -p <the load generator> --json -o FILE
  D  idle traced       tcpabort-trace -p <a sleep>, the load untraced

The load is build/churn (tests/bench/churn.c) in a network namespace made
for the run and removed after it.  See docs/bench.md for what each column
means and how it is measured.

Environment:
  BENCH_ROUNDS=5        rounds (each runs A, B, C and D once)
  BENCH_SECONDS=6       seconds of churn per run
  BENCH_RESET_PCT=5     share of connections closed with SO_LINGER {1,0}
  BENCH_THREADS=1       client threads of the load generator
  BENCH_JSON=FILE       also write the results as JSON
  BENCH_EXIT_TIMEOUT=15 seconds a tracer gets to exit after SIGINT
  BENCH_TRACER_ARGS     extra tracer arguments (default: --json)
  BENCH_KEEP=DIR        keep the tracers' output files in DIR
  BENCH_HELD=20000      after the rounds, once: this many connections held
  BENCH_HELD_CHURN=200000  open while this many churn, all traced (0: skip)
  BUILD=build           where churn, bench-empty and empty.bpf.o are
  TRACER=$BUILD/tcpabort-trace
"""
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = ["A", "B", "C", "D"]
NAMES = {
    "A": "untraced",
    "B": "empty BPF programs, same hooks",
    "C": "tcpabort-trace -p (the churning process)",
    "D": "tcpabort-trace -p (an idle process)",
}
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def env_num(name, default, kind=int):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        v = kind(raw)
    except ValueError:
        sys.exit(f"bench: {name}={raw!r} is not a number")
    if v < 0:
        sys.exit(f"bench: {name} must not be negative")
    return v


BUILD = os.environ.get("BUILD", "build")
TRACER = os.environ.get("TRACER", f"{BUILD}/tcpabort-trace")
CHURN = f"{BUILD}/churn"
EMPTY = f"{BUILD}/bench-empty"
EMPTY_OBJ = f"{BUILD}/bench/empty.bpf.o"
ROUNDS = env_num("BENCH_ROUNDS", 5)
SECONDS = env_num("BENCH_SECONDS", 6.0, float)
RESET_PCT = env_num("BENCH_RESET_PCT", 5.0, float)
THREADS = env_num("BENCH_THREADS", 1)
EXIT_TIMEOUT = env_num("BENCH_EXIT_TIMEOUT", 15.0, float)
TRACER_ARGS = shlex.split(os.environ.get("BENCH_TRACER_ARGS", "--json"))
KEEP = os.environ.get("BENCH_KEEP", "")
HELD = env_num("BENCH_HELD", 20000)
HELD_CHURN = env_num("BENCH_HELD_CHURN", 200000)
NETNS = f"tabench{os.getpid()}"

children = []  # Popen objects still to be stopped on the way out


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    children.append(p)
    return p


def reap(p, timeout, on_poll=None):
    """Waits up to timeout for p; returns (status or None, rusage or None)."""
    deadline = time.monotonic() + timeout
    while True:
        if on_poll:
            on_poll()
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            if p in children:
                children.remove(p)
            return p.returncode, ru
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(0.01)


def stop(p, sig=signal.SIGKILL):
    if p.returncode is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        reap(p, 5)


def wait_line(path, pattern, timeout, proc=None):
    """Waits until file path holds pattern (a regex over its first 64 KiB)."""
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                m = rx.search(f.read(65536).decode(errors="replace"))
            if m:
                return m
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.02)
    return None


def machine_busy_s():
    """CPU time the whole machine has spent busy (the "cpu" line of /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _, _, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def self_cpu_s():
    t = os.times()
    return t.user + t.system


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def vm_hwm_kib(pid):
    """Peak RSS so far.  Not ru_maxrss: a child started by vfork+exec inherits
    its parent's (this script's) high-water mark in it."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def prog_stats(pid):
    """{prog_id: (run_cnt, run_time_ns)} of the BPF programs pid holds."""
    out = {}
    fddir = f"/proc/{pid}/fd"
    for fd in os.listdir(fddir):
        try:
            if os.readlink(f"{fddir}/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid_ = int(info["prog_id"])
        out[pid_] = (int(info.get("run_cnt", 0)), int(info.get("run_time_ns", 0)))
    return out


def prog_names(ids):
    try:
        progs = json.loads(
            subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True,
                           text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {}
    return {p["id"]: p.get("name", "?") for p in progs if p["id"] in ids}


def stats_delta(before, after):
    """Per program name: run count and run time over the load."""
    names = prog_names(set(after))
    per = {}
    for pid_, (cnt, ns) in after.items():
        c0, n0 = before.get(pid_, (0, 0))
        name = names.get(pid_, str(pid_))
        c, n = per.get(name, (0, 0))
        per[name] = (c + cnt - c0, n + ns - n0)
    return per


def scan_output(path):
    """Connection records, and the last summary and end records, of a JSON log."""
    conns = amends = 0
    carry = b""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(8 << 20)
            if not chunk:
                break
            buf = carry + chunk
            conns += buf.count(b'\n{"type":"connection"')
            amends += buf.count(b'"amends":true}\n')
            carry = buf[-32:]
            # A record split at the boundary is counted once: drop what was seen.
            conns -= carry.count(b'\n{"type":"connection"')
            amends -= carry.count(b'"amends":true}\n')
        f.seek(0)
        if f.read(20).startswith(b'{"type":"connection"'):
            conns += 1
        f.seek(max(0, size - (1 << 20)))
        tail = f.read().split(b"\n")
    summary = end = None
    for line in tail:
        if line.startswith(b'{"type":"summary"'):
            try:
                summary = json.loads(line)
            except ValueError:
                pass
        elif line.startswith(b'{"type":"end"'):
            try:
                end = json.loads(line)
            except ValueError:
                pass
    return conns - amends, summary, end, size


def run_churn_paused(before_resume=None):
    """Starts churn in the namespace, paused; returns (proc, stdout path)."""
    tmp = tempfile.NamedTemporaryFile(prefix="churn.", dir=WORK, delete=False)
    tmp.close()
    errpath = tmp.name + ".err"
    with open(tmp.name, "wb") as out, open(errpath, "wb") as err:
        p = spawn(["ip", "netns", "exec", NETNS, CHURN, "-P", "-d", str(SECONDS), "-r",
                   str(RESET_PCT), "-t", str(THREADS)], stdout=out, stderr=err,
                  stdin=subprocess.DEVNULL)
    if not wait_line(errpath, r"paused", 10, p):
        raise RuntimeError(f"churn did not pause: {open(errpath).read().strip()}")
    return p, tmp.name, errpath


def churn_result(path, errpath):
    text = open(path).read()
    m = re.search(r"connections=(\d+) resets=(\d+) errors=(\d+) seconds=([\d.]+) rate=([\d.]+)",
                  text)
    if not m:
        raise RuntimeError(f"churn printed no result: {text.strip()} {open(errpath).read().strip()}")
    os.unlink(path)
    os.unlink(errpath)
    return {
        "connections": int(m[1]),
        "resets": int(m[2]),
        "errors": int(m[3]),
        "seconds": float(m[4]),
        "rate": float(m[5]),
    }


def start_tracer(pid, out):
    errpath = out + ".err"
    with open(errpath, "wb") as err:
        t = spawn([TRACER, "-p", str(pid), *TRACER_ARGS, "-o", out], stdout=subprocess.DEVNULL,
                  stderr=err, stdin=subprocess.DEVNULL)
    if not wait_line(out, r'"type":"start"|tcpabort-trace', 30, t):
        stop(t)
        raise RuntimeError(f"the tracer did not start: {open(errpath).read().strip()}")
    return t, errpath


def one_run(cfg, rnd):
    res = {"config": cfg, "round": rnd}
    holder = tracer = loader = None
    out = os.path.join(WORK, f"trace-{cfg}-{rnd}.jsonl")
    bpf_pid = None
    if cfg == "B":
        # libbpf reads the syscall tracepoints' ids from tracefs: mount one
        # where only the loader sees it.
        loader = spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "mountpoint -q /sys/kernel/tracing || "
                        "mount -t tracefs nodev /sys/kernel/tracing; exec \"$0\" \"$1\"",
                        EMPTY, EMPTY_OBJ], stdout=subprocess.PIPE, text=True)
        lines = []
        for line in loader.stdout:
            lines.append(line)
            if line.startswith("attached"):
                break
        else:
            raise RuntimeError("bench-empty did not attach")
        bpf_pid = loader.pid
    if cfg == "D":
        holder = spawn(["sleep", "3600"])
        tracer, terr = start_tracer(holder.pid, out)
        bpf_pid = tracer.pid
    churn, cpath, cerr = run_churn_paused()
    if cfg == "C":
        tracer, terr = start_tracer(churn.pid, out)
        bpf_pid = tracer.pid
    before = prog_stats(bpf_pid) if bpf_pid else {}
    ticks0 = cpu_ticks((tracer or loader).pid) if (tracer or loader) else 0
    t0 = time.monotonic()
    busy0, self0, tracer0 = machine_busy_s(), self_cpu_s(), ticks0
    churn.send_signal(signal.SIGUSR1)
    # The load ends when churn exits, and a tracer of churn then stops by
    # itself: sample its counters while it runs, 4 times a second (sampling
    # costs CPU that the load would otherwise have).
    ticks1, after, t1, next_sample = ticks0, before, t0, t0
    hwm = [0]

    def sample_hwm():
        hwm[0] = max(hwm[0], vm_hwm_kib(tracer.pid))

    while True:
        pid, status, churn_ru = os.wait4(churn.pid, os.WNOHANG)
        if pid == churn.pid:
            churn.returncode = os.waitstatus_to_exitcode(status)
            children.remove(churn)
            break
        now = time.monotonic()
        if tracer and now >= next_sample and tracer.poll() is None:
            try:
                ticks1, after, t1 = cpu_ticks(tracer.pid), prog_stats(bpf_pid), now
            except OSError:
                pass
            sample_hwm()
            next_sample = now + 0.25
        time.sleep(0.02)
    t_end = time.monotonic()
    # What the rest of the machine did meanwhile: its busy time, less the
    # load's, the tracer's (or loader's) and this script's.
    ours = churn_ru.ru_utime + churn_ru.ru_stime + self_cpu_s() - self0
    if tracer or loader:
        try:
            ours += (cpu_ticks((tracer or loader).pid) - tracer0) / CLK_TCK
        except OSError:
            pass
    res["other_cpu_pct"] = max(0.0, 100.0 * (machine_busy_s() - busy0 - ours) / (t_end - t0))
    if loader:
        after, t1 = prog_stats(bpf_pid), t_end
    res.update(churn_result(cpath, cerr))
    if bpf_pid:
        per = stats_delta(before, after)
        cnt = sum(c for c, _ in per.values())
        ns = sum(n for _, n in per.values())
        res["bpf"] = {"runs": cnt, "run_time_ns": ns,
                      "ns_per_run": ns / cnt if cnt else None,
                      "runs_per_s": cnt / (t1 - t0),
                      "progs": {k: {"runs": c, "ns": n} for k, (c, n) in sorted(per.items())}}
    if loader:
        loader.send_signal(signal.SIGINT)
        reap(loader, 5)
        stop(loader)
    if tracer:
        res["tracer_cpu_pct"] = 100.0 * (ticks1 - ticks0) / CLK_TCK / (t1 - t0)
        if tracer.poll() is None:
            tracer.send_signal(signal.SIGINT)
        status, ru = reap(tracer, EXIT_TIMEOUT, sample_hwm)
        if status is None:
            stop(tracer)
            status, ru = tracer.returncode, None
            res["exit_s"] = None
            res["killed"] = True
        else:
            res["exit_s"] = time.monotonic() - t_end
            res["killed"] = False
        res["tracer_status"] = status
        # VmHWM, sampled until the tracer exits (the last sample misses
        # at most its final 10 ms).
        res["peak_rss_kib"] = hwm[0] or None
        if ru:
            res["tracer_cpu_total_s"] = ru.ru_utime + ru.ru_stime
        res["tracer_stderr"] = open(terr).read().strip()[-2000:]
        os.unlink(terr)
        if holder:
            stop(holder)
        if cfg == "C":
            conns, summary, end, size = scan_output(out)
            res["records"] = conns
            res["expected"] = 2 * res["connections"]  # both ends are in the traced process
            res["output_bytes"] = size
            res["lost"] = end["lost"] if end else None
            res["events"] = end["events"] if end else None
            if summary:
                res["summary"] = {k: v for k, v in summary.items() if k != "causes"}
                res["causes"] = {c["cause"]: c["count"] for c in summary.get("causes", [])}
        else:
            _, _, end, size = scan_output(out)
            res["lost"] = end["lost"] if end else None
            res["output_bytes"] = size
        if KEEP:
            os.makedirs(KEEP, exist_ok=True)
            shutil.move(out, os.path.join(KEEP, os.path.basename(out)))
        else:
            os.unlink(out)
    return res


def causes_of(path):
    """Connection records by cause (amending records replace what they amend),
    incomplete ones, and the end record."""
    by_cookie, end, records, repeats = {}, None, 0, 0
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b'{"type":"connection"'):
                r = json.loads(line)
                records += 1
                # A second record for a cookie that is no amendment: worth knowing.
                repeats += r["cookie"] in by_cookie and not r.get("amends")
                by_cookie[r["cookie"]] = (r["cause"], r["complete"])
            elif line.startswith(b'{"type":"end"'):
                end = json.loads(line)
    causes, incomplete = {}, 0
    for cause, complete in by_cookie.values():
        causes[cause] = causes.get(cause, 0) + 1
        incomplete += not complete
    return causes, incomplete, end, records, repeats


def held_run():
    """HELD connections open while HELD_CHURN churn through, all traced: is
    every held one still followed to its end (an RST each), or reported?"""
    out = os.path.join(WORK, "trace-held.jsonl")
    tmp = os.path.join(WORK, "churn-held")
    with open(tmp, "wb") as o, open(tmp + ".err", "wb") as e:
        churn = spawn(["ip", "netns", "exec", NETNS, CHURN, "-P", "-H", str(HELD), "-n",
                       str(HELD_CHURN), "-d", "0", "-r", str(RESET_PCT)], stdout=o, stderr=e,
                      stdin=subprocess.DEVNULL)
    if not wait_line(tmp + ".err", r"paused", 10, churn):
        raise RuntimeError("churn -H did not pause")
    tracer, terr = start_tracer(churn.pid, out)
    hwm = [0]

    def sample():
        hwm[0] = max(hwm[0], vm_hwm_kib(tracer.pid))

    t0 = time.monotonic()
    churn.send_signal(signal.SIGUSR1)
    reap(churn, 3600, sample)
    t_end = time.monotonic()
    status, _ = reap(tracer, EXIT_TIMEOUT, sample)
    exit_s = time.monotonic() - t_end if status is not None else None
    if status is None:
        stop(tracer)
    text = open(tmp).read()
    m = re.search(r"connections=(\d+) resets=(\d+).*held=(\d+) held_reset=(\d+)", text)
    if not m:
        raise RuntimeError(f"churn -H printed no result: {text.strip()}")
    conns, resets, held, held_reset = (int(x) for x in m.groups())
    causes, incomplete, end, records, repeats = causes_of(out)
    res = {"held": held, "held_reset": held_reset, "connections": conns, "resets": resets,
           "seconds": t_end - t0, "causes": causes, "incomplete": incomplete,
           "lost": end["lost"] if end else None,
           "untracked": end.get("untracked") if end else None,
           "connections_lost": end.get("connections_lost") if end else None,
           "records": records, "repeated_records": repeats,
           "peak_rss_kib": hwm[0] or None, "exit_s": exit_s,
           "tracer_stderr": open(terr).read().strip()[-2000:]}
    # Each held connection ends in an RST: the client end says linger_zero,
    # the server end peer_reset; so do the churn's resets.
    res["reset_ends_expected"] = 2 * (resets + held_reset)
    res["reset_ends_explained"] = (causes.get("reset_sent_linger_zero", 0)
                                   + causes.get("peer_reset", 0))
    res["orderly_expected"] = 2 * (conns - resets)
    res["orderly"] = causes.get("orderly_close", 0)
    if KEEP:
        os.makedirs(KEEP, exist_ok=True)
        shutil.move(out, os.path.join(KEEP, os.path.basename(out)))
    return res


def held_line(h):
    return (f"held: {h['held']:,} connections held open while {h['connections']:,} churned "
            f"({h['seconds']:.0f} s), all traced: reset ends explained "
            f"{h['reset_ends_explained']:,} of {h['reset_ends_expected']:,}, orderly "
            f"{h['orderly']:,} of {h['orderly_expected']:,}, incomplete {h['incomplete']:,}, "
            f"other causes {sum(v for k, v in h['causes'].items() if k not in ('reset_sent_linger_zero', 'peer_reset', 'orderly_close')):,}, "
            f"lost {h['lost']}, connections lost {h['connections_lost']}, untracked "
            f"{h['untracked']}, records {h['records']:,} ({h['repeated_records']} repeated); "
            f"tracer peak RSS "
            f"{fmt((h['peak_rss_kib'] or 0) / 1024, '.0f')} MiB, exit "
            f"{fmt(h['exit_s'], '.2f', 'killed')} s after the load")


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec, none="–"):
    return none if v is None else format(v, spec)


def summarize(runs):
    base = {r["round"]: r["rate"] for r in runs if r["config"] == "A"}
    rows = {}
    for cfg in CONFIGS:
        rs = [r for r in runs if r["config"] == cfg]
        ratios = [r["rate"] / base[r["round"]] for r in rs if base.get(r["round"])]
        row = {
            "config": cfg,
            "name": NAMES[cfg],
            "runs": len(rs),
            "rate_median": median([r["rate"] for r in rs]),
            "ratio_median": median(ratios),
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
        }
        if cfg != "A":
            row["ns_per_run"] = median([r["bpf"]["ns_per_run"] for r in rs])
            row["runs_per_s"] = median([r["bpf"]["runs_per_s"] for r in rs])
        if cfg in ("C", "D"):
            row["lost_median"] = median([r["lost"] for r in rs])
            row["lost_max"] = max((r["lost"] for r in rs if r["lost"] is not None), default=None)
            row["tracer_cpu_pct"] = median([r["tracer_cpu_pct"] for r in rs])
            row["peak_rss_mib"] = median([r["peak_rss_kib"] / 1024 for r in rs
                                          if r["peak_rss_kib"]])
            row["exit_s_median"] = median([r["exit_s"] for r in rs])
            row["exit_s_max"] = max((r["exit_s"] for r in rs if r["exit_s"] is not None),
                                    default=None)
            row["killed"] = sum(1 for r in rs if r["killed"])
        if cfg == "C":
            row["delivered_pct"] = median([100.0 * r["records"] / r["expected"] for r in rs
                                           if r["expected"]])
            row["resets_explained_pct"] = median(
                [100.0 * r.get("causes", {}).get("reset_sent_linger_zero", 0) / r["resets"]
                 for r in rs if r["resets"]])
            row["orderly_right_pct"] = median(
                [100.0 * r.get("causes", {}).get("orderly_close", 0)
                 / (2 * (r["connections"] - r["resets"]))
                 for r in rs if r["connections"] > r["resets"]])
            row["output_mb_per_s"] = median([r["output_bytes"] / 1e6 / r["seconds"] for r in rs])
        rows[cfg] = row
    return rows


def table(rows):
    head = ["config", "rate/s (median)", "vs untraced (median, min–max)", "in-kernel ns/run",
            "runs/s", "delivered", "right verdicts: resets, orderly", "lost events", "tracer CPU", "peak RSS", "exit after load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for cfg in CONFIGS:
        r = rows[cfg]
        ratio = "1" if cfg == "A" else (
            f"{fmt(r['ratio_median'], '.2f')} ({fmt(r['ratio_min'], '.2f')}–"
            f"{fmt(r['ratio_max'], '.2f')})")
        delivered = right = lost = cpu = rss = ext = "–"
        if "delivered_pct" in r:
            delivered = f"{fmt(r['delivered_pct'], '.1f')} %"
            right = (f"{fmt(r['resets_explained_pct'], '.1f')} %, "
                     f"{fmt(r['orderly_right_pct'], '.1f')} %")
        if cfg in ("C", "D"):
            lost = (f"{fmt(r['lost_median'], ',.0f')}"
                    + (f" (max {r['lost_max']:,})" if r["lost_max"] else ""))
            cpu = f"{fmt(r['tracer_cpu_pct'], '.0f')} %"
            rss = f"{fmt(r['peak_rss_mib'], '.0f')} MiB"
            ext = f"{fmt(r['exit_s_median'], '.2f')} s (max {fmt(r['exit_s_max'], '.2f')})"
            if r["killed"]:
                ext += f", {r['killed']} killed after {EXIT_TIMEOUT:g} s"
        lines.append("| " + " | ".join([
            f"{cfg}: {r['name']}", fmt(r["rate_median"], ",.0f"), ratio,
            fmt(r.get("ns_per_run"), ".0f"), fmt(r.get("runs_per_s"), ",.0f"), delivered, right,
            lost,
            cpu, rss, ext]) + " |")
    return "\n".join(lines)


def cost_breakdown(runs, cfg):
    """Median share of in-kernel time per program, for one configuration."""
    agg = {}
    for r in runs:
        if r["config"] != cfg:
            continue
        for name, p in r["bpf"]["progs"].items():
            a = agg.setdefault(name, [0, 0])
            a[0] += p["runs"]
            a[1] += p["ns"]
    total = sum(ns for _, ns in agg.values()) or 1
    out = []
    for name, (cnt, ns) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        if cnt:
            out.append(f"  {name:<24} {cnt:>12,} runs {ns / cnt:>7.0f} ns/run "
                       f"{100.0 * ns / total:5.1f} % of the time")
    return "\n".join(out)


def cleanup():
    for p in list(children):
        stop(p)
    subprocess.run(["ip", "netns", "del", NETNS], stderr=subprocess.DEVNULL)


def main():
    global WORK
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF, network namespaces)")
    for path in (CHURN, EMPTY, EMPTY_OBJ, TRACER):
        if not os.path.exists(path):
            sys.exit(f"bench: {path} is missing (make bench builds it)")
    if ROUNDS < 1 or SECONDS <= 0:
        sys.exit("bench: BENCH_ROUNDS and BENCH_SECONDS must be positive")

    def on_signal(sig, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    stats_was = open(STATS_SYSCTL).read().strip()
    WORK = tempfile.mkdtemp(prefix="tabench.")
    runs = []
    held = None
    try:
        subprocess.run(["ip", "netns", "add", NETNS], check=True)
        subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
        # TIME_WAIT stays on the server side (churn.c), so the client's ports
        # recycle at once; a wider range only adds margin.
        subprocess.run(["ip", "netns", "exec", NETNS, "sysctl", "-qw",
                        "net.ipv4.ip_local_port_range=10000 65000"], check=True)
        with open(STATS_SYSCTL, "w") as f:
            f.write("1\n")
        log(f"{ROUNDS} rounds of {len(CONFIGS)} runs, {SECONDS:g} s each, "
            f"{RESET_PCT:g} % reset, tracer {TRACER} {' '.join(TRACER_ARGS)}")
        for rnd in range(ROUNDS):
            order = CONFIGS[rnd % 4:] + CONFIGS[:rnd % 4]
            for cfg in order:
                r = one_run(cfg, rnd)
                runs.append(r)
                extra = ""
                if "bpf" in r:
                    extra += f", {fmt(r['bpf']['ns_per_run'], '.0f')} ns/run"
                if "records" in r:
                    extra += f", {r['records']}/{r['expected']} records, lost {r['lost']}"
                if "exit_s" in r:
                    extra += (f", CPU {r['tracer_cpu_pct']:.0f} %, exit "
                              f"{fmt(r['exit_s'], '.2f', 'killed')} s")
                log(f"round {rnd + 1} {cfg}: {r['rate']:,.0f}/s{extra}")
        if HELD and HELD_CHURN:
            held = held_run()
            log(held_line(held))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        log(f"stopped: {e}")
        return 1
    finally:
        cleanup()
        with open(STATS_SYSCTL, "w") as f:
            f.write(stats_was + "\n")
        shutil.rmtree(WORK, ignore_errors=True)

    rows = summarize(runs)
    machine = {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "other_cpu_pct_median": median([r["other_cpu_pct"] for r in runs]),
        "model": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                       if line.startswith("model name")), "?"),
    }
    print(f"tcpabort-trace bench: {ROUNDS} rounds x {SECONDS:g} s, {RESET_PCT:g} % of "
          f"connections reset, {THREADS} client thread(s); Linux {machine['kernel']}, "
          f"{machine['cpus']} CPUs ({machine['model']})\n")
    print(table(rows))
    other = median([r["other_cpu_pct"] for r in runs])
    print(f"\nother work on the machine during the runs: {other:.0f} % of a CPU (median)"
          + (": the rates are skewed by it, either way (docs/bench.md)" if other > 10 else ""))
    print("\nin-kernel time by program, C (tracing the churning process):")
    print(cost_breakdown(runs, "C"))
    print("in-kernel time by program, D (tracing an idle process):")
    print(cost_breakdown(runs, "D"))
    if held:
        print("\n" + held_line(held))
    out = os.environ.get("BENCH_JSON")
    if out:
        with open(out, "w") as f:
            json.dump({"v": 1, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "machine": machine,
                       "params": {"rounds": ROUNDS, "seconds": SECONDS, "reset_pct": RESET_PCT,
                                  "threads": THREADS, "tracer": TRACER,
                                  "tracer_args": TRACER_ARGS},
                       "summary": rows, "runs": runs, "held": held}, f, indent=1)
            f.write("\n")
        log(f"JSON written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
