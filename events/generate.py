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

ingest-s3: log objects as AWS services deliver them to a bucket, at their documented keys under
ingest-s3/source/ (an ALB log, a CloudTrail log file, a VPC flow log with its header; gzip,
mtime 0), and an SQS batch notifying them the three ways S3 can: an S3 event notification, the
same inside an SNS envelope, and an EventBridge event, plus the test event S3 sends when a
notification is configured. expected/objects.json lists what each object holds (the message of
every record: each line, or each CloudTrail record's JSON text).
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
S3 = EVENTS / "ingest-s3"


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


S3_ACCOUNT = "123456789012"
S3_BUCKET = "central-logs"
S3_CREATED = "2026-11-20T10:00:30.000Z"
S3_KEYS = {
    "alb": f"AWSLogs/{S3_ACCOUNT}/elasticloadbalancing/eu-west-1/2026/11/20/"
           f"{S3_ACCOUNT}_elasticloadbalancing_eu-west-1_app.shop-front.0f1e2d3c4b5a6978_20261120T1000Z_10.20.1.5_2f8x9c1d.log.gz",
    "cloudtrail": f"AWSLogs/{S3_ACCOUNT}/CloudTrail/eu-west-1/2026/11/20/"
                  f"{S3_ACCOUNT}_CloudTrail_eu-west-1_20261120T1000Z_Kp3vQ9xZ.json.gz",
    "vpc_flow": f"AWSLogs/{S3_ACCOUNT}/vpcflowlogs/eu-west-1/2026/11/20/"
                f"{S3_ACCOUNT}_vpcflowlogs_eu-west-1_fl-0a1b2c3d4e5f60718_20261120T1000Z_5c1e.log.gz",
}


def s3_objects() -> dict:
    """kind -> (object bytes, the messages of its records)."""
    alb = []
    for i in range(40):
        status = 503 if i % 9 == 4 else (404 if i % 7 == 3 else 200)
        alb.append(
            f'https 2026-11-20T09:{55 + i // 10:02d}:{(i * 7) % 60:02d}.{i:06d}Z app/shop-front/0f1e2d3c4b5a6978 '
            f'203.0.113.{10 + i}:{50000 + i} 10.20.1.{17 + i % 3}:8080 0.001 {0.012 + i / 1000:.3f} 0.000 {status} {status} '
            f'{300 + i} {1200 + 10 * i} "GET https://shop.example.org:443/product/{100 + i} HTTP/1.1" "Mozilla/5.0 (X11; Linux)" '
            f'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:{S3_ACCOUNT}:targetgroup/web/0123456789abcdef '
            f'"Root=1-673da1b6-{i:024x}" "shop.example.org" "arn:aws:acm:eu-west-1:{S3_ACCOUNT}:certificate/abc" 0 '
            f'2026-11-20T09:{55 + i // 10:02d}:{(i * 7) % 60:02d}.000000Z "forward" "-" "-" "10.20.1.{17 + i % 3}:8080" "{status}" "-" "-"'
        )
    records = []
    for i in range(12):
        record = {"eventVersion": "1.09", "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{S3_ACCOUNT}:assumed-role/deploy/ci"},
                  "eventTime": f"2026-11-20T09:5{i // 6 + 7}:{(i * 5) % 60:02d}Z", "eventSource": "s3.amazonaws.com",
                  "eventName": ["GetObject", "PutObject", "DeleteObject"][i % 3], "awsRegion": "eu-west-1",
                  "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.17", "requestID": f"REQ{i:04d}EXAMPLE",
                  "eventID": f"0a1b2c3d-0000-4000-8000-{i:012d}", "readOnly": i % 3 == 0, "eventType": "AwsApiCall",
                  "recipientAccountId": S3_ACCOUNT}
        if i % 4 == 3:
            record["errorCode"] = "AccessDenied"
        records.append(json.dumps(record, separators=(",", ":")))
    trail = ('{"Records":[' + ",".join(records) + "]}").encode("utf-8")
    header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    flows = [
        f"2 {S3_ACCOUNT} eni-0a1b2c3d4e5f60718 10.20.1.{17 + i % 3} 10.20.2.{i + 1} {40000 + i} {[443, 5432, 6379][i % 3]} 6 "
        f"{5 + i} {400 + 37 * i} {1795168500 + 10 * i} {1795168560 + 10 * i} {'REJECT' if i % 6 == 5 else 'ACCEPT'} OK"
        for i in range(30)
    ]
    text = lambda lines: ("\n".join(lines) + "\n").encode("utf-8")
    return {
        "alb": (gzip_bytes(text(alb)), alb),
        "cloudtrail": (gzip_bytes(trail), records),
        "vpc_flow": (gzip_bytes(text([header] + flows)), [header] + flows),
    }


