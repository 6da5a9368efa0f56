#!/usr/bin/env bash
# A backlog several times one run's input bound, compacted in bounded runs as the compactor
# function works through one (oldest hours first): runs, MB/s, the slowest run, the largest spill
# and peak RSS — once with sorted runs spilled plain (the baseline) and once ZSTD-compressed (the
# default), on copies of the same data, in this one run.
#   FILES (default 200) writers × 6 hours of staging files, ROWS (default 40000) rows per writer,
#   MEMORY_MB (default 256, the function's) the merge budget, MAX_INPUT_MB (default 100) the bound,
#   LOGLAKE_BENCH_WORKERS (default 1: a 1536 MB Lambda has about one vCPU) hours merged at once.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export LOGLAKE_BENCH_WORKERS=${LOGLAKE_BENCH_WORKERS:-1}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/backlog
rm -rf "$work"
mkdir -p "$work"
cargo bench --quiet -p loglake --bench compact -- generate "$work/lake" "${FILES:-200}" "${ROWS:-40000}"
du -sh "$work/lake/staging"
bin=$(cargo bench --no-run -p loglake --bench compact 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
for spill in plain zstd; do
  rm -rf "$work/$spill"
  cp -r "$work/lake" "$work/$spill"
  echo "== spill $spill"
  LOGLAKE_BENCH_SPILL=$spill /usr/bin/time -f "%M" -o "$work/$spill.rss" \
    "$bin" backlog "$work/$spill" "${MEMORY_MB:-256}" "${MAX_INPUT_MB:-100}"
  echo "peak RSS ($spill spill): $(( $(cat "$work/$spill.rss") / 1024 )) MiB (workers: $LOGLAKE_BENCH_WORKERS)"
done
