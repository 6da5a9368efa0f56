#!/usr/bin/env python3
"""Builds the sample events of ingest-cloudwatch from the readable payloads in decoded/.

CloudWatch Logs sends a subscription payload as base64(gzip(compact JSON)); this script does
the same (gzip level 6, mtime 0), so the events are reproducible byte for byte:

    python3 events/generate.py            # rewrite events/ingest-cloudwatch/*.json
    python3 events/generate.py --check    # fail if an event is out of date

truncated-gzip.json is bad input on purpose: the gzip stream of text-batch cut in half.
"""
import base64
import gzip
import io
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent / "ingest-cloudwatch"


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


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for name, event in build().items():
        text = json.dumps(event, indent=2) + "\n"
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python3 events/generate.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
