#!/usr/bin/env python3
"""Reads a lake directory with an independent Parquet reader and prints one JSON row a line.

    read_lake.py --reader pyarrow|duckdb DIR [PREFIX]

Rows of the Hive-partitioned Parquet files under DIR/PREFIX (default staging/logs), with the
partition columns dt and hour, timestamps (event_time …) as epoch milliseconds and attributes as an object.
The Rust integration tests compare these rows with their input, record by record.
"""
import argparse
import datetime
import json
import pathlib
import sys


def rows_pyarrow(root: pathlib.Path):
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(root), format="parquet", partitioning="hive")
    table = dataset.to_table()
    for row in table.to_pylist():
        yield row


def rows_duckdb(root: pathlib.Path):
    import duckdb

    con = duckdb.connect()
    pattern = str(root / "**" / "*.parquet")
    cur = con.execute(
        "SELECT * FROM read_parquet(?, hive_partitioning = true, hive_types_autocast = false)", [pattern]
    )
    names = [d[0] for d in cur.description]
    for values in cur.fetchall():
        yield dict(zip(names, values))


def jsonable(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime.datetime):
            value = int(value.timestamp() * 1000 + 0.5)
        elif key == "attributes":
            value = dict(value) if value is not None else {}
        elif key in ("dt", "hour"):
            value = str(value)
        out[key] = value
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reader", choices=["pyarrow", "duckdb"], default="pyarrow")
    parser.add_argument("lake")
    parser.add_argument("prefix", nargs="?", default="staging/logs")
    args = parser.parse_args()
    root = pathlib.Path(args.lake) / args.prefix
    if not root.exists():
        print(f"no such directory: {root}", file=sys.stderr)
        return 2
    rows = rows_pyarrow(root) if args.reader == "pyarrow" else rows_duckdb(root)
    for row in rows:
        print(json.dumps(jsonable(row), ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
