#!/usr/bin/env bash
# Issue 18's layout question (bench/typed_layout.py): the `typed` workload — Lambda, ECS, ALB, VPC
# flow, API Gateway and CloudTrail streams — ingested and compacted by loglake, then its rows
# written in the candidate layouts, and what each costs printed: storage, files per hour, and
# the bytes each query reads.
#   EVENTS (default 240) CloudWatch payloads of LINES (default 1500) lines.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/typed-layout
python=${LOGLAKE_TEST_PYTHON:-python3}
rm -rf "$work"
mkdir -p "$work"
# Bytes read do not depend on the build: the dev build will do (LOGLAKE_BIN: one already built).
loglake=${LOGLAKE_BIN:-}
if [ -z "$loglake" ]; then
  cargo build --quiet -p loglake-cli
  loglake="$CARGO_TARGET_DIR/debug/loglake"
fi
python3 bench/gen_workload.py "$work/events" --events "${EVENTS:-240}" --lines "${LINES:-1500}" --mix typed
"$loglake" invoke ingest-cloudwatch --event "$work"/events/event-*.json --lake "$work/lake" >/dev/null
"$loglake" compact --lake "$work/lake" >/dev/null 2>&1
"$python" bench/typed_layout.py "$work/lake" "$work/layouts"
