# System calls (sourced by run.sh): natively each call we follow runs programs
# on its own tracepoint (syscalls:sys_enter_X/sys_exit_X), found through a
# tracefs that the tracer mounts nowhere; the raw sys_enter/sys_exit fallback
# (TCPABORT_DISABLE=syscall_tracepoints) records the same calls.
# shellcheck shell=bash

# Every call the syscall hooks record: connect (done and refused), accept and
# accept4, shutdown, getsockopt(SO_ERROR), close.
cat >"$WORK/calls.py" <<'EOF'
import ctypes, os, socket, sys

libc = ctypes.CDLL(None, use_errno=True)
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(8)
port = l.getsockname()[1]
c1 = socket.socket()
c1.connect(("127.0.0.1", port))
fd = libc.accept(l.fileno(), None, None)  # accept(2); Python's own is accept4(2)
if fd < 0:
    sys.exit("accept: errno %d" % ctypes.get_errno())
a1 = socket.socket(fileno=fd)
c2 = socket.create_connection(("127.0.0.1", port))
a2, _ = l.accept()
c1.shutdown(socket.SHUT_WR)
assert a1.recv(1) == b""
print("so_error", c1.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
free = socket.socket()
free.bind(("127.0.0.1", 0))
dead = free.getsockname()[1]
free.close()
r = socket.socket()
try:
    r.connect(("127.0.0.1", dead))
except ConnectionRefusedError:
    print("refused")
for s in (r, c1, c2, a1, a2, l):
    s.close()
print("done")
EOF

# The names of the BPF programs held by process $1.
progs_of() {
	for f in /proc/"$1"/fdinfo/*; do sed -n 's/^prog_id:\s*//p' "$f"; done 2>/dev/null |
		sort -un | while read -r id; do
		bpftool prog show id "$id" --json 2>/dev/null | jq -r .name
	done | sort | tr '\n' ' '
}

# syscalls_run NAME [TCPABORT_DISABLE value]: traces calls.py from its start.
syscalls_run() {
	fresh_ns
	out=$WORK/syscalls-$1.jsonl
	TCPABORT_DISABLE=${2:-} ip netns exec "$NS" "$TRACER" --json --all -o "$out" -- \
		python3 "$WORK/calls.py" >"$out.app" 2>"$out.err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q '^done' "$out.app" && [ ! -s "$out.err" ]; then
		ok "syscalls, $1: tracer and program exit 0, nothing on stderr"
	else
		not_ok "syscalls, $1: run" "rc $rc: $(cat "$out.app" "$out.err")"
	fi
	# call, result and argument of every syscall record, in the order the calls were made.
	jq -c -s '[.[] | select(.type=="event" and .kind=="syscall" and .call != "exit")] |
		sort_by(.ts_ns) | map([.call, .ret, .arg])' "$out" >"$out.calls"
}

tracefs_mounts() {
	grep -c ' tracefs ' /proc/mounts
}

before=$(tracefs_mounts)
syscalls_run native
check "syscalls, native: the start record names the syscalls' own tracepoints" "$out" \
	'.[0].paths | map(select(.capability=="system calls"))[0].path | test("own tracepoints")'
# shellcheck disable=SC2016
check "syscalls, native: every call recorded" "$out" \
	'[.[] | select(.type=="event" and .kind=="syscall") | .call] as $c |
	 ($c | map(select(.=="accept")) | length) == 2 and ($c | index("shutdown")) != null and
	 ($c | index("so_error")) != null and ($c | map(select(.=="connect")) | length) == 3 and
	 ($c | map(select(.=="close")) | length) == 6'
if [ "$(tracefs_mounts)" = "$before" ]; then
	ok "syscalls, native: no tracefs mount left behind ($before before and after)"
else
	not_ok "syscalls, native: mounts" "tracefs mounts: $before before, $(tracefs_mounts) after"
fi
syscalls_run raw syscall_tracepoints
check "syscalls, TCPABORT_DISABLE=syscall_tracepoints: the start record names raw sys_enter/sys_exit" \
	"$out" '.[0].paths | map(select(.capability=="system calls"))[0].path | test("raw sys_enter")'
if [ -s "$WORK/syscalls-raw.jsonl.calls" ] &&
	diff "$WORK/syscalls-native.jsonl.calls" "$WORK/syscalls-raw.jsonl.calls" >"$WORK/syscalls.diff"; then
	ok "syscalls: the same calls, results and arguments recorded either way"
else
	not_ok "syscalls: native and raw differ" "diff native raw" "$WORK/syscalls.diff"
fi

# --- which programs are loaded: one path or the other, never both -------------

has() { # has "LIST" NAME
	case " $1 " in *" $2 "*) return 0 ;; esac
	return 1
}

