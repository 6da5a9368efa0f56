#!/usr/bin/env bash
# The benchmark of the first pipeline. Prints every figure and the ratios to the baselines,
# all measured in this one run on this machine:
#   - MB/s of message text, one thread, decode -> normalize -> Parquet -> local write (Rust)
#   - the same job in Python + pyarrow on the same events (baseline), and the ratio
#   - peak RSS while ingesting the largest event (release `loglake invoke`)
#   - cold start of the release function binary against a local runtime-API stand-in, and a
#     Python bootstrap importing boto3 + pyarrow for comparison
#   - size of the arm64 deployment zip (cargo lambda build --arm64 --output-format zip)
#   - ingest-kinesis: records/s and MB/s per kind of record data (10,000-record batches), the
#     ratio to the first function's per-byte rate, and peak RSS for a 6 MB batch
# Needs the test venv (scripts/test.sh makes it) for pyarrow and cargo-lambda.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LOGLAKE_VENV:-$PWD/.venv}
export PATH="$venv/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
work=${LOGLAKE_BENCH_DIR:-${TMPDIR:-/tmp}/loglake-bench}
mkdir -p "$work"
results="$work/results.txt"
: >"$results"

echo "== workload"
if [ ! -f "$work/workload/manifest.json" ]; then
  python bench/gen_workload.py "$work/workload" --events 100 --lines 5000
fi
python -c "import json,sys; m=json.load(open(sys.argv[1])); print(f\"{m['events']} events x {m['lines']//m['events']} lines, {m['message_bytes']/1e6:.1f} MB of message text, formats {m['formats']}\")" "$work/workload/manifest.json"

if [ ! -f "$work/kinesis/firehose-6mb.json" ]; then
  python bench/gen_kinesis_workload.py "$work/kinesis" >/dev/null
fi

echo "== build (release)"
cargo build --release --quiet -p loglake-cli -p ingest-cloudwatch -p ingest-kinesis -p firehose-transform

echo "== Rust pipeline"
cargo bench --quiet -p loglake --bench ingest -- "$work/workload" | tee -a "$results"

echo "== Python + pyarrow baseline"
python bench/baseline_pyarrow.py "$work/workload" "$work/python-out" | tee -a "$results"

echo "== peak RSS, largest event"
largest=$(python -c "import json,sys; m=json.load(open(sys.argv[1])); print(max(m['files'], key=lambda f: f['decompressed'])['name'])" "$work/workload/manifest.json")
rm -rf "$work/rss-lake"
/usr/bin/time -f "%M" -o "$work/rss.txt" "$CARGO_TARGET_DIR/release/loglake" invoke ingest-cloudwatch \
  --event "$work/workload/$largest" --lake "$work/rss-lake" >/dev/null
echo "peak RSS ingesting $largest ($(stat -c %s "$work/workload/$largest") bytes base64): $(( $(cat "$work/rss.txt") / 1024 )) MiB" | tee -a "$results"
echo "RESULT peak_rss_kib=$(cat "$work/rss.txt")" >>"$results"

echo "== ingest-kinesis and firehose-transform, per kind of record data"
cargo bench --quiet -p loglake --bench kinesis -- "$work/kinesis" | tee -a "$results"

echo "== ingest-s3: a 500 MB (decoded) gzip ALB object, MB/s and peak RSS with 128 and 256 MB bounds"
cargo bench --quiet -p loglake --bench s3 -- 500 | tee -a "$results"

echo "== hostile input: peak RSS of the KPL aggregate bomb and of the largest inputs the 128 MB bounds accept"
cargo bench --quiet -p loglake --bench hostile | tee -a "$results"

