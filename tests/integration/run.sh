#!/bin/bash
# Integration tests: the real tracer, loaded into this kernel, against real
# sockets on loopback, each test in a network namespace it creates and removes.
# Needs root.  Outside CI a non-root run skips (loudly); under CI it fails.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh

REPRO=${BUILD:-build}/tcpabort-repro
PY=tests/integration/pyclient.py
WORK=$(mktemp -d /tmp/tcpabort-it.XXXXXX)
NS=ta-it-$$
passed=0
failed=0

cleanup() {
	netns_down "$NS"
	rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "integration: must run as root under CI" >&2
		echo "integration: 0 passed, 1 failed"
		exit 1
	fi
	echo "integration: SKIPPED, not root (run: sudo make check)" >&2
	exit 0
fi
for tool in jq ip python3; do
	command -v "$tool" >/dev/null || { echo "integration: $tool missing (make deps)" >&2; exit 1; }
done

ok() {
	passed=$((passed + 1))
	echo "ok   - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "FAIL - $1: $2"
	[ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/       | /' "$3" | head -n 40
}

# check NAME FILE JQ-EXPR: passes when the jq expression is true for the whole output.
check() {
	if jq -e -s "$3" "$2" >/dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1" "expected: $3" "$2"
	fi
}

fresh_ns() {
	netns_down "$NS"
	netns_up "$NS"
}

# The connection records of the traced pid (the first -p).
conn_of_traced='(map(select(.type=="start"))[0].pids[0]) as $p | map(select(.type=="connection" and .pid==$p))'

# --- the two classic cases, repro and a Python client -------------------------

classic() { # name cmd... ; expects cause/errno passed via CAUSE/ERRNO
	fresh_ns
	out=$WORK/$1.jsonl
	run_traced "$NS" "$out" --json "${@:2}"
	[ "$TRACER_RC" = 0 ] || { not_ok "$1: tracer exit" "rc $TRACER_RC" "$out.app"; return; }
	[ "$APP_RC" = 0 ] || { not_ok "$1: program exit" "rc $APP_RC" "$out.app"; return; }
	check "$1: verdict $CAUSE/$ERRNO" "$out" \
		"$conn_of_traced | length == 1 and .[0].cause == \"$CAUSE\" and .[0].errno == \"$ERRNO\" and .[0].complete"
	check "$1: the local sender of the RST is named" "$out" \
		"$conn_of_traced | .[0].evidence | map(.kind) | index(\"peer_rst\") != null"
	# The server child is another process: none of its sockets may appear.
	check "$1: only the traced process's sockets" "$out" \
		"(map(select(.type==\"start\"))[0].pids) as \$p | map(select(.type==\"event\" or .type==\"connection\") | .pid) | all(. as \$x | \$p | index(\$x) != null)"
	check "$1: events run by other tasks (softirq) on the traced socket are kept" "$out" \
		'map(select(.type=="event" and .other_task)) | length > 0'
	check "$1: start first, end last, nothing lost" "$out" \
		'.[0].type == "start" and .[-1].type == "end" and .[-1].lost == 0'
}

CAUSE=reset_after_peer_fin ERRNO=EPIPE classic repro-fin-then-rst "$REPRO" fin-then-rst --pause
CAUSE=peer_reset ERRNO=ECONNRESET classic repro-peer-crash "$REPRO" peer-crash --pause
CAUSE=reset_after_peer_fin ERRNO=EPIPE classic python-fin-then-rst python3 "$PY" fin-then-rst
CAUSE=peer_reset ERRNO=ECONNRESET classic python-peer-crash python3 "$PY" peer-crash

fresh_ns
out=$WORK/orderly.jsonl
run_traced "$NS" "$out" --json python3 "$PY" orderly
check "python-orderly: verdict orderly_close" "$out" \
	"$conn_of_traced | length == 1 and .[0].cause == \"orderly_close\" and .[0].errno == null"

# --- both ends traced ----------------------------------------------------------

fresh_ns
out=$WORK/both.jsonl
run_traced "$NS" "$out" "--json -p @SERVER@" "$REPRO" peer-crash --pause
check "both ends traced: client peer_reset, server's RST recorded" "$out" \
	'map(select(.type=="connection")) | length == 2 and (map(.cause) | index("peer_reset") != null) and (map(select(.cause != "peer_reset"))[0].evidence | map(.kind) | index("rst_sent") != null)'

# --- other processes' sockets never appear, even busy ones --------------------

fresh_ns
out=$WORK/noise.jsonl
ip netns exec "$NS" python3 -c '
import socket, threading, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
port = l.getsockname()[1]
def serve():
    while True:
        c, _ = l.accept(); c.recv(10); c.close()
threading.Thread(target=serve, daemon=True).start()
end = time.time() + 4
while time.time() < end:
    s = socket.create_connection(("127.0.0.1", port)); s.send(b"x"); s.close()
    time.sleep(0.005)
' &
noise=$!
run_traced "$NS" "$out" --json "$REPRO" fin-then-rst --pause
check "noise: an untraced busy process leaves no trace" "$out" \
	"(map(select(.type==\"start\"))[0].pids[0]) as \$p | map(select(.type==\"event\" or .type==\"connection\") | select(.pid != \$p)) | length == 0"
kill "$noise" 2>/dev/null
wait "$noise" 2>/dev/null

# --- a listener created after the attach: its children are adopted in softirq --

fresh_ns
out=$WORK/listener.jsonl
# --all: the healthy child's history itself, not the kernel's summary of it.
run_traced "$NS" "$out" "--json --all" python3 "$PY" serve-after-pause
# The child is cloned from the listener, so its first move reads LISTEN -> SYN_RECV.
check "listener: child adopted at its birth (LISTEN -> SYN_RECV), in softirq" "$out" \
	'(map(select(.type=="start"))[0].pids[0]) as $p | [map(select(.type=="event" and .pid==$p)) | group_by(.cookie)[] | .[0] | select(.kind=="state" and .old=="LISTEN" and .new=="SYN_RECV" and .other_task)] | length == 1'
# (The connecting client is a forked child, followed too: look at the traced pid's records.)
check "listener: the child gets a verdict, the listener itself does not" "$out" \
	"$conn_of_traced | length == 1 and .[0].cause == \"orderly_close\" and .[0].sport != 0"

# --- ss -K on a blocked recv: a local abort, and who asked for it ---------------

fresh_ns
out=$WORK/ssk.jsonl
start_traced "$NS" "$out" --json python3 "$PY" block-recv
wait_for "$out.app" "blocking in recv" 10
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$out.app")
ip netns exec "$NS" ss -K dst 127.0.0.1 dport = "$port" >/dev/null 2>&1
finish_traced
check "ss -K: blocked recv gets local_abort/ECONNABORTED, naming ss" "$out" \
	"$conn_of_traced | map(select(.dport == $port)) | length == 1 and .[0].cause == \"local_abort\" and .[0].errno == \"ECONNABORTED\" and (.[0].explanation | test(\"\\\\(ss\\\\)\"))"

# --- a ring buffer too small: drops are counted and marked, never silent --------

fresh_ns
out=$WORK/lost.jsonl
run_traced "$NS" "$out" "--json -b 4" python3 "$PY" churn
check "lost events: counted in the end record" "$out" '.[-1].type == "end" and .[-1].lost > 0'
check "lost events: affected verdicts are incomplete and say why" "$out" \
	'map(select(.type=="connection" and .complete == false and (.missing | test("lost")))) | length > 0'
check "lost events: verdicts that lost nothing stay complete" "$out" \
	'map(select(.type=="connection" and .complete)) | length > 0'

# --- a listener that predates the attach: joined at attach, its children adopted --

fresh_ns
out=$WORK/oldlistener.jsonl
run_traced "$NS" "$out" --json python3 "$PY" old-listener-reset
check "old listener: joined at attach, so the child reset in its accept queue is seen whole" "$out" \
	"$conn_of_traced | length == 1 and .[0].cause == \"peer_reset\" and .[0].errno == \"ECONNRESET\" and .[0].complete and (.[0].evidence | map(.kind) | index(\"peer_rst\") != null) and .[0].sport != 0"

# --- SIGINT flushes connections still open -------------------------------------

fresh_ns
out=$WORK/sigint.jsonl
start_traced "$NS" "$out" --json python3 "$PY" hold
wait_for "$out.app" holding 10
kill -INT "$TRACER_PID"
wait "$TRACER_PID"
rc=$?
kill "$APP_PID" 2>/dev/null
wait "$APP_PID" 2>/dev/null
if [ "$rc" = 0 ]; then ok "sigint: exit 0"; else not_ok "sigint: exit 0" "rc $rc"; fi
check "sigint: the open connection is reported, marked open, then the end record" "$out" \
	'(map(select(.type=="connection" and .ended == false)) | length >= 1) and .[-1].type == "end"'

# --- report: the same verdicts from the saved output -----------------------------

if "$TRACER" report --json "$WORK/repro-fin-then-rst.jsonl" >"$WORK/report.jsonl" &&
	diff <(jq -c 'select(.type=="connection" or .type=="summary")' "$WORK/repro-fin-then-rst.jsonl") \
		<(jq -c . "$WORK/report.jsonl") >"$WORK/report.diff"; then
	ok "report: a saved log gives the live run's connection records and summary, byte for byte"
else
	not_ok "report: same verdicts as live" "differs" "$WORK/report.diff"
fi

# --- every cause through the real tracer: the selftest --------------------------

if "$TRACER" --selftest >"$WORK/selftest.txt" 2>&1; then
	ok "selftest: every scenario, $(tail -n 1 "$WORK/selftest.txt" | sed "s/^selftest: //")"
else
	not_ok "selftest" "a scenario got the wrong verdict" "$WORK/selftest.txt"
fi
# Every cause a scenario produces is documented where users look.
for cause in $("$REPRO" --list | awk '{print $2}' | sort -u) orderly_close unknown; do
	if ! "$TRACER" --help | grep -q "$cause" || ! grep -q "\`$cause\`" docs/causes.md; then
		not_ok "docs: $cause" "missing from --help or docs/causes.md"
		continue
	fi
	passed=$((passed + 1))
done
echo "ok   - docs: every cause in --help and docs/causes.md"

# --- bad input: one line on stderr, a distinct exit code ------------------------

expect_exit() { # name want_rc stderr_pattern cmd...
	name=$1 want=$2 pat=$3
	shift 3
	"$@" >"$WORK/stdout" 2>"$WORK/stderr" </dev/null
	rc=$?
	lines=$(wc -l <"$WORK/stderr")
	if [ "$rc" = "$want" ] && [ "$lines" = 1 ] && grep -q "$pat" "$WORK/stderr"; then
		ok "$name: exit $want, one line"
	else
		not_ok "$name" "exit $rc (want $want), $lines stderr lines" "$WORK/stderr"
	fi
}

# A PID that cannot exist: above any pid_max this kernel allows.
expect_exit "missing pid" 3 "no such process" "$TRACER" -p 4194304
expect_exit "bad pid" 2 "invalid PID" "$TRACER" -p 12abc
expect_exit "no pid" 2 "nothing to trace" "$TRACER"
expect_exit "unknown option" 2 "unknown option" "$TRACER" -p 1 --frobnicate
expect_exit "not root" 4 "permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$TRACER" -p 1
# A kernel without BTF, as the tool sees it: /sys/kernel/btf hidden in a private mount namespace.
expect_exit "no BTF" 5 "no BTF" unshare -m sh -c \
	"mount -t tmpfs none /sys/kernel/btf && exec $TRACER -p 1"
expect_exit "unwritable output" 1 "cannot write" "$TRACER" -p 1 -o /nonexistent/dir/out
expect_exit "bad buffer size" 2 "invalid buffer size" "$TRACER" -p 1 -b 3000
expect_exit "report: missing file" 6 "cannot read" "$TRACER" report /nonexistent.jsonl
echo '{"type":"event","kind":"state"}' >"$WORK/bad.jsonl"
expect_exit "report: not our JSON" 7 "line 1" "$TRACER" report "$WORK/bad.jsonl"
expect_exit "report: no file" 2 "give the files" "$TRACER" report
expect_exit "selftest with -p" 2 "no -p" "$TRACER" --selftest -p 1
expect_exit "--keep alone" 2 "goes with --selftest" "$TRACER" -p 1 --keep

# A thread ID names its process: traced as a whole, with a one-line note.
# (Wait for the thread: under load python can take longer than any fixed sleep to start it.)
python3 -c 'import threading, time; t = threading.Thread(target=time.sleep, args=(3,)); t.start(); t.join()' &
py=$!
tid=
for _ in $(seq 100); do
	tid=$(ls /proc/$py/task 2>/dev/null | grep -v "^$py\$" | head -n 1)
	[ -n "$tid" ] && break
	sleep 0.05
done
expect_exit "thread id" 0 "thread of process $py" "$TRACER" -p "$tid"
wait "$py"

# --- more suites: tests/integration/t-*.sh, sourced in name order --------------
# Each uses ok/not_ok/check/fresh_ns/expect_exit and $WORK, $NS from here.
for suite in tests/integration/t-*.sh; do
	[ -f "$suite" ] || continue
	# shellcheck disable=SC1090
	. "$suite"
done

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
