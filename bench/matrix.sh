#!/usr/bin/env bash
# Runs the benchmark matrix of docs/performance.md: 10k and 100k files,
# 50 / 500 / 5,000 unique tags, with and without 20 ms of registry latency,
# and 10k vs 100k files around the same 5,000 image files (peak RSS must not
# grow with files digestbot does not read). Results go to OUT (one JSON and
# one text table per configuration).
#
#   bench/matrix.sh [OUT]          # default OUT: a new temporary folder
#   RUNS=5 bench/matrix.sh         # more runs per figure (default 3)
#   BIN=/path/to/digestbot bench/matrix.sh   # time another build
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d -t digestbot-bench-results.XXXXXX)}
echo "results in $out" >&2
runs=${RUNS:-3}
mkdir -p "$out"
go build -o "$out/bench" ./bench
bin=${BIN:-}
if [ -z "$bin" ]; then
  bin="$out/digestbot"
  go build -trimpath -o "$bin" ./cmd/digestbot
fi

run() { # name, then bench flags
  local name=$1
  shift
  echo "== $name: $*" >&2
  "$out/bench" -bin "$bin" -runs "$runs" -json "$out/$name.json" "$@" | tee "$out/$name.txt"
}

run 10k-500i-50t    -files 10000  -imagefiles 500  -tags 50
run 10k-500i-500t   -files 10000  -imagefiles 500  -tags 500
run 100k-5000i-50t   -files 100000 -imagefiles 5000 -tags 50
run 100k-5000i-500t  -files 100000 -imagefiles 5000 -tags 500
run 100k-5000i-5000t -files 100000 -imagefiles 5000 -tags 5000
run 10k-5000i-500t  -files 10000  -imagefiles 5000 -tags 500
run lat-10k-500i-500t   -files 10000  -imagefiles 500  -tags 500  -latency 20ms -commands check,fix
run lat-100k-5000i-50t   -files 100000 -imagefiles 5000 -tags 50   -latency 20ms -commands check,fix
run lat-100k-5000i-500t  -files 100000 -imagefiles 5000 -tags 500  -latency 20ms -commands check,fix
run lat-100k-5000i-5000t -files 100000 -imagefiles 5000 -tags 5000 -latency 20ms -commands check,fix
