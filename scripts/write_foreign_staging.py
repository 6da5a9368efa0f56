#!/usr/bin/env python3
"""Writes a staging file as another writer would, from a file loglake wrote (for the tests).

    write_foreign_staging.py firehose|extra-column SOURCE.parquet TARGET.parquet
    write_foreign_staging.py firehose-rows SCHEMA.parquet ROWS.ndjson TARGET.parquet

firehose: the rows with new event ids (prefix "fh-"), timestamps stored as INT96 (how
Firehose's Parquet conversion, a Hive writer, stores them), and without the trace_id column (a
file of an older schema). extra-column: the rows with new event ids (prefix "x-") and a column
the logs table does not have.
firehose-rows: the rows firehose-transform returned as `Ok` (one JSON object per line), written
as Firehose's record format conversion writes them: in the table's schema (taken from SCHEMA, a
file loglake wrote), timestamps as INT96, SNAPPY.
Prints the event ids written, as a JSON list.
"""
import json
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if sys.argv[1] == "firehose-rows":
    schema_file, rows_file, target = sys.argv[2:5]
    schema = pq.read_schema(schema_file).remove_metadata()
    with open(rows_file) as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows:
        # Firehose reads the JSON by the table's columns; epoch milliseconds for timestamps.
        row["attributes"] = list((row.get("attributes") or {}).items())
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, target, use_deprecated_int96_timestamps=True, compression="snappy")
    print(json.dumps(table.column("event_id").to_pylist()))
    sys.exit(0)

kind, source, target = sys.argv[1:4]
table = pq.read_table(source)
prefix = {"firehose": "fh-", "extra-column": "x-"}.get(kind, "")
ids = pc.binary_join_element_wise(prefix, table.column("event_id"), "")
table = table.set_column(table.schema.get_field_index("event_id"), "event_id", ids)
if kind == "firehose":
    table = table.drop_columns(["trace_id"])
    pq.write_table(table, target, use_deprecated_int96_timestamps=True, compression="snappy")
elif kind == "extra-column":
    table = table.append_column("bytes", pa.array(range(table.num_rows), pa.int64()))
    pq.write_table(table, target)
else:
    sys.exit(f"unknown kind {kind}")
# The file as written must hold what it says (INT96 for firehose).
written = pq.ParquetFile(target).schema
if kind == "firehose":
    assert written.column(written.names.index("event_time")).physical_type == "INT96", written
print(json.dumps(table.column("event_id").to_pylist()))
