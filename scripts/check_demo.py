#!/usr/bin/env python3
"""Checks a lake written by `loglake demo` with DuckDB, against the sample events themselves.

    check_demo.py LAKE_DIR VIEW_SQL_FILE

The lake is read as Athena reads it: through the `logs_all` view text loglake makes for the lake's
compaction state (`loglake schema --table logs-all --lake LAKE_DIR`), run on DuckDB by
run_reader_view.py. Every log event of the sample DATA_MESSAGE batches (events/ingest-cloudwatch/decoded) and every
line of the sample Kinesis batches (events/ingest-kinesis/expected/lines.json, written by
events/generate.py from the records it encodes) and every record of the sample S3 objects
(events/ingest-s3/expected/objects.json) must be in the lake exactly once with its message
unchanged; the truncated CloudWatch event and the bad Kinesis records must be dead
letters. The rollup errors_by_group_hourly the demo stored must equal the same aggregation done
by DuckDB over the view. Prints the counts it compared.
"""
import json
import pathlib
import sys

import duckdb

from run_reader_view import view_rows

ROOT = pathlib.Path(__file__).resolve().parent.parent
DECODED = ROOT / "events" / "ingest-cloudwatch" / "decoded"
KINESIS_EXPECTED = ROOT / "events" / "ingest-kinesis" / "expected" / "lines.json"
S3_EXPECTED = ROOT / "events" / "ingest-s3" / "expected" / "objects.json"


def main() -> int:
    lake = pathlib.Path(sys.argv[1])
    expected = {}
    for path in sorted(DECODED.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["messageType"] == "DATA_MESSAGE":
            for event in payload["logEvents"]:
                expected[event["id"]] = event["message"]
    kinesis = json.loads(KINESIS_EXPECTED.read_text(encoding="utf-8"))
    for line in kinesis["lines"]:
        assert line["event_id"] not in expected, line["event_id"]
        expected[line["event_id"]] = line["message"]
    expected_letters = 1 + kinesis["bad_records"]
    # What a reader sees: the view over curated and staging files.
    sql = pathlib.Path(sys.argv[2]).read_text(encoding="utf-8")
    sql = sql.split(" AS\n", 1)[1].rstrip().rstrip(";")  # the SELECT of CREATE VIEW … AS
    all_rows = view_rows(lake, sql, "event_id, message, source, log_stream")
    rows = [(event_id, message) for event_id, message, source, _ in all_rows if source != "s3"]
    # The S3 objects' records: each object's lines (CloudTrail records) exactly once, unchanged.
    s3_expected = json.loads(S3_EXPECTED.read_text(encoding="utf-8"))
    s3_rows = {}
    for _, message, source, key in all_rows:
        if source == "s3":
            s3_rows.setdefault(key, []).append(message)
    for key, messages in s3_expected.items():
        if sorted(s3_rows.get(key, [])) != sorted(messages):
            problems_s3 = f"S3 object {key}: {len(s3_rows.get(key, []))} rows, {len(messages)} records sent, or a message changed"
            print("FAIL:", problems_s3, file=sys.stderr)
            return 1
    if set(s3_rows) - set(s3_expected):
        print("FAIL: rows of S3 objects never sent:", sorted(set(s3_rows) - set(s3_expected)), file=sys.stderr)
        return 1
    s3_count = sum(len(m) for m in s3_expected.values())
    files = sorted(lake.rglob("*.parquet"))
    compacted = sum(1 for f in files if f.relative_to(lake).as_posix().startswith("logs/"))
    ids = [r[0] for r in rows]
    problems = []
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} duplicate event ids")
    # A stack trace a stream split into events is one row (multi-line joining): its first
    # event's id, the lines joined. Every other event of it must be a line of such a row.
    joined = {}
    for event_id, message in rows:
        if event_id in expected and message != expected[event_id]:
            if not message.startswith(expected[event_id].rstrip("\n") + "\n"):
                problems.append(f"message changed: {event_id}")
            for line in message.split("\n")[1:]:
                joined[line] = event_id
    missing = [i for i in set(expected) - set(ids) if expected[i].rstrip("\n") not in joined]
    extra = set(ids) - set(expected)
    if missing or extra:
        problems.append(f"ids differ: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}")
    letters = list((lake / "errors").rglob("*.json"))
    if len(letters) != expected_letters:
        problems.append(f"expected {expected_letters} dead letters, found {len(letters)}")
    if compacted == 0:
        problems.append("the demo's compaction wrote no curated file")
    # The demo's rollups: the summary loglake stored (DataFusion) read back by DuckDB, against
    # the same aggregation done by DuckDB over the view.
    summary_files = sorted((lake / "summaries" / "errors_by_group_hourly").rglob("*.parquet"))
    stored = sorted(duckdb.sql(
        "SELECT CAST(dt AS VARCHAR), CAST(hour AS VARCHAR), log_group, events, errors, warnings FROM read_parquet("
        f"{[str(f) for f in summary_files]}, hive_partitioning = true, hive_types_autocast = false)").fetchall())
    groups = {}
    for dt, hour, group, level in view_rows(lake, sql, '"dt", "hour", log_group, level'):
        counts = groups.setdefault((dt, hour, group), [0, 0, 0])
        counts[0] += 1
        counts[1] += level in ("ERROR", "FATAL")
        counts[2] += level == "WARN"
    recomputed = sorted((*key, *c) for key, c in groups.items() if c[1] + c[2] > 0)
    if not summary_files or stored != recomputed:
        problems.append(f"errors_by_group_hourly differs: stored {stored} vs DuckDB {recomputed}")
    print(f"demo lake: {len(rows)} rows read by DuckDB through the logs_all view from {len(files)} files ({compacted} curated), "
          f"{len(expected)} log events and lines sent ({len(expected) - len(rows)} joined into the event above them), "
          f"{s3_count} records of {len(s3_expected)} S3 objects each once, "
          f"{len(letters)} dead letter(s); errors_by_group_hourly: {len(stored)} rows equal to DuckDB's own aggregation")
    for p in problems:
        print("FAIL:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
