# Shared by scripts/demo.sh and tests/integration/run.sh (sourced, POSIX sh).
#
# run_traced NETNS OUT "TRACER ARGS" CMD...
#   Runs CMD (which must pause until SIGUSR1 and print "paused" on stderr)
#   inside network namespace NETNS, attaches the tracer to it with
#   `-p PID TRACER ARGS -o OUT`, resumes it, and waits for both.
#   CMD's output goes to OUT.app.  Sets APP_RC and TRACER_RC.
#   In TRACER ARGS, @SERVER@ stands for the pid CMD prints as "server pid N".

TRACER=${TRACER:-build/tcpabort-trace}

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

run_traced() {
	ns=$1 out=$2 targs=$3
	shift 3
	: >"$out"
	# `ip netns exec` execs CMD in place: $! is CMD's pid.
	ip netns exec "$ns" "$@" >"$out.app" 2>&1 </dev/null &
	app=$!
	if ! wait_for "$out.app" paused 10; then
		echo "run_traced: $* did not pause" >&2
		kill "$app" 2>/dev/null
		APP_RC=99 TRACER_RC=99
		return 1
	fi
	server=$(sed -n 's/.*server pid \([0-9]*\).*/\1/p' "$out.app" | head -n 1)
	targs=$(echo "$targs" | sed "s/@SERVER@/$server/g")
	# shellcheck disable=SC2086
	"$TRACER" -p "$app" $targs -o "$out" &
	tracer=$!
	# The tracer writes its start record once everything is attached.
	if ! wait_for "$out" 'tcpabort-trace\|"type":"start"' 20; then
		echo "run_traced: the tracer did not start" >&2
		kill "$app" "$tracer" 2>/dev/null
		wait "$tracer"
		APP_RC=99 TRACER_RC=$?
		return 1
	fi
	kill -USR1 "$app"
	wait "$app"
	APP_RC=$?
	wait "$tracer"
	TRACER_RC=$?
	return 0
}
