#!/usr/bin/env bash
# Drives the ingest-cloudwatch, ingest-kinesis, firehose-transform, ingest-s3, log-subscriber,
# query-runner and compactor (one unit of a large hour) binaries
# through the Lambda runtime API: `cargo lambda watch`
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
boto3.client("logs").create_log_group(logGroupName=f"/runtime-api-test/{sys.argv[1]}/app")
# A retention shorter than the function's minimum (30 days), which it lengthens.
boto3.client("logs").put_retention_policy(logGroupName=f"/runtime-api-test/{sys.argv[1]}/app", retentionInDays=7)
boto3.client("athena").create_work_group(Name=f"wg-{sys.argv[1]}", Configuration={
    "ResultConfiguration": {"OutputLocation": f"s3://{sys.argv[1]}/_athena/"}, "EnforceWorkGroupConfiguration": True})
# The sample log objects of events/ingest-s3, in the bucket its notifications name.
import pathlib
source = pathlib.Path("events/ingest-s3/source")
try:
    boto3.client("s3").create_bucket(Bucket="central-logs")
except boto3.client("s3").exceptions.BucketAlreadyOwnedByYou:
    pass
for path in sorted(p for p in source.rglob("*") if p.is_file()):
    boto3.client("s3").put_object(Bucket="central-logs", Key=path.relative_to(source).as_posix(), Body=path.read_bytes())
# moto runs no SQL: the rows Athena would return for the rollup the query-runner starts.
import json, os, urllib.request
header = ["log_group", "events", "errors", "warnings"]
rows = [header, ["/app/checkout", "120", "7", "3"]]
result = {"results": [{"rows": [{"Data": [{"VarCharValue": v} for v in r]} for r in rows],
                       "column_info": [{"Name": n, "Label": n, "Type": t, "Nullable": "UNKNOWN"}
                                       for n, t in zip(header, ["varchar", "bigint", "bigint", "bigint"])]}]}
request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/static/athena/query-results",
                                 data=json.dumps(result).encode(), headers={"Content-Type": "application/json"})
assert urllib.request.urlopen(request).status == 201
PY

cargo lambda watch --quiet --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-var "LOGLAKE_BUCKET=$bucket" \
  --env-var "LOGLAKE_SUBSCRIBER_INCLUDE=/runtime-api-test/$bucket/*" \
  --env-var "LOGLAKE_SUBSCRIBER_OWN_PREFIXES=/aws/lambda/loglake-" \
  --env-var "LOGLAKE_SUBSCRIBER_DESTINATION_ARN=arn:aws:lambda:us-east-1:123456789012:function:ingest-cloudwatch" \
  --env-var "LOGLAKE_SUBSCRIBER_RETENTION_DAYS=30" \
  --env-var "LOGLAKE_ATHENA_WORKGROUP=wg-$bucket" \
  --env-var "LOGLAKE_GLUE_DATABASE=loglake" \
  --env-var "LOGLAKE_STACK=runtime-api-test" >"$logs/watch.log" 2>&1 &
watch_pid=$!
cleanup() { kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; }
trap cleanup EXIT

