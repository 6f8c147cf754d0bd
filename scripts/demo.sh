#!/bin/sh
# The quick-start demo: each classic failure, reproduced in a private network
# namespace, with what the application saw beside what tcpabort-trace says.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: tracing needs root: sudo make demo" >&2
	exit 4
fi
ns=ta-demo-$$
work=$(mktemp -d /tmp/tcpabort-demo.XXXXXX)
trap 'netns_down "$ns"; rm -rf "$work"' EXIT
netns_up "$ns"

status=0
for scenario in fin-then-rst peer-crash; do
	echo
	echo "=================================================================="
	echo " tcpabort-repro $scenario"
	echo "=================================================================="
	run_traced "$ns" "$work/$scenario.txt" "" build/tcpabort-repro "$scenario" --pause
	echo "--- what the application saw:"
	grep -v '^# paused\|^# resumed' "$work/$scenario.txt.app"
	echo "--- what tcpabort-trace -p <client pid> printed:"
	cat "$work/$scenario.txt"
	[ "$APP_RC" = 0 ] && [ "$TRACER_RC" = 0 ] || status=1
done
exit "$status"
