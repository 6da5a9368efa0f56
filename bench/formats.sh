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
# Its own target directory: cargo names a workspace's artifacts by their path inside the
# workspace, so two checkouts sharing one target directory overwrite each other's builds.
base_target="$work/base-target"
# This VM's speed drifts by tens of percent over minutes: alternate the two builds, three times
# each, and compare the best of each.
for round in 1 2 3; do
  echo "-- round $round: before the formats ($base)"
  (cd "$work/base-src" && CARGO_TARGET_DIR="$base_target" cargo bench --quiet -p loglake --bench ingest -- "$work/workload") | sed 's/^RESULT /RESULT base_/;s/_mbps=/_mbps_'"$round"'=/' | tee -a "$results"
  echo "-- round $round: with the formats ($(git rev-parse --short HEAD))"
  cargo bench --quiet -p loglake --bench ingest -- "$work/workload" | sed 's/_mbps=/_mbps_'"$round"'=/' | tee -a "$results"
done
git worktree remove --force "$work/base-src"

python3 - "$results" <<'PY'
import re, sys
f = {k: float(v) for k, v in re.findall(r"RESULT (\w+)=([\d.]+)", open(sys.argv[1]).read())}
new = max(v for k, v in f.items() if k.startswith("rust_mbps_"))
old = max(v for k, v in f.items() if k.startswith("base_rust_mbps_"))
print(f"end-to-end ingest, best of 3 alternating runs: {new:.1f} MB/s with the formats vs {old:.1f} MB/s before: {new / old:.2f}x  (target >= 0.90x)")
PY
