#!/usr/bin/env python3
"""Deterministic benchmark workload: CloudWatch Logs subscription events like real ones.

    gen_workload.py OUT_DIR [--events 100] [--lines 5000] [--seed 7] [--mix apps|services|typed]

Each event is one payload of `--lines` log events from one log stream, about 0.6–0.8 MB of
message text (close to CloudWatch's 1 MB batch limit), base64(gzip(JSON)) as a subscription
delivers it. The mix, per stream kind:
  - Lambda functions: START / END / REPORT (with Init Duration and XRAY lines on cold starts),
    Node.js and Python tab-separated runtime lines, Lambda JSON application logs;
  - services: JSON logs (Powertools / pino / structlog shapes, ~30% with escaped quotes,
    backslashes or newlines in the message) and plain text lines (log4j / nginx / syslog-like).
Writes event-NNN.json and manifest.json (lines, message bytes, and per-format line counts).
"""
import argparse
import base64
import gzip
import io
import json
import pathlib
import random

BASE_MS = 1_795_168_800_000  # 2026-11-20T10:00:00Z
WORDS = ("order payment cart user session cache request upstream retry timeout inventory shipment "
         "invoice token refresh queue worker batch record partition shard latency db query index "
         "customer address region zone node pod container image deploy config secret").split()
LEVELS = ["DEBUG", "INFO", "INFO", "INFO", "INFO", "WARN", "ERROR"]


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def iso(ms):
    s, ms = divmod(ms, 1000)
    import datetime
    t = datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % ms


