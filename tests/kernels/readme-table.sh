#!/bin/bash
# Copies the last `make check-kernels` table (CACHE/last-table.md) into the
# README's and docs/kernels.md's kernel-matrix blocks, with the date it ran:
# the support table is generated, never typed.
set -euo pipefail
cd "$(dirname "$0")/../.."
table=${CACHE:-/var/cache/tcpabort-kernels}/last-table.md
[ -s "$table" ] || {
	echo "readme-table: $table is missing: run make check-kernels first" >&2
	exit 2
}
for f in README.md docs/kernels.md; do
	python3 - "$f" "$table" "$(date -u -r "$table" +%Y-%m-%d)" <<'PY'
import sys
path, table, day = sys.argv[1:]
text = open(path).read()
begin, end = "<!-- kernel-matrix:begin -->", "<!-- kernel-matrix:end -->"
if begin not in text:
    sys.exit(0)
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
body = "\n`make check-kernels`, %s (Debian's kernel packages under qemu; this build's --selftest\n" \
       "and the two classic cases inside each):\n\n%s\n" % (day, open(table).read().strip())
open(path, "w").write(head + begin + body + end + tail)
PY
done
