#!/usr/bin/env bash
# Drives the ingest-cloudwatch binary through the Lambda runtime API: `cargo lambda watch`
# emulates the Lambda service, `cargo lambda invoke` sends it events from events/. The function
# writes to moto (AWS_ENDPOINT_URL), and the objects are checked there.
# Called by scripts/test.sh with the venv on PATH and moto's settings in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${LOGLAKE_WATCH_PORT:-9311}
bucket="loglake-runtime-api-test-$$"
logs=$(mktemp -d)   # outside the crate: cargo lambda watch rebuilds when its folder changes
python - "$bucket" <<'PY'
import sys, boto3
boto3.client("s3").create_bucket(Bucket=sys.argv[1])
PY

cargo lambda watch --quiet --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-var "LOGLAKE_BUCKET=$bucket" >"$logs/watch.log" 2>&1 &
watch_pid=$!
cleanup() { kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; }
trap cleanup EXIT

invoke() { # event file -> response JSON on stdout
  cargo lambda invoke ingest-cloudwatch --invoke-address 127.0.0.1 --invoke-port "$port" \
    --data-file "$1" --output-format json
}

# The first invoke compiles and starts the function; allow it time on a cold machine.
response=""
for _ in $(seq 1 120); do
  if response=$(invoke events/ingest-cloudwatch/json-batch.json 2>"$logs/invoke.err"); then break; fi
  response=""
  sleep 5
done
if [ -z "$response" ]; then
  echo "FAIL: no response from the function through the runtime API" >&2
  tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2
  exit 1
fi
bad=$(invoke events/ingest-cloudwatch/truncated-gzip.json)
control=$(invoke events/ingest-cloudwatch/control-message.json)

python - "$bucket" "$response" "$bad" "$control" <<'PY'
import json, sys, boto3
bucket, ok, bad, control = sys.argv[1], *map(json.loads, sys.argv[2:])
assert ok["records"] == 8 and ok["dead_letters"] == [], ok
assert bad["records"] == 0 and bad["dead_letters"][0]["kind"] == "corrupt_gzip", bad
assert control["control_messages"] == 1 and control["objects"] == [], control
keys = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))
assert keys == sorted([o["key"] for o in ok["objects"]] + [bad["dead_letters"][0]["key"]]), keys
print(f"runtime API: 3 invocations through cargo lambda watch; {ok['records']} records and 1 dead letter in s3://{bucket}: {len(keys)} objects")
PY
