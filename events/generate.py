#!/usr/bin/env python3
"""Builds the sample events of the functions, reproducibly byte for byte:

    python3 events/generate.py            # rewrite events/*/*.json
    python3 events/generate.py --check    # fail if an event is out of date

ingest-cloudwatch: from the readable payloads in ingest-cloudwatch/decoded/. CloudWatch Logs
sends a subscription payload as base64(gzip(compact JSON)); this script does the same (gzip
level 6, mtime 0). truncated-gzip.json is bad input on purpose: text-batch's gzip cut in half.

ingest-kinesis: batches as an event source mapping delivers them, built from the records
written out below: CloudWatch Logs payloads sent to a Kinesis destination (gzip, no base64
inside) with a control message, agent records (Fluent Bit / Fluentd JSON lines, several per
record), KPL-aggregated records made by the reference aggregator (aws-kinesis-agg), and a
batch of bad records between good ones. expected/lines.json lists every log line the batches carry
(event id and message) and the number of bad records, for the demo check.

firehose-transform: a data-transformation batch as Firehose delivers it: CloudWatch Logs payloads
(one within an hour, one across the hour), a control message, Fluent Bit records, a plain line
and an undecodable record.
"""
import base64
import gzip
import io
import json
import pathlib
import sys

EVENTS = pathlib.Path(__file__).resolve().parent
HERE = EVENTS / "ingest-cloudwatch"
KINESIS = EVENTS / "ingest-kinesis"
FIREHOSE = EVENTS / "firehose-transform"


