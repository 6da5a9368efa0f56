#!/usr/bin/env python3
"""KPL-aggregated records made by an independent implementation (the aws-kinesis-agg package,
the format's reference aggregator), for the de-aggregation tests of the shared crate.

    python scripts/make_kpl_fixtures.py           # rewrite shared/tests/fixtures/kpl.json
    python scripts/make_kpl_fixtures.py --check   # fail if it is out of date

Each fixture: the aggregated record's data (base64) and the user records it must yield
(partition key, explicit hash key or null, data as base64), in order.
"""
import base64
import gzip
import io
import json
import pathlib
import sys

import aws_kinesis_agg.aggregator as agg

OUT = pathlib.Path(__file__).resolve().parent.parent / "shared" / "tests" / "fixtures" / "kpl.json"


def gz(raw: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as f:
        f.write(raw)
    return out.getvalue()


def aggregate(user_records):
    aggregator = agg.RecordAggregator()
    for pk, data, ehk in user_records:
        assert aggregator.add_user_record(pk, data, ehk) is None, "fixture too large for one record"
    _, _, data = aggregator.clear_and_get().get_contents()
    return {
        "data": base64.b64encode(data).decode(),
        "user_records": [
            {"partition_key": pk, "explicit_hash_key": ehk, "data": base64.b64encode(d if isinstance(d, bytes) else d.encode()).decode()}
            for pk, d, ehk in user_records
        ],
    }


def build():
    cwl = json.dumps({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/f",
                      "logStream": "s", "subscriptionFilters": ["loglake"],
                      "logEvents": [{"id": "1", "timestamp": 1795168800000, "message": "hello from KPL"}]},
                     separators=(",", ":")).encode()
    return {
        "mixed": aggregate([
            ("pod-a", '{"log":"GET /healthz 200\\n","stream":"stdout","time":"2026-11-20T10:00:00.1Z"}\n', None),
            ("pod-b", "plain text line\n", "340282366920938463463374607431768211455"),
            ("pod-a", gz(cwl), None),
            ("pod-c", "unicode ✓ ünïcödé", None),
        ]),
        "many": aggregate([(f"key-{i % 7}", f"line {i}\n", None) for i in range(500)]),
    }


def main() -> int:
    text = json.dumps(build(), indent=1) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print("out of date (run python scripts/make_kpl_fixtures.py):", OUT, file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
