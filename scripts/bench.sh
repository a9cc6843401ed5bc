#!/usr/bin/env bash
# bench.sh — what `make bench` runs: start a local 3-agent cluster as
# separate processes, measure it with `custodes bench`, write the report
# into docs/BENCHMARKS.md, and always stop the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CUSTODES_BIN:-bin/custodes}
DURATION=${BENCH_DURATION:-5s}
dir=$(mktemp -d -t custodes-bench-XXXXXX)
trap 'scripts/cluster.sh --dir "$dir/cluster" stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

go build -o "$BIN" ./cmd/custodes
# Start from a quiet disk: dirty pages left by earlier work (a test run, a
# build) are flushed by the same device the agents fsync on.
sync
CUSTODES_BIN=$BIN scripts/cluster.sh --dir "$dir/cluster" start 3
report="$dir/report.md"
CUSTODES_BIN=$BIN "$BIN" bench --cluster-dir "$dir/cluster" --duration "$DURATION" --out "$report"

out=docs/BENCHMARKS.md
{
  sed -n '1,/^<!-- runs -->$/p' "$out"
  echo
  cat "$report"
} > "$dir/new.md"
mv "$dir/new.md" "$out"
echo "wrote $out"
