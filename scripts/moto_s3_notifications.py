#!/usr/bin/env python3
"""Genuine S3 object-created notifications through SQS, in the AWS API at AWS_ENDPOINT_URL (moto):

    moto_s3_notifications.py setup BUCKET QUEUE        # the log bucket, the queue, the notification
    moto_s3_notifications.py put BUCKET QUEUE SPEC...  # put objects, print the SQS event they made

A SPEC is `alb`, `trail` or `flow` (an ALB, CloudTrail or VPC flow log object, gzip, at the key
AWS writes it under), optionally `:<variant>` for other content at the same key (an overwrite).
`put` waits for one notification per object on the queue (S3 sends them there, as S3 does),
deletes them from the queue, and prints one JSON object: the Lambda event an SQS event source
mapping would deliver ({"Records": [...]}) and what each object holds:

    {"event": {...}, "objects": {"<key>": {"kind": "alb", "lines": [...]}}}

Every line's own time lies in the ten minutes before the run. For CloudTrail, `lines` are the records' requestIDs (one record each); for a flow log, its lines
after the header.
"""
import datetime
import gzip
import json
import os
import sys
import time

import boto3

ACCOUNT = "123456789012"
REGION = os.environ.get("AWS_REGION", "us-east-1")
KEYS = {
    "alb": f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/11/20/{ACCOUNT}_elasticloadbalancing_{REGION}_app.shop.0f1e2d3c_20261120T1000Z_10.0.0.1_abc.log.gz",
    "trail": f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/11/20/{ACCOUNT}_CloudTrail_{REGION}_20261120T1000Z_trail.json.gz",
    "flow": f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/2026/11/20/{ACCOUNT}_vpcflowlogs_{REGION}_fl-1_20261120T1000Z_h.log.gz",
}
# Lines of the last minutes, as a service writes them: their own times are their event times.
START = int(time.time()) - 600
FLOW_HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def iso(seconds: int, fraction: str = "") -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def alb_lines(variant: str, n: int) -> list:
    return [
        f'https {iso(START + i % 300, ".123456")} app/shop/0f1e2d3c 203.0.113.{i % 250}:61234 '
        f'10.20.1.17:8080 0.001 0.245 0.000 {503 if i % 7 == 0 else 200} 200 812 1204 '
        f'"GET https://shop.example.org:443/{variant}/item/{i} HTTP/1.1" "curl/8" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        f'arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/cart/0123 "Root=1-673da1b6-0a1b2c3d4e5f60718293a4b5" '
        f'"shop.example.org" "-" 3 2026-11-20T09:15:01.877000Z "forward" "-" "-" "10.20.1.17:8080" "200" "-" "-"'
        for i in range(n)
    ]


def trail_records(variant: str, n: int) -> list:
    return [
        {"eventVersion": "1.09", "eventTime": iso(START + i % 300), "eventSource": "s3.amazonaws.com",
         "eventName": "GetObject", "awsRegion": REGION, "sourceIPAddress": "198.51.100.7",
         "requestID": f"{variant}-REQ{i}", "eventID": f"{variant}-ev-{i}",
         "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/x"}}
        for i in range(n)
    ]


def flow_lines(variant: str, n: int) -> list:
    port = 443 if variant == "v1" else 8443
    return [
        f"2 {ACCOUNT} eni-0a1b2c3d 10.0.{i // 200}.{i % 200} 10.0.9.9 {40000 + i} {port} 6 10 {840 + i} "
        f"{START} {START + 60} {'REJECT' if i % 5 == 0 else 'ACCEPT'} OK"
        for i in range(n)
    ]


def make(kind: str, variant: str):
    """(body, what it holds) of an object."""
    if kind == "alb":
        lines = alb_lines(variant, 700)
        return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0), lines
    if kind == "trail":
        records = trail_records(variant, 150)
        return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0), [r["requestID"] for r in records]
    if kind == "flow":
        lines = flow_lines(variant, 400)
        return gzip.compress(("\n".join([FLOW_HEADER] + lines) + "\n").encode(), mtime=0), lines
    raise SystemExit(f"unknown object kind {kind!r}")


def setup(bucket: str, queue: str) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    # S3 sends a test event when a notification is configured: drain it, as a consumer would.
    receive(sqs, queue_url, expect=None)


def receive(sqs, queue_url: str, expect):
    messages = []
    deadline = time.time() + 10
    while time.time() < deadline:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  AttributeNames=["All"]).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)
        if expect is None and not got:
            break
        if expect is not None and len(messages) >= expect:
            break
        time.sleep(0.05)
    return messages


def put(bucket: str, queue: str, specs: list) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    objects = {}
    for spec in specs:
        kind, _, variant = spec.partition(":")
        body, holds = make(kind, variant or "v1")
        s3.put_object(Bucket=bucket, Key=KEYS[kind], Body=body)
        objects[KEYS[kind]] = {"kind": kind, "lines": holds}
    messages = receive(sqs, queue_url, expect=len(specs))
    if len(messages) != len(specs):
        raise SystemExit(f"expected {len(specs)} notifications, got {len(messages)}")
    records = [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
         "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION}
        for m in messages
    ]
    json.dump({"event": {"Records": records}, "objects": objects}, sys.stdout)


def main() -> int:
    command, bucket, queue, *specs = sys.argv[1:]
    if command == "setup":
        setup(bucket, queue)
    elif command == "put":
        put(bucket, queue, specs)
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
