#!/usr/bin/env bash
# Runs the benchmark matrix of the README's Performance section: 100k and
# 10k files, a realistic tree (16 files per folder) and a directory-heavy
# one (1 per folder), 50 / 500 / 5,000 unique tags, with and without 20 ms
# of registry latency, and 10k vs 100k files around the same 5,000 image
# files (peak RSS must not grow with files digestbot does not read).
# Results go to OUT (one JSON and one text table per configuration).
#
#   bench/matrix.sh [OUT]          # default OUT: a new temporary folder
#   RUNS=5 bench/matrix.sh         # more runs per figure (default 3)
#   BIN=/path/to/digestbot bench/matrix.sh   # time another build
#   DIGESTBOT_E2E_REGISTRY=127.0.0.1:PORT REGISTRY_PID=PID bench/matrix.sh
#                                  # against a real registry, counting its CPU
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
  "$out/bench" -bin "$bin" -runs "$runs" ${REGISTRY_PID:+-registry-pid "$REGISTRY_PID"} -json "$out/$name.json" "$@" | tee "$out/$name.txt"
}

big="-files 100000 -imagefiles 5000"
small="-files 10000 -imagefiles 500"
run 100k-16pf-50t      $big -tags 50   -perfolder 16 -commands scan,check
run 100k-16pf-500t     $big -tags 500  -perfolder 16 -commands scan,check,fix
run 100k-16pf-5000t    $big -tags 5000 -perfolder 16 -commands scan,check
run 100k-16pf-500t-lat $big -tags 500  -perfolder 16 -commands scan,check -latency 20ms
run 100k-16pf-5000t-lat $big -tags 5000 -perfolder 16 -commands scan,check -latency 20ms
run 100k-1pf-50t       $big -tags 50   -perfolder 1  -commands scan,check
run 100k-1pf-500t      $big -tags 500  -perfolder 1  -commands scan,check,fix
run 100k-1pf-5000t     $big -tags 5000 -perfolder 1  -commands scan,check
run 10k-16pf-50t       $small -tags 50  -perfolder 16 -commands scan,check
run 10k-16pf-500t      $small -tags 500 -perfolder 16 -commands scan,check
run 10k-1pf-500t       $small -tags 500 -perfolder 1  -commands scan,check
run 10k-5000i-16pf-500t -files 10000 -imagefiles 5000 -tags 500 -perfolder 16 -commands scan,check
