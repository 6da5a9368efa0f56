#!/usr/bin/env bash
# The cost of late data in a large compacted hour: ROWS late records (and ten redelivered) land in
# an hour already compacted, then one run merges them — once with the hour merged whole (deltas
# off: the baseline) and once as a delta file (deltas up to 10%, the default), on copies of the
# same lake, in this one run. Prints MB read and written, row groups searched, seconds.
#   FILES (default 200) writers × 6 hours, ROWS_PER_FILE (default 40000), LATE (default 100) late
#   records, MEMORY_MB (default 256, the function's) the merge budget.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export LOGLAKE_BENCH_WORKERS=${LOGLAKE_BENCH_WORKERS:-1}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/late
rm -rf "$work"
mkdir -p "$work"
rows=${ROWS_PER_FILE:-40000}
cargo bench --quiet -p loglake --bench compact -- generate "$work/lake" "${FILES:-200}" "$rows"
bin=$(cargo bench --no-run -p loglake --bench compact 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
"$bin" compact "$work/lake" "${MEMORY_MB:-256}" | grep -v RESULT
du -sh "$work/lake/logs/dt=2026-11-20/hour=11"
"$bin" late-add "$work/lake" "${LATE:-100}" "$rows"
for percent in 0 10; do
  rm -rf "$work/$percent"
  cp -r "$work/lake" "$work/$percent"
  "$bin" late "$work/$percent" "${MEMORY_MB:-256}" "$percent"
done