echo "== ingest-kinesis peak RSS, 6 MB batch, the release binary through the runtime API (moto as S3)"
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$port/moto-api/" 2>/dev/null && break; sleep 0.2; done
(
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" LOGLAKE_S3_FORCE_PATH_STYLE=true AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1
  python -c 'import boto3; boto3.client("s3").create_bucket(Bucket="bench-rss")'
  python bench/coldstart.py "$CARGO_TARGET_DIR/release/ingest-kinesis" --peak-rss --bucket bench-rss \
    --event "$work/kinesis/kinesis-6mb.json"
  python bench/coldstart.py "$CARGO_TARGET_DIR/release/firehose-transform" --peak-rss --bucket bench-rss \
    --event "$work/kinesis/firehose-6mb.json"
) | tee -a "$results"
kill $moto_pid 2>/dev/null || true

echo "== cold start"
python bench/coldstart.py "$CARGO_TARGET_DIR/release/ingest-cloudwatch" --runs 30 | tee -a "$results"
python bench/coldstart.py --python-baseline --runs 10 | tee -a "$results"

echo "== deployment zip (arm64)"
if rustup target list --installed | grep -q aarch64-unknown-linux-gnu; then
  cargo lambda build --quiet --release --arm64 --output-format zip -p ingest-cloudwatch --lambda-dir "$work/lambda" >/dev/null
  zip_bytes=$(stat -c %s "$work/lambda/ingest-cloudwatch/bootstrap.zip")
  echo "deployment zip ingest-cloudwatch (arm64): $((zip_bytes / 1024)) KiB" | tee -a "$results"
  echo "RESULT zip_bytes=$zip_bytes" >>"$results"
else
  echo "skipped: rustup target add aarch64-unknown-linux-gnu to measure the arm64 zip" | tee -a "$results"
fi

echo "== summary"
python - "$results" <<'PY'
import re, sys
r = dict(re.findall(r"RESULT (\w+)=([\d.]+)", open(sys.argv[1]).read()))
f = {k: float(v) for k, v in r.items()}
def line(name, value, target, ok):
    print(f"{name:<34} {value:<34} target {target:<14} {'met' if ok else 'NOT MET'}")
line("throughput (1 thread)", f"{f['rust_mbps']:.1f} MB/s", ">= 100 MB/s", f["rust_mbps"] >= 100)
ratio = f["rust_mbps"] / f["python_mbps"]
line("vs Python + pyarrow", f"{ratio:.1f}x ({f['python_mbps']:.1f} MB/s)", ">= 3.5x", ratio >= 3.5)
line("peak RSS, largest event", f"{f['peak_rss_kib'] / 1024:.1f} MiB", "<= 64 MiB", f["peak_rss_kib"] <= 64 * 1024)
cs = f["rust_coldstart_ms"]
line("cold start (median)", f"{cs:.1f} ms (python {f.get('python_coldstart_ms', 0):.0f} ms)", "<= 20 ms", cs <= 20)
for kind in ("cloudwatch", "agent", "kpl", "text", "6mb"):
    mbps = f[f"kinesis_{kind}_mbps"]
    line(f"kinesis {kind} (1 thread)", f"{mbps:.1f} MB/s = {mbps / f['rust_mbps']:.2f}x ingest-cloudwatch", "reported", True)
for kind in ("cloudwatch", "agent", "kpl", "text", "6mb"):
    mbps = f[f"firehose_{kind}_mbps"]
    line(f"firehose {kind} (1 thread)", f"{mbps:.1f} MB/s = {mbps / f['rust_mbps']:.2f}x ingest-cloudwatch", "reported", True)
for name in ("ingest_kinesis", "firehose_transform"):
    rss = f[f"{name}_peak_rss_kib"]
    line(f"{name} peak RSS, 6 MB batch", f"{rss / 1024:.1f} MiB", "<= 64 MiB", rss <= 64 * 1024)
if "zip_bytes" in f:
    line("deployment zip (arm64)", f"{f['zip_bytes'] / 2**20:.2f} MiB", "<= 10 MiB", f["zip_bytes"] <= 10 * 2**20)
PY