invoke() { # event file [function] -> response JSON on stdout
  cargo lambda invoke "${2:-ingest-cloudwatch}" --invoke-address 127.0.0.1 --invoke-port "$port" \
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
kinesis=""
for _ in $(seq 1 120); do # the first invoke of the second function compiles it
  if kinesis=$(invoke events/ingest-kinesis/bad-records.json ingest-kinesis 2>"$logs/invoke.err"); then break; fi
  kinesis=""
  sleep 5
done
[ -n "$kinesis" ] || { echo "FAIL: no response from ingest-kinesis" >&2; tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2; exit 1; }
firehose=""
for _ in $(seq 1 120); do
  if firehose=$(invoke events/firehose-transform/firehose-batch.json firehose-transform 2>"$logs/invoke.err"); then break; fi
  firehose=""
  sleep 5
done
[ -n "$firehose" ] || { echo "FAIL: no response from firehose-transform" >&2; tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2; exit 1; }
objects=""
for _ in $(seq 1 120); do
  if objects=$(invoke events/ingest-s3/notifications.json ingest-s3 2>"$logs/invoke.err"); then break; fi
  objects=""
  sleep 5
done
[ -n "$objects" ] || { echo "FAIL: no response from ingest-s3" >&2; tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2; exit 1; }
echo '{"sweep": true, "dry_run": true}' >"$logs/sweep.json"
subscriber=""
for _ in $(seq 1 120); do
  if subscriber=$(invoke "$logs/sweep.json" log-subscriber 2>"$logs/invoke.err"); then break; fi
  subscriber=""
  sleep 5
done
[ -n "$subscriber" ] || { echo "FAIL: no response from log-subscriber" >&2; tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2; exit 1; }
rollup=""
for _ in $(seq 1 120); do
  # A named window: it runs whether or not the window is compacted (a scheduled run waits for
  # compaction, which this bucket has not had; tests/mocks.rs and tests/moto.rs cover that path).
  if rollup=$(invoke events/query-runner/rerun-window.json query-runner 2>"$logs/invoke.err"); then break; fi
  rollup=""
  sleep 5
done
[ -n "$rollup" ] || { echo "FAIL: no response from query-runner" >&2; tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2; exit 1; }
# One unit of a large hour, as a compactor run sends it to the unit function: the staging files
# ingest-cloudwatch wrote above, the whole key range, unit 1 (parts from 10000).
python - "$response" >"$logs/unit.json" <<'PY'
import json, sys
keys = sorted(o["key"] for o in json.loads(sys.argv[1])["objects"])
hour = keys[0].split("/")[2] + "/" + keys[0].split("/")[3]
staging = [k for k in keys if f"/{hour}/" in k]
print(json.dumps({"unit": {"hour": hour, "run": 0, "index": 1, "range": {"from": None, "until": None},
                           "curated": [], "staging": staging, "input_bytes": 0, "write_until_ms": None}}))
PY
unit=""
for _ in $(seq 1 120); do
  if unit=$(invoke "$logs/unit.json" compactor 2>"$logs/invoke.err"); then break; fi
  unit=""
  sleep 5
done
[ -n "$unit" ] || { echo "FAIL: no response from compactor" >&2; tail -n 40 "$logs/watch.log" "$logs/invoke.err" >&2; exit 1; }

python - "$bucket" "$response" "$bad" "$control" "$kinesis" "$firehose" "$objects" "$subscriber" "$rollup" "$unit" "$logs/unit.json" "$logs/watch.log" <<'PY'
import io, json, sys, boto3
import pyarrow.parquet as pq
bucket, ok, bad, control, kinesis, firehose, objects, subscriber, rollup, unit = sys.argv[1], *map(json.loads, sys.argv[2:-2])
unit_event = json.load(open(sys.argv[-2]))["unit"]
# The metrics the binaries printed (embedded metric format), one JSON line each, in call order.
emf = []
for line in open(sys.argv[-1], errors="replace"):
    if line.startswith("{") and '"_aws"' in line:
        emf.append(json.loads(line))
by_function = {}
for m in emf:
    assert m["Stack"] == "runtime-api-test" and m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "loglake", m
    assert ["Stack"] in m["_aws"]["CloudWatchMetrics"][0]["Dimensions"], m
    by_function.setdefault(m["Function"], []).append(m)
cloudwatch = by_function.get("ingest-cloudwatch", [])
assert [(m["RecordsWritten"], m["DeadLetters"]) for m in cloudwatch] == [(8, 0), (0, 1), (0, 0)], cloudwatch
assert [m["DeadLetters"] for m in by_function.get("ingest-kinesis", [])] == [4], by_function.keys()
assert [m["DeadLetters"] for m in by_function.get("firehose-transform", [])] == [1], by_function.keys()
assert [(m["RecordsWritten"], m["DeadLetters"]) for m in by_function.get("ingest-s3", [])] == [(83, 0)], by_function.keys()
assert [(m["Query"], m["State"], m["RollupWindowsFailed"]) for m in by_function.get("query-runner", [])] == \
    [("errors_by_group_hourly", "SUCCEEDED", 0)], by_function.keys()
s3 = boto3.client("s3")
def rows_of(key):
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).num_rows
unit_files = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"logs/{unit_event['hour']}/").get("Contents", [])]
assert unit_files == [f"logs/{unit_event['hour']}/r000000-10000.parquet"], unit_files
staged_rows = sum(rows_of(k) for k in unit_event["staging"])
assert unit["files"] == 1 and unit["stats"]["rows_out"] == staged_rows == rows_of(unit_files[0]) > 0, unit
assert [(r["window"], r["outcome"], r["rows"]) for r in rollup] == [("2026-11-20T09", "STORED", 1)], rollup
summary_key = "summaries/errors_by_group_hourly/dt=2026-11-20/hour=09/part-00000.parquet"
summary = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read())).to_pylist()
assert summary == [{"log_group": "/app/checkout", "events": 120, "errors": 7, "warnings": 3}], summary
mine = [o for o in subscriber["outcomes"] if o["log_group"].startswith(f"/runtime-api-test/{bucket}/")]
assert subscriber["dry_run"] and subscriber["write_calls"] == 0, subscriber
assert [o["action"] for o in mine] == ["subscribed", "retention_set"], mine
assert boto3.client("logs").describe_subscription_filters(logGroupName=f"/runtime-api-test/{bucket}/app")["subscriptionFilters"] == []
results = [r["result"] for r in firehose["records"]]
assert results == ["Ok", "Dropped", "Dropped", "Ok", "Ok", "ProcessingFailed"], results
assert firehose["records"][0]["metadata"]["partitionKeys"] == {"dt": "2026-11-20", "hour": "10"}, firehose["records"][0]
assert ok["records"] == 8 and ok["dead_letters"] == [], ok
assert bad["records"] == 0 and bad["dead_letters"][0]["kind"] == "corrupt_gzip", bad
assert control["control_messages"] == 1 and control["objects"] == [], control
assert kinesis == {"batchItemFailures": []}, kinesis
keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
              if not o["Key"].startswith(("summaries/", "_loglake/", "_athena/", "logs/")))
