#!/usr/bin/env python3
"""Makes a genuine Kinesis event-source-mapping batch in the AWS API at AWS_ENDPOINT_URL (moto):

    moto_kinesis_batch.py STREAM_NAME

Creates the stream and a log group subscribed to it (moto forwards CloudWatch Logs events to
the stream as real gzip subscription payloads, as CloudWatch Logs does), puts log events, then
puts records as producers do: a Fluent Bit record with several JSON lines and a KPL-aggregated
record made by the reference aggregator (aws-kinesis-agg). Reads the shard back and prints
one JSON object: the Lambda event built from the records read ({"Records": [...]}, the shape an
event source mapping delivers) and what each record carries:

    {"event": {...}, "stream_arn": ..., "log_group": ...,
     "cloudwatch_messages": [...],                  # put to CloudWatch Logs (ids are CloudWatch's)
     "lines": [{"event_id": ..., "message": ...}]}  # put by the producers
"""
import base64
import json
import os
import sys
import time

import aws_kinesis_agg.aggregator as agg
import boto3


def main() -> int:
    stream = sys.argv[1]
    region = os.environ.get("AWS_REGION", "us-east-1")
    kinesis = boto3.client("kinesis", region_name=region)
    logs = boto3.client("logs", region_name=region)

    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    stream_arn = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["StreamARN"]

    group = f"/app/moto/{stream}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app/1")
    logs.put_subscription_filter(
        logGroupName=group, filterName="loglake", filterPattern="", destinationArn=stream_arn,
        roleArn="arn:aws:iam::123456789012:role/loglake-cwl-to-kinesis",
    )
    now_ms = int(time.time() * 1000)
    messages = [
        '{"level":"info","msg":"order placed","order_id":"o-1"}',
        "2026-11-27T10:00:00Z ERROR payment declined: card_declined",
        "plain line with ünïcödé ✓ and \"quotes\"",
    ]
    logs.put_log_events(
        logGroupName=group, logStreamName="app/1",
        logEvents=[{"timestamp": now_ms - 3000 + i, "message": m} for i, m in enumerate(messages)],
    )

    lines = []
    fluent_bit = [
        {"log": "GET /healthz 200\n", "stream": "stdout", "kubernetes": {"pod_name": "web-1"}},
        {"log": '{"level":"warn","msg":"slow"}\n', "stream": "stderr", "kubernetes": {"pod_name": "web-1"}},
    ]
    data = "".join(json.dumps(line) + "\n" for line in fluent_bit).encode()
    put = kinesis.put_record(StreamName=stream, Data=data, PartitionKey="fluent-bit")
    shard = put["ShardId"]
    lines += [{"event_id": f"{shard}:{put['SequenceNumber']}:{i}", "message": line["log"]} for i, line in enumerate(fluent_bit)]

    aggregator = agg.RecordAggregator()
    user_records = [("pod-a", "kpl line one\n"), ("pod-b", "kpl line two\n"), ("pod-a", "kpl line three\n")]
    for pk, text in user_records:
        aggregator.add_user_record(pk, text)
    pk, _, aggregated = aggregator.clear_and_get().get_contents()
    put = kinesis.put_record(StreamName=stream, Data=aggregated, PartitionKey=pk)
    lines += [{"event_id": f"{shard}:{put['SequenceNumber']}:{i}", "message": text.rstrip("\n")}
              for i, (_, text) in enumerate(user_records)]

    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]
    event = {"Records": [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r["PartitionKey"],
                "sequenceNumber": r["SequenceNumber"],
                "data": base64.b64encode(r["Data"]).decode("ascii"),
                "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard}:{r['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/loglake-ingest-kinesis",
            "awsRegion": region,
            "eventSourceARN": stream_arn,
        }
        for r in records
    ]}
    json.dump({"event": event, "stream_arn": stream_arn, "log_group": group,
               "cloudwatch_messages": messages, "lines": lines}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
