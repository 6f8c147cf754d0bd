# Output on a busy service (sourced by run.sh): healthy connections counted,
# abnormal ones shown, the summary, --port, --errors-only, SIGUSR1, and live
# equals report for a verdict amended by a late timewait RST.
# shellcheck shell=bash

LOAD=tests/integration/outload.py

# --- 200 connections, 5 reset: the text output is about the 5 ------------------

fresh_ns
out=$WORK/churn.txt
run_traced "$NS" "$out" "" python3 "$LOAD" churn 200 5
nconn=$(grep -c '^connection ' "$out")
nlines=$(wc -l <"$out")
if [ "$TRACER_RC" = 0 ] && [ "$nconn" = 5 ] && [ "$nlines" -lt $((5 * 40 + 20)) ]; then
	ok "text: 200 connections, 5 reset: 5 shown, $nlines lines"
else
	not_ok "text: only abnormal connections shown" "rc $TRACER_RC, $nconn shown, $nlines lines" "$out"
fi
if grep -q '^# summary: 200 connections, 195 healthy, 5 abnormal' "$out" &&
	grep -q '^# summary:   orderly_close: 195' "$out" &&
	grep -q '^# summary:   reset_sent_linger_zero: 5, first +[0-9.]*s, last +[0-9.]*s; peers 127.0.0.1:[0-9]* (5)' "$out"; then
	ok "text: the summary counts causes, peers, first and last seen"
else
	not_ok "text: summary" "missing or wrong" "$out"
fi
if ! grep -q '^connection .*orderly' "$out" && [ "$(grep -c 'cause:    reset_sent_linger_zero' "$out")" = 5 ]; then
	ok "text: every shown connection is abnormal"
else
	not_ok "text: shown connections" "healthy ones shown" "$out"
fi

fresh_ns
out=$WORK/churn-all.txt
run_traced "$NS" "$out" "--all" python3 "$LOAD" churn 20 2
nconn=$(grep -c '^connection ' "$out")
if [ "$nconn" = 20 ]; then ok "text --all: every connection shown"; else not_ok "text --all" "$nconn of 20 shown" "$out"; fi

# --- --port: local or remote, text and JSON --------------------------------------

fresh_ns
out=$WORK/ports.jsonl
run_traced "$NS" "$out" "--json" python3 "$LOAD" two-ports
# Live JSON keeps every connection: 26 (13 per port).
check "json: every connection kept by default" "$out" \
	'map(select(.type=="connection")) | length == 26'
fresh_ns
out=$WORK/port.jsonl
run_traced "$NS" "$out" "--json --port 1,2" python3 "$LOAD" two-ports
check "json --port: no connection on an unused port" "$out" \
	'map(select(.type=="connection" or (.type=="event" and .kind != "process"))) | length == 0'
# The listener's port is known only once the program prints it: run it again, filtered.
fresh_ns
out=$WORK/port3.txt
ip netns exec "$NS" python3 "$LOAD" two-ports >"$out.app" 2>&1 </dev/null &
APP_PID=$!
wait_for "$out.app" paused 10
port=$(sed -n 's/^# ports \([0-9]*\) .*/\1/p' "$out.app")
"$TRACER" -p "$APP_PID" --json --port "$port" -o "$out" &
TRACER_PID=$!
wait_for "$out" '"type":"start"' 20
kill -USR1 "$APP_PID"
finish_traced
check "json --port: only that port's connections, each with its events" "$out" \
	"(map(select(.type==\"connection\")) | length == 13 and all(.dport == $port or .sport == $port)) and (map(select(.type==\"event\" and .kind != \"process\")) | length > 13) and (map(select(.type==\"summary\"))[0].connections == 13)"

# --- --errors-only: abnormal connections with their events; report agrees -------

fresh_ns
out=$WORK/errors.jsonl
run_traced "$NS" "$out" "--json --errors-only" python3 "$LOAD" churn 200 5
check "json --errors-only: the 5 resets, nothing healthy" "$out" \
	'map(select(.type=="connection")) | length == 5 and all(.cause == "reset_sent_linger_zero")'
check "json --errors-only: the summary still counts all 200" "$out" \
	'map(select(.type=="summary"))[0] | .connections == 200 and .healthy == 195'
if "$TRACER" report --json --errors-only "$out" >"$WORK/errors.report" &&
	diff <(jq -c 'select(.type=="connection")' "$out") \
		<(jq -c 'select(.type=="connection")' "$WORK/errors.report") >"$WORK/errors.diff"; then
	ok "report --errors-only on an --errors-only log: the same connection records"
else
	not_ok "report --errors-only" "differs" "$WORK/errors.diff"
fi

# --- SIGUSR1: a summary now, and tracing goes on ---------------------------------

fresh_ns
out=$WORK/usr1.jsonl
start_traced "$NS" "$out" "--json" python3 "$LOAD" slow 50
wait_for "$out.app" "first half done" 20
sleep 1.5
kill -USR1 "$TRACER_PID"
finish_traced
check "SIGUSR1: a summary at once, tracing goes on, a final one at the end" "$out" \
	'(map(select(.type=="summary")) | length == 2 and (.[0].final | not) and .[1].final and .[0].connections >= 50 and .[0].connections < 100 and .[1].connections == 100) and (to_entries | map(select(.value.type=="summary" and (.value.final|not)))[0].key) as $k | (.[$k+1:] | map(select(.type=="connection")) | length > 0) and .[-1].type == "end"'
if [ "$TRACER_RC" = 0 ]; then ok "SIGUSR1: the tracer carried on and exited 0"; else not_ok "SIGUSR1" "rc $TRACER_RC"; fi

# --- a late timewait RST: the verdict is amended, live and report alike ----------

fresh_ns
out=$WORK/late.jsonl
run_traced "$NS" "$out" "--json -p @SERVER@" python3 "$LOAD" late-rst
check "late RST: orderly_close, then an amending reset_sent_data_after_close" "$out" \
	'map(select(.type=="connection")) | (map(select(.amends)) | length == 1) and (map(select(.amends))[0].cause == "reset_sent_data_after_close") and (group_by(.cookie) | map(length) | max == 2) and (map(select(.pid == 0 or .cookie == 0)) | length == 0)'
if "$TRACER" report --json "$out" >"$WORK/late.report" &&
	diff <(jq -c 'select(.type=="connection" or .type=="summary")' "$out") \
		<(jq -c . "$WORK/late.report") >"$WORK/late.diff"; then
	ok "late RST: report gives exactly the live connection records and summary"
else
	not_ok "late RST: live equals report" "differs" "$WORK/late.diff"
fi

# --- usage errors of the output options ------------------------------------------

expect_exit "--errors-only without --json" 2 "goes with --json" "$TRACER" -p 1 --errors-only
# Live, --all --json asks for every history (a valid run); report cannot.
expect_exit "report: --all with --json" 2 "is for text" "$TRACER" report --json --all /dev/null
expect_exit "--all with --errors-only" 2 "contradict" "$TRACER" -p 1 --json --all --errors-only
expect_exit "bad --port" 2 "invalid port list" "$TRACER" -p 1 --port 80,0
expect_exit "report: bad --port" 2 "invalid port list" "$TRACER" report --port x /dev/null
