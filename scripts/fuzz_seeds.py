#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the sample events and test fixtures (never from
../shared/corpus, which is not ours to copy): fuzz/corpus/<target>/<n>. Standard library only."""

import base64
import gzip
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"


def kinesis_datas():
    for path in sorted((ROOT / "events" / "ingest-kinesis").glob("*.json")):
        for record in json.loads(path.read_text()).get("Records", []):
            yield base64.b64decode(record["kinesis"]["data"])
    for path in sorted((ROOT / "events" / "firehose-transform").glob("*.json")):
        for record in json.loads(path.read_text()).get("records", []):
            yield base64.b64decode(record["data"])


def payloads():
    for path in sorted((ROOT / "events" / "ingest-cloudwatch").glob("*.json")):
        try:
            yield gzip.decompress(base64.b64decode(json.loads(path.read_text())["awslogs"]["data"]))
        except (OSError, EOFError, KeyError, ValueError):
            continue


# Lines of formats the sample events do not hold, written for the seeds.
OWN_LINES = [
    b'2026/11/20 10:00:03 [error] 12#12: *5 upstream timed out (110: Connection timed out), client: 10.0.0.1, '
    b'server: shop, request: "GET /cart HTTP/1.1", upstream: "http://10.0.2.9:8080/cart", host: "shop"',
    b"[Fri Nov 20 10:00:03.000001 2026] [proxy:error] [pid 41:tid 7] [client 10.0.0.1:5123] AH00957: attempt failed",
    b"2026-11-20T10:00:13.150Z 7c9567b5-107b-4a6c-8798-0157ac21db52 Task timed out after 3.00 seconds",
    b"3 vpc-0a1b2c3d subnet-0a1b2c3d i-0a1b2c3d4e eni-0a1b2c3d4e 210987654321 IPv4 10.1.2.3 10.1.9.8 "
    b"51000 443 10.1.2.3 10.1.9.8 6 9000 12 1795168800 1795168860 ACCEPT 19 OK",
]


def lines():
    yield from OWN_LINES
    for payload in payloads():
        for event in json.loads(payload).get("logEvents", []):
            yield event["message"].encode()
    for path in sorted((ROOT / "events" / "ingest-s3" / "source").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            yield from text.splitlines()[:20]


def main():
    seeds = {
        "cloudwatch_payload": list(payloads()),
        "stream_record": list(kinesis_datas()),
        "kpl": [d for d in kinesis_datas() if d[:4] == b"\xf3\x89\x9a\xc2"],
        # The first byte chooses the format (or detection): spread the samples over them.
        "line": [bytes([i % 32]) + line for i, line in enumerate(lines())],
        "multiline": [b"\n".join(list(lines())[:40])],
        "query_file": [p.read_bytes() for p in sorted((ROOT / "queries").glob("*.sql"))],
        # Records are split at 0xFF: the sample records of a batch, joined.
        "firehose_batch": [b"\xff".join(list(kinesis_datas())[:8]), b"\xff".join(list(kinesis_datas())[8:])],
        "s3_object": [b"\x07" + p.read_bytes() for p in sorted((ROOT / "events" / "ingest-s3" / "source").rglob("*")) if p.is_file()],
    }
    for target, items in seeds.items():
        folder = OUT / target
        folder.mkdir(parents=True, exist_ok=True)
        for n, item in enumerate(items):
            (folder / f"seed-{n:04}").write_bytes(item)
        print(f"{target}: {len(items)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
