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


def lines():
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