def s3_event_notification(key: str, size: int, etag: str) -> dict:
    from urllib.parse import quote_plus
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1", "eventTime": S3_CREATED,
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "198.51.100.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "loglake",
               "bucket": {"name": S3_BUCKET, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": f"arn:aws:s3:::{S3_BUCKET}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": "0055AED6DCD90281E5"}},
    }]}


def build_s3() -> list:
    import hashlib
    outputs = []
    expected = {}
    messages = []
    for n, (kind, (body, holds)) in enumerate(s3_objects().items()):
        key = S3_KEYS[kind]
        outputs.append((S3 / "source" / key, body))
        expected[key] = holds
        etag = hashlib.md5(body).hexdigest()
        notification = s3_event_notification(key, len(body), etag)
        if kind == "cloudtrail":
            body_text = json.dumps({
                "Type": "Notification", "MessageId": "5f8c2a41-0000-4000-8000-000000000001",
                "TopicArn": f"arn:aws:sns:eu-west-1:{S3_ACCOUNT}:central-logs-created", "Subject": "Amazon S3 Notification",
                "Message": json.dumps(notification), "Timestamp": S3_CREATED, "SignatureVersion": "1"})
        elif kind == "vpc_flow":
            body_text = json.dumps({
                "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
                "source": "aws.s3", "account": S3_ACCOUNT, "time": "2026-11-20T10:00:30Z", "region": "eu-west-1",
                "resources": [f"arn:aws:s3:::{S3_BUCKET}"],
                "detail": {"version": "0", "bucket": {"name": S3_BUCKET},
                           "object": {"key": key, "size": len(body), "etag": etag, "sequencer": "00617F08299329D189"},
                           "request-id": "N4N7GDK58NMKJ12R", "requester": S3_ACCOUNT, "reason": "PutObject"}})
        else:
            body_text = json.dumps(notification)
        messages.append(body_text)
    messages.insert(0, json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": S3_CREATED,
                                   "Bucket": S3_BUCKET, "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}))
    records = [{
        "messageId": f"2e1424d4-f796-459a-8184-9c92662be6d{n}", "receiptHandle": f"AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq{n}",
        "body": body, "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795168831000",
                                     "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1795168831100"},
        "messageAttributes": {}, "md5OfBody": hashlib.md5(body.encode()).hexdigest(), "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:eu-west-1:{S3_ACCOUNT}:loglake-s3-notifications", "awsRegion": "eu-west-1",
    } for n, body in enumerate(messages)]
    outputs.append((S3 / "notifications.json", {"Records": records}))
    outputs.append((S3 / "expected" / "objects.json", expected))
    return outputs


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    outputs = [(HERE / name, event) for name, event in build().items()]
    kinesis_events, expected = build_kinesis()
    outputs += [(KINESIS / name, event) for name, event in kinesis_events.items()]
    outputs.append((KINESIS / "expected" / "lines.json", expected))
    outputs += [(FIREHOSE / name, event) for name, event in build_firehose().items()]
    outputs += build_s3()
    for path, event in outputs:
        name = str(path.relative_to(EVENTS))
        data = event if isinstance(event, bytes) else (json.dumps(event, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    if stale:
        print("out of date (run python3 events/generate.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