def gzip_bytes(raw: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as f:
        f.write(raw)
    return out.getvalue()


def event_for(payload: dict) -> dict:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return {"awslogs": {"data": base64.b64encode(gzip_bytes(raw)).decode("ascii")}}


def build() -> dict:
    events = {}
    for source in sorted((HERE / "decoded").glob("*.json")):
        events[source.name] = event_for(json.loads(source.read_text(encoding="utf-8")))
    text = json.loads((HERE / "decoded" / "text-batch.json").read_text(encoding="utf-8"))
    raw = json.dumps(text, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    cut = gzip_bytes(raw)
    events["truncated-gzip.json"] = {"awslogs": {"data": base64.b64encode(cut[: len(cut) // 2]).decode("ascii")}}
    return events


STREAM_ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/loglake-logs"
SHARD = "shardId-000000000000"
ARRIVAL_S = 1795168830.5  # 2026-11-20T10:00:30.5Z


def sequence_number(n: int) -> str:
    return f"4959033827149025660855969253836157109592157598913658{n:04d}"


def kinesis_record(n: int, data: bytes, partition_key: str) -> dict:
    """A record as the event source mapping delivers it (data is base64)."""
    seq = sequence_number(n)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": seq,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": ARRIVAL_S + n / 1000,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{SHARD}:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/loglake-ingest-kinesis",
        "awsRegion": "eu-west-1",
        "eventSourceARN": STREAM_ARN,
    }


def cwl_payload(group: str, stream: str, events: list) -> bytes:
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["loglake-to-kinesis"],
        "logEvents": [{"id": i, "timestamp": t, "message": m} for i, t, m in events],
    }
    return gzip_bytes(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


CWL_CONTROL = gzip_bytes(json.dumps({
    "messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
    "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1795168800000,
    "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}],
}, separators=(",", ":")).encode())

CWL_EVENTS_A = [
    ("38000000000000000000000000000000000000000000000000000001", 1795168801000,
     '{"level":"info","msg":"order placed","order_id":"o-1001","duration_ms":41}\n'),
    ("38000000000000000000000000000000000000000000000000000002", 1795168802500,
     '{"level":"error","msg":"payment declined","order_id":"o-1002","code":"card_declined"}\n'),
]
CWL_EVENTS_B = [
    ("38000000000000000000000000000000000000000000000000000003", 1795168799000,
     "2026-11-20T09:59:59.000Z\tb7c0-41d2\tWARN\tretrying upstream call (attempt 2)\n"),
    ("38000000000000000000000000000000000000000000000000000004", 1795168803000,
     "REPORT RequestId: b7c0-41d2\tDuration: 812.33 ms\tBilled Duration: 813 ms\tMemory Size: 128 MB\tMax Memory Used: 61 MB\t\n"),
]

FLUENT_BIT = [
    [
        {"log": "10.0.1.7 - - [20/Nov/2026:10:00:01 +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.31\"\n",
         "stream": "stdout", "time": "2026-11-20T10:00:01.114Z",
         "kubernetes": {"namespace_name": "shop", "pod_name": "web-7d9f-x2", "container_name": "nginx"}},
        {"log": '{"level":"warn","msg":"slow query","ms":1234}\n', "stream": "stderr",
         "time": "2026-11-20T10:00:02.020Z",
         "kubernetes": {"namespace_name": "shop", "pod_name": "api-5c4b-q9", "container_name": "api"}},
    ],
    [
        {"log": "Exception in thread \"main\" java.lang.IllegalStateException: boom\n", "stream": "stderr",
         "time": "2026-11-20T10:00:03.500Z", "kubernetes": {"namespace_name": "jobs", "pod_name": "batch-1"}},
        {"log": "\tat com.example.Job.run(Job.java:42)\n", "stream": "stderr",
         "time": "2026-11-20T10:00:03.501Z", "kubernetes": {"namespace_name": "jobs", "pod_name": "batch-1"}},
        {"log": "plain line with ünïcödé ✓\n", "stream": "stdout", "time": "2026-11-20T10:00:04Z"},
    ],
]
FLUENTD = [
    {"date": 1795168805.25, "host": "ip-10-0-1-5", "ident": "sshd", "pid": "812",
     "message": "Accepted publickey for ec2-user from 10.0.0.9 port 52144 ssh2"},
]


def jsonl(lines: list) -> bytes:
    return "".join(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def line_ids(n: int, messages: list) -> list:
    return [{"event_id": f"{SHARD}:{sequence_number(n)}:{i}", "message": m} for i, m in enumerate(messages)]


def build_kinesis() -> dict:
    import aws_kinesis_agg.aggregator as agg

    def aggregate(user_records):
        aggregator = agg.RecordAggregator()
        for pk, data in user_records:
            assert aggregator.add_user_record(pk, data) is None
        _, _, data = aggregator.clear_and_get().get_contents()
        return data

    expected = []
    cwl = [
        kinesis_record(1, CWL_CONTROL, "control"),
        kinesis_record(2, cwl_payload("/aws/ecs/orders", "orders/web/0a1b", CWL_EVENTS_A), "orders"),
        kinesis_record(3, cwl_payload("/aws/lambda/checkout", "2026/11/20/[$LATEST]c0ffee", CWL_EVENTS_B), "checkout"),
    ]
    expected += [{"event_id": i, "message": m} for i, _, m in CWL_EVENTS_A + CWL_EVENTS_B]

    agent = [kinesis_record(10 + k, jsonl(lines), f"fluent-bit-{k}") for k, lines in enumerate(FLUENT_BIT)]
    agent.append(kinesis_record(12, jsonl(FLUENTD), "fluentd"))
    for k, lines in enumerate(FLUENT_BIT):
        expected += line_ids(10 + k, [line["log"] for line in lines])
    expected += line_ids(12, [line["message"] for line in FLUENTD])

    kpl_agent = [(f"pod-{i % 3}", json.dumps({"log": f"GET /item/{i} 200\n", "stream": "stdout"}) + "\n") for i in range(6)]
    kpl_mixed = [("host-a", "Nov 20 10:00:06 host-a cron[411]: (root) CMD (run-parts /etc/cron.hourly)\n"),
                 ("host-b", "deploy finished in 42s\n"),
                 ("cwl", cwl_payload("/aws/lambda/kpl", "s", [("38000000000000000000000000000000000000000000000000000005", 1795168806000, "hello through KPL")]))]
    kpl = [kinesis_record(20, aggregate(kpl_agent), "pod-0"), kinesis_record(21, aggregate(kpl_mixed), "host-a")]
    expected += line_ids(20, [f"GET /item/{i} 200\n" for i in range(6)])
    expected += line_ids(21, ["Nov 20 10:00:06 host-a cron[411]: (root) CMD (run-parts /etc/cron.hourly)", "deploy finished in 42s"])
    # the CloudWatch event inside the KPL record keeps its own id
    expected.append({"event_id": "38000000000000000000000000000000000000000000000000000005", "message": "hello through KPL"})

    good_kpl = aggregate([("k", "fine\n")])
    bad_kpl = bytearray(good_kpl)
    bad_kpl[8] ^= 0x20  # breaks the MD5 trailer
    truncated = cwl_payload("/aws/lambda/cut", "s", CWL_EVENTS_A)
    bad = [
        kinesis_record(30, b"first good line\n", "app"),
        kinesis_record(31, bytes([0xFF, 0xFE, 0x00, 0x01, 0x89, 0x50]), "app"),
        kinesis_record(32, b"", "app"),
        kinesis_record(33, bytes(bad_kpl), "app"),
        kinesis_record(34, truncated[: len(truncated) // 2], "app"),
        kinesis_record(35, b"last good line\n", "app"),
    ]
    expected += line_ids(30, ["first good line"]) + line_ids(35, ["last good line"])

    events = {
        "cloudwatch-via-kinesis.json": {"Records": cwl},
        "agent-batch.json": {"Records": agent},
        "kpl-batch.json": {"Records": kpl},
        "bad-records.json": {"Records": bad},
    }
    return events, {"lines": expected, "bad_records": 4}


FIREHOSE_ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/loglake-firehose"


def firehose_record(n: int, data: bytes) -> dict:
    return {
        "recordId": f"49590338271490256608559692540925702759324208523137515{n:03d}",
        "approximateArrivalTimestamp": int(ARRIVAL_S * 1000) + n,
        "data": base64.b64encode(data).decode("ascii"),
    }


def build_firehose() -> dict:
    records = [
        firehose_record(1, cwl_payload("/aws/ecs/orders", "orders/web/0a1b", CWL_EVENTS_A)),
        firehose_record(2, CWL_CONTROL),
        firehose_record(3, cwl_payload("/aws/lambda/checkout", "2026/11/20/[$LATEST]c0ffee", CWL_EVENTS_B)),
        firehose_record(4, jsonl(FLUENT_BIT[0])),
        firehose_record(5, b"deploy finished in 42s\n"),
        firehose_record(6, bytes([0xFF, 0xFE, 0x00, 0x01])),
    ]
    return {"firehose-batch.json": {
        "invocationId": "00540a87-5050-496a-84e4-e7d92bbaf5e2",
        "deliveryStreamArn": FIREHOSE_ARN,
        "region": "eu-west-1",
        "records": records,
    }}


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    outputs = [(HERE / name, event) for name, event in build().items()]
    kinesis_events, expected = build_kinesis()
    outputs += [(KINESIS / name, event) for name, event in kinesis_events.items()]
    outputs.append((KINESIS / "expected" / "lines.json", expected))
    outputs += [(FIREHOSE / name, event) for name, event in build_firehose().items()]
    for path, event in outputs:
        name = str(path.relative_to(EVENTS))
        text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python3 events/generate.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
