#!/usr/bin/env bash
# The compaction benchmark: `loglake`'s compaction and, as the baseline, DuckDB's
# COPY … ORDER BY … PARTITION_BY over the same staging files; MB/s, files in → out, and peak RSS
# (/usr/bin/time) of each, measured in this one run.
#   FILES (default 200) writers × 6 hours of staging files, ROWS (default 40000) rows per writer,
#   MEMORY_MB (default 64) the compaction's memory budget (shared by its workers),
#   LOGLAKE_BENCH_WORKERS (default: one per core, at most 4) hours merged at once.
# Needs the test venv (duckdb); scripts/test.sh makes it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LOGLAKE_VENV:-$PWD/.venv}
export PATH="$venv/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/compact
files=${FILES:-200}
rows=${ROWS:-40000}
budget=${MEMORY_MB:-64}
rm -rf "$work"
mkdir -p "$work"
results="$work/results.txt"

echo "== staging data"
cargo bench --quiet -p loglake --bench compact -- generate "$work/lake" "$files" "$rows"
cp -r "$work/lake" "$work/duckdb-input"
cp -r "$work/lake" "$work/duckdb1-input"
du -sh "$work/lake/staging"

echo "== loglake compaction (${LOGLAKE_BENCH_WORKERS:-one per core} workers, budget $budget MiB)"
bin=$(cargo bench --no-run -p loglake --bench compact 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
/usr/bin/time -f "%M" -o "$work/rust.rss" "$bin" compact "$work/lake" "$budget" | tee -a "$results"
echo "peak RSS loglake compact: $(( $(cat "$work/rust.rss") / 1024 )) MiB" | tee -a "$results"
echo "RESULT rust_rss_kib=$(cat "$work/rust.rss")" >>"$results"

echo "== DuckDB COPY (default threads, then 1 thread)"
/usr/bin/time -f "%M" -o "$work/duckdb.rss" python bench/duckdb_compact.py "$work/duckdb-input" "$work/duckdb-out" | tee -a "$results"
echo "peak RSS duckdb (default threads): $(( $(cat "$work/duckdb.rss") / 1024 )) MiB" | tee -a "$results"
echo "RESULT duckdb_rss_kib=$(cat "$work/duckdb.rss")" >>"$results"
/usr/bin/time -f "%M" -o "$work/duckdb1.rss" python bench/duckdb_compact.py "$work/duckdb1-input" "$work/duckdb1-out" --threads 1 | tee -a "$results"
echo "peak RSS duckdb (1 thread): $(( $(cat "$work/duckdb1.rss") / 1024 )) MiB" | tee -a "$results"
echo "RESULT duckdb1_rss_kib=$(cat "$work/duckdb1.rss")" >>"$results"

echo "== summary"
python - "$results" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
f = {k: float(v) for k, v in re.findall(r"RESULT (\w+)=([\d.]+)", text)}
duck = next(v for k, v in f.items() if k.startswith("duckdb_t") and k != "duckdb_t1_mbps")
print(f"speed  loglake {f['compact_mbps']:.1f} MB/s vs DuckDB {duck:.1f} MB/s (all cores): {f['compact_mbps'] / duck:.2f}x; "
      f"vs DuckDB 1 thread {f['duckdb_t1_mbps']:.1f} MB/s: {f['compact_mbps'] / f['duckdb_t1_mbps']:.2f}x  (target >= 1x)")
print(f"memory loglake {f['rust_rss_kib'] / 1024:.0f} MiB vs DuckDB {f['duckdb_rss_kib'] / 1024:.0f} MiB: "
      f"{f['rust_rss_kib'] / f['duckdb_rss_kib']:.2f}x  (target <= 0.25x)")
PY