firehose_keys = [k for k in keys if "/firehose-" in k or k.startswith("errors/firehose/")]
assert len([k for k in firehose_keys if k.startswith("errors/")]) == 1, firehose_keys
assert len([k for k in firehose_keys if k.endswith(".parquet")]) == 2, firehose_keys  # the record across the hour
keys = [k for k in keys if k not in firehose_keys]
# ingest-s3: the ALB, CloudTrail and VPC flow objects, every record once, read from the log bucket.
assert objects == {"batchItemFailures": []}, objects
s3_keys = [k for k in keys if "/s3-" in k or k.startswith("errors/s3/")]
expected_s3 = json.load(open("events/ingest-s3/expected/objects.json"))
s3_rows = sorted(m for k in s3_keys for m in pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).column("message").to_pylist())
assert s3_rows == sorted(m for ms in expected_s3.values() for m in ms), len(s3_rows)
keys = [k for k in keys if k not in s3_keys]
kinesis_keys = [k for k in keys if "/kinesis-" in k or k.startswith("errors/kinesis/")]
rest = [k for k in keys if k not in kinesis_keys]
assert rest == sorted([o["key"] for o in ok["objects"]] + [bad["dead_letters"][0]["key"]]), keys
letters = [k for k in kinesis_keys if k.startswith("errors/")]
assert len(letters) == 4, kinesis_keys
messages = sorted(m for k in kinesis_keys if k.endswith(".parquet")
                  for m in pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).column("message").to_pylist())
assert messages == ["first good line", "last good line"], messages
print(f"runtime API: {len(emf)} metric lines (EMF) printed by the functions")
print(f"runtime API: 9 invocations through cargo lambda watch (ingest-cloudwatch x3, ingest-kinesis, firehose-transform, ingest-s3 ({len(s3_rows)} records of 3 objects), log-subscriber dry run, query-runner, a compactor unit of {unit['stats']['rows_out']} rows); "
      f"{ok['records']} + {len(messages)} records and 1 + {len(letters)} dead letters in s3://{bucket}: {len(keys)} objects")
sys.stdout.flush()
# pyarrow's and boto3's threads can abort the interpreter's shutdown ("terminate called without
# an active exception"); every check has passed by now.
import os; os._exit(0)
PY
