#!/bin/bash
# Runs inside a matrix guest (tests/kernels/init chroots into the host's root
# filesystem, read-only, and starts this):  guest.sh REPO BUILD
#
# Prints machine-readable lines on the console, each starting with "@@TA":
#   @@TA features <--features output, one line each>
#   @@TA case NAME pass|FAIL|degraded EXPECTED OBSERVED [# reason]
#   @@TA time NAME SECONDS
# run.sh turns them into the kernel x scenario table.
set -u
repo=$1
build=$2
cd "$repo" || exit 1
trace=$repo/$build/tcpabort-trace
repro=$repo/$build/tcpabort-repro
export TRACER=$trace

now() { cut -d' ' -f1 /proc/uptime; }

echo "@@TA kernel $(uname -r)"
"$trace" --features 2>&1 | sed 's/^/@@TA features /'

# The connection record of a scenario's JSON, as "cause errno complete missing".
verdicts() {
	python3 - "$@" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    for line in open(path):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("type") == "connection":
            print("%s\t%s\t%s\t%s" % (r["cause"], r["errno"] or "-", r["complete"],
                                      r["missing"] or ""))
EOF
}

# The two classic cases, as a user runs them: a paused client, `-p PID`, text.
classic() {
	local name=$1 want=$2 ns=ta-k-$1 out=/tmp/classic-$1 t0
	. "$repo/scripts/lib.sh"
	ip netns add "$ns" && ip -n "$ns" link set lo up
	t0=$(now)
	run_traced "$ns" "$out.jsonl" "--json" "$repro" "$name" --pause
	ip netns del "$ns"
	echo "@@TA time classic:$name $(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')"
	local got
	got=$(verdicts "$out.jsonl" | awk -F'\t' '$1 != "orderly_close" { print $1 "/" $2 }' |
		sort -u | tr '\n' ' ')
	if [ "$APP_RC" = 0 ] && [ "$TRACER_RC" = 0 ] && echo "$got" | grep -qw "$want"; then
		echo "@@TA case classic:$name pass $want $got"
	else
		echo "@@TA case classic:$name FAIL $want ${got:-(none)} # app rc $APP_RC, tracer rc $TRACER_RC"
		sed 's/^/@@TA log /' "$out.jsonl.err" "$out.jsonl" 2>/dev/null | head -n 40
	fi
}

classic fin-then-rst reset_after_peer_fin/EPIPE
classic peer-crash peer_reset/ECONNRESET

# The selftest: every scenario, expected against observed.  A failure whose
# records say that this kernel lacks the evidence (cause unknown, `missing`
# naming the kernel) is reported as degraded with that reason; any other
# miss, a wrong cause above all, is a failure.
t0=$(now)
"$trace" --selftest --keep >/tmp/selftest.out 2>/tmp/selftest.err
rc=$?
echo "@@TA time selftest $(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') rc=$rc"
dir=$(sed -n 's/.*output and the tracer.s JSON are in \([^ ]*\)$/\1/p' /tmp/selftest.err)
sed -n '2,$p' /tmp/selftest.out | grep -v '^selftest:' | while read -r name cause err result seen; do
	case $result in
	pass) echo "@@TA case $name pass $cause/$err $seen" ;;
	FAIL)
		wrong=$(verdicts "$dir/$name.jsonl" 2>/dev/null |
			awk -F'\t' '$1 != "unknown" && $1 != "orderly_close" && $1 != "open"')
		missing=$(verdicts "$dir/$name.jsonl" 2>/dev/null |
			awk -F'\t' '$1 == "unknown" && $4 ~ /kernel/ { print $4; exit }')
		if [ -z "$wrong" ] && [ -n "$missing" ]; then
			echo "@@TA case $name degraded $cause/$err $seen # $missing"
		else
			echo "@@TA case $name FAIL $cause/$err $seen"
			sed 's/^/@@TA log /' "$dir/$name.app" 2>/dev/null | head -n 30
			verdicts "$dir/$name.jsonl" 2>/dev/null | sed 's/^/@@TA log verdict /'
		fi
		;;
	esac
done
grep -v '^$' /tmp/selftest.err | head -n 20 | sed 's/^/@@TA stderr /'