def json_line(rng, ms):
    level = rng.choice(LEVELS)
    shape = rng.random()
    msg = words(rng, rng.randint(4, 18))
    if rng.random() < 0.3:  # escapes: quotes, backslashes, newlines, unicode
        msg += rng.choice([' "quoted" value', " path C:\\temp\\x", "\nsecond line", " caf\u00e9 \u6ce8\u6587"])
    if shape < 0.5:
        obj = {"level": level, "location": f"handler:{rng.randint(1, 400)}", "message": msg,
               "timestamp": iso(ms), "service": rng.choice(["orders", "payments", "search"]),
               "cold_start": rng.random() < 0.05, "xray_trace_id": "1-%08x-%024x" % (ms // 1000, rng.getrandbits(96)),
               "order": {"id": "A-%d" % rng.randint(1000, 99999), "total": round(rng.random() * 500, 2), "items": rng.randint(1, 9)}}
    elif shape < 0.8:
        obj = {"level": {"DEBUG": 20, "INFO": 30, "WARN": 40, "ERROR": 50}[level], "time": ms, "pid": rng.randint(1, 99),
               "hostname": "ip-10-0-%d-%d" % (rng.randint(0, 9), rng.randint(1, 254)), "msg": msg,
               "req": {"method": rng.choice(["GET", "POST"]), "url": "/api/v1/" + rng.choice(WORDS), "status": rng.choice([200, 200, 201, 404, 500])}}
    else:
        obj = {"event": msg, "level": level.lower(), "timestamp": iso(ms), "logger": "app." + rng.choice(WORDS),
               "request_id": uuid(rng), "duration_ms": round(rng.random() * 900, 3)}
    return json.dumps(obj, ensure_ascii=False)


def text_line(rng, ms):
    level = rng.choice(LEVELS)
    kind = rng.random()
    if kind < 0.5:
        return f"{iso(ms)[:-1].replace('T', ' ')} {level:5} [{rng.choice(['main', 'pool-1-thread-3', 'http-nio-8080-exec-7'])}] c.e.{rng.choice(WORDS)}.Service - {words(rng, rng.randint(6, 20))}"
    if kind < 0.8:
        return (f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [20/Nov/2026:10:00:{rng.randint(0, 59):02d} +0000] "
                f"\"{rng.choice(['GET', 'POST'])} /{rng.choice(WORDS)}/{rng.randint(1, 9999)} HTTP/1.1\" {rng.choice([200, 200, 304, 404, 502])} {rng.randint(100, 90000)} "
                f"\"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\"")
    return f"{words(rng, rng.randint(8, 30))} id={rng.randint(1, 10**9)} took={rng.randint(1, 999)}ms"


def lambda_lines(rng, ms, request_id, cold):
    out = []
    if cold:
        out.append(("lambda", "INIT_START Runtime Version: nodejs:22.v41\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:%064x\n" % rng.getrandbits(256)))
    out.append(("lambda", f"START RequestId: {request_id} Version: $LATEST\n"))
    for _ in range(rng.randint(2, 8)):
        r = rng.random()
        level = rng.choice(LEVELS)
        if r < 0.4:
            out.append(("lambda", f"{iso(ms)}\t{request_id}\t{level}\t{words(rng, rng.randint(5, 25))}\n"))
        elif r < 0.7:
            out.append(("lambda", f"[{level}]\t{iso(ms)}\t{request_id}\t{words(rng, rng.randint(5, 25))}\n"))
        else:
            out.append(("json", json.dumps({"timestamp": iso(ms), "level": level, "message": words(rng, rng.randint(5, 20)),
                                            "logger": "root", "requestId": request_id}) + "\n"))
    out.append(("lambda", f"END RequestId: {request_id}\n"))
    d = rng.random() * 900
    report = (f"REPORT RequestId: {request_id}\tDuration: {d:.2f} ms\tBilled Duration: {int(d) + 1} ms\t"
              f"Memory Size: 256 MB\tMax Memory Used: {rng.randint(60, 200)} MB\t")
    if cold:
        report += f"Init Duration: {rng.random() * 400 + 100:.2f} ms\t"
    report += "\nXRAY TraceId: 1-%08x-%024x\tSegmentId: %016x\tSampled: true\t\n" % (ms // 1000, rng.getrandbits(96), rng.getrandbits(64))
    out.append(("lambda", report))
    return out


def alb_line(rng, ms):
    status = rng.choice([200, 200, 200, 201, 301, 404, 500, 503])
    times = "-1 -1 -1" if status == 503 and rng.random() < 0.5 else f"0.00{rng.randint(0, 9)} 0.{rng.randint(0, 999):03d} 0.000"
    tg = rng.choice(["cart/0123456789abcdef", "web/fedcba9876543210", "api/00ff00ff00ff00ff"])
    return (f"https {iso(ms)} app/shop-front/0f1e2d3c4b5a6978 203.0.113.{rng.randint(1, 254)}:{rng.randint(1024, 65535)} "
            f"10.20.1.{rng.randint(1, 40)}:8080 {times} {status} {status} {rng.randint(100, 2000)} {rng.randint(100, 90000)} "
            f"\"GET https://shop.example.org:443/{rng.choice(WORDS)}/{rng.randint(1, 9999)} HTTP/1.1\" \"Mozilla/5.0 (X11; Linux x86_64)\" "
            f"ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/{tg} "
            f"\"Root=1-%08x-%024x\" \"shop.example.org\" \"-\" 0 {iso(ms - 200)} \"forward\" \"-\" \"-\" \"10.20.1.17:8080\" \"{status}\" \"-\" \"-\"" % (ms // 1000, rng.getrandbits(96)))


def vpc_line(rng, ms):
    action = "REJECT" if rng.random() < 0.15 else "ACCEPT"
    return (f"2 123456789012 eni-{rng.getrandbits(32):08x} 10.0.{rng.randint(0, 3)}.{rng.randint(1, 60)} 10.1.{rng.randint(0, 3)}.{rng.randint(1, 30)} "
            f"{rng.randint(1024, 65535)} {rng.choice([22, 443, 3306, 5432, 8080])} 6 {rng.randint(1, 50)} {rng.randint(40, 200000)} "
            f"{ms // 1000 - 60} {ms // 1000} {action} OK")


def apigw_line(rng, ms):
    import datetime
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    route = rng.choice(["GET /pets", "GET /pets/{petId}", "POST /orders", "DELETE /orders/{id}"])
    return json.dumps({"requestId": uuid(rng), "ip": "1.128.0.%d" % rng.randint(1, 254), "requestTime": t, "httpMethod": route.split()[0],
                       "routeKey": route, "status": str(rng.choice([200, 200, 200, 204, 400, 403, 500])), "protocol": "HTTP/1.1",
                       "responseLength": str(rng.randint(10, 5000)), "integrationLatency": str(rng.randint(2, 900))})


def cloudtrail_line(rng, ms):
    import datetime
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    source, name = rng.choice([("s3.amazonaws.com", "GetObject"), ("s3.amazonaws.com", "PutObject"),
                               ("sts.amazonaws.com", "AssumeRole"), ("ec2.amazonaws.com", "DescribeInstances"),
                               ("kms.amazonaws.com", "Decrypt"), ("iam.amazonaws.com", "CreateAccessKey")])
    role = rng.choice(["app-orders", "app-cart", "ci-deploy", "ops-admin"])
    record = {"eventVersion": "1.08",
              "userIdentity": {"type": "AssumedRole", "principalId": f"AROA{rng.getrandbits(40):010X}:{role}",
                               "arn": f"arn:aws:sts::123456789012:assumed-role/{role}/session-{rng.randint(1, 40)}",
                               "accountId": "123456789012"},
              "eventTime": t, "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
              "sourceIPAddress": f"10.0.{rng.randint(0, 3)}.{rng.randint(1, 250)}", "userAgent": "aws-sdk-go-v2/1.30.3",
              "requestParameters": {"bucketName": "shop-assets", "key": f"{rng.choice(WORDS)}/{rng.randint(1, 9999)}.json"},
              "responseElements": None, "requestID": uuid(rng), "eventID": uuid(rng), "readOnly": name.startswith(("Get", "Describe")),
              "eventType": "AwsApiCall", "managementEvent": source != "s3.amazonaws.com",
              "recipientAccountId": "123456789012", "eventCategory": "Management" if source != "s3.amazonaws.com" else "Data"}
    if rng.random() < 0.05:
        record["errorCode"], record["errorMessage"] = "AccessDenied", "User is not authorized to perform this operation"
    return json.dumps(record)


def payload(rng, index, lines, mix="apps"):
    if mix == "services":  # every kind of log the shipped rollups read, one kind per stream
        kind = ["lambda", "ecs", "alb", "vpc", "apigw"][index % 5]
    elif mix == "typed":  # the services, and CloudTrail: the AWS service logs issue 18 types
        kind = ["lambda", "ecs", "alb", "vpc", "apigw", "cloudtrail"][index % 6]
    else:
        kind = "lambda" if index % 2 == 0 else "ecs"
    is_lambda = kind == "lambda"
    group = {"lambda": f"/aws/lambda/fn-{index % 7}", "ecs": f"/ecs/service-{index % 5}", "alb": "/elb/shop-front",
             "vpc": "/vpc/flow-logs", "apigw": "/apigw/shop", "cloudtrail": "/cloudtrail/org"}[kind]
    stream = f"2026/11/20/[$LATEST]{rng.getrandbits(128):032x}"
    ms = BASE_MS + index * 36_000
    events, counts = [], {}
    base_id = (ms << 144) | (index << 100)
    while len(events) < lines:
        ms += rng.randint(0, 20)
        if is_lambda:
            batch = lambda_lines(rng, ms, uuid(rng), rng.random() < 0.1)
        elif kind in ("alb", "vpc", "apigw", "cloudtrail"):
            make = {"alb": alb_line, "vpc": vpc_line, "apigw": apigw_line, "cloudtrail": cloudtrail_line}[kind]
            batch = [(kind, make(rng, ms))]
        else:
            batch = [("json", json_line(rng, ms))] if rng.random() < 0.55 else [("text", text_line(rng, ms))]
        for fmt, message in batch:
            if len(events) == lines:
                break
            counts[fmt] = counts.get(fmt, 0) + 1
            events.append({"id": str(base_id + len(events)), "timestamp": ms, "message": message})
    body = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group, "logStream": stream,
            "subscriptionFilters": ["loglake"], "logEvents": events}
    return body, counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mix", choices=["apps", "services", "typed"], default="apps",
                        help="apps: Lambda and ECS application logs; services: also ALB, VPC flow and API Gateway "
                             "logs; typed: also CloudTrail records")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    manifest = {"events": args.events, "lines": 0, "message_bytes": 0, "formats": {}, "files": []}
    for i in range(args.events):
        body, counts = payload(rng, i, args.lines, args.mix)
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as f:
            f.write(raw)
        name = f"event-{i:03d}.json"
        (out / name).write_text(json.dumps({"awslogs": {"data": base64.b64encode(buf.getvalue()).decode()}}))
        manifest["lines"] += len(body["logEvents"])
        manifest["message_bytes"] += sum(len(e["message"].encode()) for e in body["logEvents"])
        for k, v in counts.items():
            manifest["formats"][k] = manifest["formats"].get(k, 0) + v
        manifest["files"].append({"name": name, "bytes": (out / name).stat().st_size, "decompressed": len(raw)})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{args.events} events, {manifest['lines']} lines, {manifest['message_bytes'] / 1e6:.1f} MB of message text -> {out}")


if __name__ == "__main__":
    main()
