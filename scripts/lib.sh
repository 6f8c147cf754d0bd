# Shared by scripts/demo.sh and tests/integration/run.sh (sourced, POSIX sh).
#
# run_traced NETNS OUT "TRACER ARGS" CMD...
#   Runs CMD (which must pause until SIGUSR1 and print "paused" on stderr)
#   inside network namespace NETNS, attaches the tracer to it with
#   `-p PID TRACER ARGS -o OUT`, resumes it, and waits for both.
#   CMD's output goes to OUT.app.  Sets APP_RC and TRACER_RC.
#   In TRACER ARGS, @SERVER@ stands for the pid CMD prints as "server pid N".

TRACER=${TRACER:-${BUILD:-build}/tcpabort-trace}

# wait_for FILE PATTERN SECONDS
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt $(($3 * 20)) ] && return 1
		sleep 0.05
	done
	return 0
}

netns_up() {
	ip netns add "$1"
	ip -n "$1" link set lo up
}

netns_down() {
	ip netns del "$1" 2>/dev/null || true
}

# start_traced NETNS OUT "TRACER ARGS" CMD...: run_traced's first half.
# Returns once CMD has been resumed under the tracer; sets APP_PID and TRACER_PID.
start_traced() {
	local ns=$1 out=$2 targs=$3 server
	shift 3
	: >"$out"
	# `ip netns exec` execs CMD in place: $! is CMD's pid.
	ip netns exec "$ns" "$@" >"$out.app" 2>&1 </dev/null &
	APP_PID=$!
	if ! wait_for "$out.app" paused 10; then
		echo "start_traced: $* did not pause" >&2
		kill "$APP_PID" 2>/dev/null
		TRACER_PID=
		return 1
	fi
	server=$(sed -n 's/.*server pid \([0-9]*\).*/\1/p' "$out.app" | head -n 1)
	targs=$(echo "$targs" | sed "s/@SERVER@/$server/g")
	# shellcheck disable=SC2086
	"$TRACER" -p "$APP_PID" $targs -o "$out" &
	TRACER_PID=$!
	# The tracer writes its start record once everything is attached.
	if ! wait_for "$out" 'tcpabort-trace\|"type":"start"' 20; then
		echo "start_traced: the tracer did not start" >&2
		kill "$APP_PID" "$TRACER_PID" 2>/dev/null
		return 1
	fi
	kill -USR1 "$APP_PID"
}

# finish_traced: wait for both; sets APP_RC and TRACER_RC.
finish_traced() {
	wait "$APP_PID"
	APP_RC=$?
	wait "$TRACER_PID"
	TRACER_RC=$?
}

run_traced() {
	if ! start_traced "$@"; then
		[ -n "$TRACER_PID" ] && wait "$TRACER_PID"
		APP_RC=99 TRACER_RC=99
		return 1
	fi
	finish_traced
}
