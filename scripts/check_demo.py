#!/usr/bin/env python3
"""Checks a lake written by `loglake demo` with DuckDB, against the sample events themselves.

    check_demo.py LAKE_DIR

Every log event of the sample DATA_MESSAGE batches (events/ingest-cloudwatch/decoded) must be
in the lake exactly once with its message unchanged, and the truncated event must be a dead
letter. Prints the counts it compared.
"""
import json
import pathlib
import sys

import duckdb

ROOT = pathlib.Path(__file__).resolve().parent.parent
DECODED = ROOT / "events" / "ingest-cloudwatch" / "decoded"


def main() -> int:
    lake = pathlib.Path(sys.argv[1])
    expected = {}
    for path in sorted(DECODED.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["messageType"] == "DATA_MESSAGE":
            for event in payload["logEvents"]:
                expected[event["id"]] = event["message"]
    rows = duckdb.sql(
        "SELECT event_id, message, dt, hour FROM read_parquet(?, hive_partitioning = true)",
        params=[str(lake / "staging" / "logs" / "**" / "*.parquet")],
    ).fetchall()
    ids = [r[0] for r in rows]
    problems = []
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} duplicate event ids")
    if set(ids) != set(expected):
        problems.append(f"ids differ: missing {sorted(set(expected) - set(ids))[:5]}, extra {sorted(set(ids) - set(expected))[:5]}")
    changed = [r[0] for r in rows if r[0] in expected and r[1] != expected[r[0]]]
    if changed:
        problems.append(f"messages changed: {changed[:5]}")
    letters = list((lake / "errors").rglob("*.json"))
    if len(letters) != 1:
        problems.append(f"expected 1 dead letter, found {len(letters)}")
    print(f"demo lake: {len(rows)} rows read by DuckDB, {len(expected)} log events sent, {len(letters)} dead letter(s)")
    for p in problems:
        print("FAIL:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
