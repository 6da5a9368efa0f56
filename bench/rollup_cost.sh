#!/usr/bin/env bash
# What the shipped rollups scan: each query over raw staging (the files as ingest wrote them),
# over the curated table after compaction, and reading its summary — loglake cost's figures on
# a lake of realistic size, measured in this one run.
#   EVENTS (default 250) CloudWatch payloads of LINES (default 2000) lines, every kind of log the
#   rollups read (bench/gen_workload.py --mix services), ingested through the real handler. A
#   payload must land whole (shared/src/decode/bounds.rs): the bench stops if one is a dead letter.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}/rollup-cost
events=${EVENTS:-250}
lines=${LINES:-2000}
rm -rf "$work"
mkdir -p "$work"
# Bytes scanned do not depend on the build: the dev build will do (LOGLAKE_BIN: one already built).
loglake=${LOGLAKE_BIN:-}
if [ -z "$loglake" ]; then
  cargo build --quiet -p loglake-cli
  loglake="$CARGO_TARGET_DIR/debug/loglake"
fi

echo "== workload"
python3 bench/gen_workload.py "$work/events" --events "$events" --lines "$lines" --mix services
"$loglake" invoke ingest-cloudwatch --event "$work"/events/event-*.json --lake "$work/lake" >/dev/null
if [ -d "$work/lake/errors" ] && [ -n "$(find "$work/lake/errors" -type f | head -1)" ]; then
  echo "dead letters in $work/lake/errors: the figures would leave those payloads out" >&2
  exit 1
fi
du -sh "$work/lake/staging"

echo "== before compaction: raw staging"
"$loglake" cost --lake "$work/lake" | tee "$work/staging.txt"
echo "== compaction, rollups"
"$loglake" compact --lake "$work/lake" >/dev/null 2>&1
du -sh "$work/lake/logs"
"$loglake" rollup --lake "$work/lake" | tail -n 3
echo "== after: curated and summaries"
"$loglake" cost --lake "$work/lake" | tee "$work/curated.txt"

python3 - "$work/staging.txt" "$work/curated.txt" "$work/events/manifest.json" <<'PY'
import json, re, sys
units = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}
def table(path):
    rows = {}
    for line in open(path):
        sizes = re.findall(r"([\d.]+) (B|KiB|MiB)\b", line)
        if re.match(r"[a-z_]+\s+\d+\s", line) and len(sizes) >= 2:
            rows[line.split()[0]] = ([float(v) * units[u] for v, u in sizes] + [0.0])[:3]
    return rows
staging, after = table(sys.argv[1]), table(sys.argv[2])
text = json.load(open(sys.argv[3]))["message_bytes"]
print(f"message text ingested: {text / 2**20:.1f} MiB")
print("query                     curated/raw staging   curated/message text   summary/curated   (targets <= 10%, <= 1%)")
for name, (_, curated, summary) in after.items():
    raw = staging.get(name, [0])[0]
    print(f"{name:<25} {curated / raw * 100 if raw else float('nan'):>10.1f}%   {curated / text * 100:>19.2f}%   {summary / curated * 100 if curated else float('nan'):>14.2f}%"
          f"   ({raw / 2**20:.2f} MiB -> {curated / 2**20:.2f} MiB -> {summary / 1024:.1f} KiB)")
PY
