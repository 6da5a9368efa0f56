#!/usr/bin/env bash
# Hours larger than one unit: the same staging compacted once with each hour merged whole (the
# baseline) and once split into units of UNIT_MB by event-time ranges, merged one after another
# in one process (as the unit function merges each of them), on copies of the same data, in this
# one run: units, bytes read against the input, MB/s, the largest spill, peak RSS.
#   FILES (default 600) deliveries over 6 hours, each ROWS (default 12000) events of 20 log groups
#   within its own minutes (as Kinesis and Firehose batches hold them); MEMORY_MB (default 256) the
#   merge budget; UNIT_MB (default 16) the unit; LOGLAKE_BENCH_WORKERS (default 1) hours at once.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export LOGLAKE_BENCH_WORKERS=${LOGLAKE_BENCH_WORKERS:-1}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/units
rm -rf "$work"
mkdir -p "$work"
cargo bench --quiet -p loglake --bench compact -- generate-batches "$work/lake" "${FILES:-600}" "${ROWS:-12000}"
du -sh "$work/lake/staging"
bin=$(cargo bench --no-run -p loglake --bench compact 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
for unit_mb in 0 "${UNIT_MB:-16}"; do
  rm -rf "$work/$unit_mb"
  cp -r "$work/lake" "$work/$unit_mb"
  /usr/bin/time -f "%M" -o "$work/$unit_mb.rss" "$bin" units "$work/$unit_mb" "${MEMORY_MB:-256}" "$unit_mb"
  echo "peak RSS (units of $unit_mb MB, 0: whole hours): $(( $(cat "$work/$unit_mb.rss") / 1024 )) MiB"
done
