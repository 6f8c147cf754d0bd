# Under load (sourced by run.sh): connections held open while thousands churn
# through stay traced to their end, and a socket table too small says so.
# build/churn holds both ends in one process; its held connections end in an
# RST each, so one the tracer lost track of would show in its verdict.
# shellcheck shell=bash

CHURN=${BUILD:-build}/churn

# churn's own count of what it did: KEY from its last line.
churn_count() {
	sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

# --- 2,000 held, 20,000 churned: every connection explained, none lost --------

fresh_ns
out=$WORK/load.jsonl
# --max-sockets 8192: room for the 4,001 live sockets, not for the 20,000 closed
# ones that a timewait sock carries on: those must leave the table first.
run_traced "$NS" "$out" "--json --max-sockets 8192" "$CHURN" -P -H 2000 -n 20000 -r 5
conns=$(churn_count connections "$out.app")
resets=$(churn_count resets "$out.app")
held=$(churn_count held_reset "$out.app")
if [ "$TRACER_RC" = 0 ] && [ "${held:-0}" = 2000 ] && [ "${conns:-0}" = 20000 ]; then
	ok "load: churn held 2000 and churned 20000 under the tracer"
else
	not_ok "load: churn run" "tracer rc $TRACER_RC, churn: $(tail -n 1 "$out.app")" "$out.app"
fi
# Both ends of each connection are the traced process's: one record each.
check "load: every held and churned connection has its right verdict, none lost" "$out" \
	"(map(select(.type==\"end\"))[0] | .lost == 0 and .untracked == 0) and
	 ([.[] | select(.type==\"connection\")] as \$c |
	  (\$c | map(select(.cause == \"reset_sent_linger_zero\")) | length) == ${resets:-0} + ${held:-0} and
	  (\$c | map(select(.cause == \"peer_reset\")) | length) == ${resets:-0} + ${held:-0} and
	  (\$c | map(select(.cause == \"orderly_close\")) | length) == 2 * (${conns:-0} - ${resets:-0}) and
	  (\$c | all(.complete)))"
check "load: healthy connections come as one kernel summary each, abnormal ones in full" "$out" \
	"[.[] | select(.type==\"connection\" and .cause == \"orderly_close\")] | all(.events == 1)"

# --- a socket table too small: the sockets that did not fit are counted ------

fresh_ns
out=$WORK/load-small.jsonl
# -- CMD: the tracer starts churn itself, and its stderr is ours to read.
ip netns exec "$NS" "$TRACER" --json --max-sockets 1024 -o "$out" -- \
	"$CHURN" -H 2000 -n 2000 -r 5 >"$out.app" 2>"$out.err"
rc=$?
check "load: --max-sockets 1024 with 4000 held sockets: the rest counted as untracked" "$out" \
	'map(select(.type=="end"))[0].untracked > 0'
if [ "$rc" = 0 ] && grep -q 'could not be traced: the socket table was full (see --max-sockets)' "$out.err"; then
	ok "load: a full socket table is a warning on stderr, exit 0"
else
	not_ok "load: full table warning" "rc $rc, no warning" "$out.err"
fi
check "load: what was traced with a full table still gets right verdicts" "$out" \
	'[.[] | select(.type=="connection")] | length > 0 and all(.cause == "reset_sent_linger_zero" or .cause == "peer_reset" or .cause == "orderly_close")'