sleep 60 &
idle=$!
"$TRACER" -p "$idle" --json -o "$WORK/syscalls-idle.jsonl" 2>"$WORK/syscalls-progs.err" &
tp=$!
TCPABORT_DISABLE=syscall_tracepoints "$TRACER" -p "$idle" --json -o "$WORK/syscalls-idle-raw.jsonl" \
	2>>"$WORK/syscalls-progs.err" &
tp_raw=$!
wait_for "$WORK/syscalls-idle.jsonl" '"type":"start"' 20
wait_for "$WORK/syscalls-idle-raw.jsonl" '"type":"start"' 20
native=$(progs_of "$tp")
raw=$(progs_of "$tp_raw")
kill "$idle"
wait "$tp" "$tp_raw" "$idle" 2>/dev/null
if has "$native" on_connect && has "$native" on_sockopt_ret && has "$native" on_accept4_ret &&
	! has "$native" on_sys_enter && ! has "$native" on_sys_exit; then
	ok "syscalls, native: the syscalls' own programs are loaded, raw sys_enter/sys_exit are not"
else
	not_ok "syscalls, native: programs" "loaded: $native" "$WORK/syscalls-progs.err"
fi
if has "$raw" on_sys_enter && has "$raw" on_sys_exit && ! has "$raw" on_connect &&
	! has "$raw" on_close; then
	ok "syscalls, raw: sys_enter/sys_exit loaded, none of the syscalls' own programs"
else
	not_ok "syscalls, raw: programs" "loaded: $raw" "$WORK/syscalls-progs.err"
fi

# --- a tracefs mounted already is used as is; -- CMD shares our mount namespace --

# (Not under `ip netns exec`, which mounts a /sys of its own over the tracefs.)
out=$WORK/syscalls-mounted.jsonl
trace=
command -v strace >/dev/null && trace="strace -f -qq -e trace=fsopen -o $out.strace"
unshare -m --propagation private sh -c \
	"mount -t tracefs nodev /sys/kernel/tracing && exec $trace $TRACER --json -o $out -- true" \
	>"$out.app" 2>&1
check "syscalls, tracefs mounted: the syscalls' own tracepoints" "$out" \
	'.[0].paths | map(select(.capability=="system calls"))[0].path | test("own tracepoints")'
if [ -n "$trace" ]; then
	if ! grep -q fsopen "$out.strace"; then
		ok "syscalls, tracefs mounted: its ids read there, no tracefs of our own"
	else
		not_ok "syscalls, tracefs mounted" "fsopen called" "$out.strace"
	fi
fi
out=$WORK/syscalls-ns.jsonl
"$TRACER" --json -o "$out" -- readlink /proc/self/ns/mnt >"$out.app" 2>&1
if [ "$(cat "$out.app")" = "$(readlink /proc/self/ns/mnt)" ]; then
	ok "syscalls: -- CMD runs in the mount namespace the tracer was started in"
else
	not_ok "syscalls: -- CMD mount namespace" "$(cat "$out.app"), not $(readlink /proc/self/ns/mnt)"
fi
