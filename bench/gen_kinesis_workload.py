#!/usr/bin/env python3
"""Deterministic Kinesis benchmark batches, as an event source mapping delivers them.

    gen_kinesis_workload.py OUT_DIR [--records 10000] [--seed 11]

Writes one event file per kind of record data, each of `--records` records, with the log lines
of bench/gen_workload.py:
  - kinesis-cloudwatch.json: CloudWatch Logs payloads sent to a Kinesis destination (gzip, 20
    events each);
  - kinesis-agent.json: Fluent Bit records (one JSON line each, the log line under `log`);
  - kinesis-kpl.json: KPL-aggregated records (aws-kinesis-agg, 10 Fluent Bit lines each);
  - kinesis-text.json: plain text lines;
and kinesis-6mb.json: the memory worst case, a batch at Lambda's 6 MB payload limit made of
CloudWatch Logs payloads of ~1 MB of JSON each (gzip inflates them roughly tenfold).
firehose-<kind>.json carry the same records as a Firehose data-transformation event.
manifest.json gives each batch's records, log lines, message bytes and file size.
"""
import argparse
import base64
import gzip
import io
import json
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import gen_workload as lines  # noqa: E402

import aws_kinesis_agg.aggregator as agg  # noqa: E402

SHARD = "shardId-000000000007"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/bench"
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024


def gz(raw: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as f:
        f.write(raw)
    return out.getvalue()


def record(n: int, data: bytes, partition_key: str) -> dict:
    seq = f"4959033827149025660855969253836157109592157598913{n:07d}"
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": seq,
                    "data": base64.b64encode(data).decode("ascii"),
                    "approximateArrivalTimestamp": lines.BASE_MS / 1000 + n / 1000},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{SHARD}:{seq}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/bench",
        "awsRegion": "us-east-1", "eventSourceARN": STREAM_ARN,
    }


def app_line(rng, ms) -> str:
    return lines.json_line(rng, ms) if rng.random() < 0.55 else lines.text_line(rng, ms)


def fluent_bit(rng, ms, message: str) -> str:
    return json.dumps({"log": message + "\n", "stream": rng.choice(["stdout", "stderr"]), "time": lines.iso(ms),
                       "kubernetes": {"namespace_name": "shop", "pod_name": f"web-{rng.randint(1, 40)}",
                                      "container_name": "app"}}, ensure_ascii=False)


def cloudwatch_payload(rng, index, count) -> tuple[bytes, list[str]]:
    body, _ = lines.payload(rng, index, count)
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return gz(raw), [e["message"] for e in body["logEvents"]]


def build(kind: str, rng, records: int):
    out, messages = [], []
    for n in range(records):
        ms = lines.BASE_MS + n * 10
        if kind == "cloudwatch":
            data, msgs = cloudwatch_payload(rng, n, 20)
        elif kind == "agent":
            m = app_line(rng, ms)
            data, msgs = (fluent_bit(rng, ms, m) + "\n").encode(), [m + "\n"]
        elif kind == "kpl":
            aggregator = agg.RecordAggregator()
            msgs = []
            for i in range(10):
                m = app_line(rng, ms + i)
                aggregator.add_user_record(f"pod-{i % 4}", fluent_bit(rng, ms + i, m) + "\n")
                msgs.append(m + "\n")
            data = aggregator.clear_and_get().get_contents()[2]
        else:
            m = lines.text_line(rng, ms)
            data, msgs = (m + "\n").encode(), [m]
        out.append(record(n, data, f"pk-{n % 16}"))
        messages += msgs
    return {"Records": out}, messages


def build_six_mb(rng):
    out, messages, size = [], [], 0
    for n in range(10_000):
        data, msgs = cloudwatch_payload(rng, n, 5000)
        rec = record(n, data, f"pk-{n % 16}")
        rec_size = len(json.dumps(rec)) + 2
        if size + rec_size > LAMBDA_PAYLOAD_LIMIT:
            break
        out.append(rec)
        messages += msgs
        size += rec_size
    return {"Records": out}, messages


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    manifest = {}
    batches = [(kind, *build(kind, rng, args.records)) for kind in ("cloudwatch", "agent", "kpl", "text")]
    batches.append(("6mb", *build_six_mb(rng)))
    for kind, event, messages in batches:
        firehose = {
            "invocationId": "bench", "region": "us-east-1",
            "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/bench",
            "records": [{"recordId": r["kinesis"]["sequenceNumber"],
                         "approximateArrivalTimestamp": int(r["kinesis"]["approximateArrivalTimestamp"] * 1000),
                         "data": r["kinesis"]["data"]} for r in event["Records"]],
        }
        for name, body in ((f"kinesis-{kind}.json", event), (f"firehose-{kind}.json", firehose)):
            (out / name).write_text(json.dumps(body))
            manifest[name] = {"records": len(event["Records"]), "lines": len(messages),
                              "message_bytes": sum(len(m.encode()) for m in messages),
                              "bytes": (out / name).stat().st_size}
            print(f"{name}: {manifest[name]}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
