#!/usr/bin/env python3
"""Baseline: the same job as loglake's ingest, the way a Python Lambda would do it.

    baseline_pyarrow.py WORKLOAD_DIR OUT_DIR

For each event: base64 → gunzip → json.loads, a level sniff per line (JSON "level" key, else a
regex for the usual words), and one ZSTD Parquet file per event (pyarrow) with the columns that
carry data. Prints MB/s of message text, one thread, best of three rounds.
"""
import base64
import gzip
import json
import pathlib
import re
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

LEVEL_WORD = re.compile(r"\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)\b")
LEVEL_JSON = re.compile(r'"level"\s*:\s*"?(\w+)')


def sniff(message: str):
    head = message[:200]
    m = LEVEL_JSON.search(head) if head.startswith("{") else None
    if m is None:
        m = LEVEL_WORD.search(head)
    return m.group(1).upper() if m else None


def ingest(data: str, out: pathlib.Path, index: int) -> int:
    payload = json.loads(gzip.decompress(base64.b64decode(data)))
    events = payload["logEvents"]
    n = len(events)
    table = pa.table({
        "event_time": pa.array([e["timestamp"] for e in events], pa.timestamp("ms", tz="UTC")),
        "event_id": [e["id"] for e in events],
        "account_id": [payload["owner"]] * n,
        "log_group": [payload["logGroup"]] * n,
        "log_stream": [payload["logStream"]] * n,
        "level": [sniff(e["message"]) for e in events],
        "message": [e["message"] for e in events],
    })
    pq.write_table(table, out / f"part-{index:03d}.parquet", compression="zstd")
    return sum(len(e["message"].encode()) for e in events)


def main() -> int:
    workload, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    events = [json.loads(p.read_text())["awslogs"]["data"] for p in sorted(workload.glob("event-*.json"))]
    rounds = []
    message_bytes = 0
    for _ in range(3):
        start = time.perf_counter()
        message_bytes = sum(ingest(data, out, i) for i, data in enumerate(events))
        rounds.append(time.perf_counter() - start)
    best = min(rounds)
    print(f"python + pyarrow baseline, 1 thread: {message_bytes / 1e6 / best:.1f} MB/s of message text "
          f"(best of 3; rounds {', '.join(f'{r:.2f}s' for r in rounds)})")
    print(f"RESULT python_mbps={message_bytes / 1e6 / best:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
