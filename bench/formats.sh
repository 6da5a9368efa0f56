#!/usr/bin/env bash
# Issue 4's benchmark: parse throughput per log format (one thread, shared/benches/formats.rs),
# and the first pipeline's end-to-end ingest rate (shared/benches/ingest.rs over the
# bench/gen_workload.py workload) with the format parsers and without them, in the same run:
# BASE_REV (default 6a82443, the last commit before the format parsers) is built from a git
# worktree beside the checkout's own build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LOGLAKE_VENV:-$PWD/.venv}
export PATH="$venv/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/formats
base=${BASE_REV:-6a82443}
mkdir -p "$work"
results="$work/results.txt"
: >"$results"

echo "== parse throughput per format"
cargo bench --quiet -p loglake --bench formats | tee -a "$results"

echo "== first pipeline workload (100 events x 5,000 lines)"
[ -d "$work/workload" ] || python3 bench/gen_workload.py "$work/workload" --events 100 --lines 5000 >/dev/null
rm -rf "$work/base-src"
git worktree prune
git worktree add --quiet --detach "$work/base-src" "$base"
echo "-- before the formats ($base)"
(cd "$work/base-src" && cargo bench --quiet -p loglake --bench ingest -- "$work/workload") | sed 's/^RESULT /RESULT base_/' | tee -a "$results"
echo "-- with the formats ($(git rev-parse --short HEAD))"
cargo bench --quiet -p loglake --bench ingest -- "$work/workload" | tee -a "$results"
git worktree remove --force "$work/base-src"

python3 - "$results" <<'PY'
import re, sys
f = {k: float(v) for k, v in re.findall(r"RESULT (\w+)=([\d.]+)", open(sys.argv[1]).read())}
new, old = f["rust_mbps"], f["base_rust_mbps"]
print(f"end-to-end ingest: {new:.1f} MB/s with the formats vs {old:.1f} MB/s before: {new / old:.2f}x  (target >= 0.90x)")
PY
