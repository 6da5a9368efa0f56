#!/usr/bin/env python3
"""The compaction baseline: DuckDB rewrites the same staging files as one sorted, partitioned
ZSTD Parquet dataset.

    duckdb_compact.py LAKE OUT [--threads N]

Runs COPY (SELECT * FROM the staging files ORDER BY event_time, log_group) TO OUT
(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt, hour)) and prints the time and MB/s of
staging data read. Peak RSS is measured around it by bench/compact.sh.
"""
import argparse
import pathlib
import time

import duckdb


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, default=0, help="0: DuckDB's default (all cores)")
    args = parser.parse_args()
    staging = pathlib.Path(args.lake) / "staging" / "logs"
    files = sorted(staging.rglob("*.parquet"))
    size = sum(f.stat().st_size for f in files)
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    start = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{staging}/**/*.parquet', hive_partitioning = true) "
        f"ORDER BY event_time, log_group) TO '{args.out}' "
        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt, hour))"
    )
    seconds = time.perf_counter() - start
    out_files = list(pathlib.Path(args.out).rglob("*.parquet"))
    out_size = sum(f.stat().st_size for f in out_files)
    print(f"duckdb COPY ({threads} threads): {len(files)} staging files ({size / 1e6:.1f} MB) -> {len(out_files)} files "
          f"({out_size / 1e6:.1f} MB), {seconds:.2f} s, {size / 1e6 / seconds:.1f} MB/s of staging data")
    print(f"RESULT duckdb_t{threads}_mbps={size / 1e6 / seconds:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
