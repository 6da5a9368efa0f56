#!/usr/bin/env python3
"""Cold start: time from process start to the function's first request for an invocation;
and the peak RSS of a function binary handling one event.

    coldstart.py BINARY [--runs 20] [--event FILE]
    coldstart.py --python-baseline [--runs 20]
    coldstart.py BINARY --peak-rss --event FILE --bucket NAME   # AWS_ENDPOINT_URL: a local S3

A small stand-in of the Lambda runtime API (GET /next, POST /response) listens on 127.0.0.1.
Each run starts the binary as Lambda would (AWS_LAMBDA_RUNTIME_API and the usual variables),
records when its first GET …/invocation/next arrives, hands it the event, waits for the
response, and stops it. --python-baseline measures the same for a Python bootstrap that imports
boto3 and pyarrow (what a Python function doing this job loads). Prints median and p90 in ms.
--peak-rss instead reads the process's VmHWM (peak resident set) once it has responded: the
figure Lambda reports as Max Memory Used, for the binary that is deployed, allocator included.
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

PY_BOOTSTRAP = r"""
import os, urllib.request, boto3, pyarrow, pyarrow.parquet
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as r:
    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]; r.read()
urllib.request.urlopen(urllib.request.Request(f"http://{api}/2018-06-01/runtime/invocation/{rid}/response", data=b"{}", method="POST")).read()
"""


class Runtime(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, event: bytes):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.first_next = None
        self.responded = threading.Event()
        self.response = None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server: Runtime = self.server
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        if server.first_next is None:
            server.first_next = time.perf_counter()
        elif server.responded.is_set():
            # One invocation per process: park the second poll until the process is stopped.
            time.sleep(30)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "00000000-0000-4000-8000-000000000001")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
        self.send_header("Content-Length", str(len(server.event)))
        self.end_headers()
        self.wfile.write(server.event)

    def do_POST(self):
        server: Runtime = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server.response = (self.path, body)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        server.responded.set()


def one_run(command, event: bytes, bucket: str = "bench-bucket", peak_rss: list | None = None) -> float:
    server = Runtime(event)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x", "LOGLAKE_BUCKET": bucket, "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not server.responded.wait(120):
            raise SystemExit(f"no response from {command}")
        if peak_rss is not None:
            with open(f"/proc/{proc.pid}/status") as status:
                peak_rss.append(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")))
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()
    path, body = server.response
    if not path.endswith("/response"):
        raise SystemExit(f"invocation failed: {path} {body[:300]!r}")
    if peak_rss is not None and json.loads(body or b"{}").get("batchItemFailures"):
        raise SystemExit(f"the batch was not fully written: {body[:300]!r}")
    return (server.first_next - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--event", default=os.path.join(os.path.dirname(__file__), "..", "events", "ingest-cloudwatch", "control-message.json"))
    parser.add_argument("--python-baseline", action="store_true")
    parser.add_argument("--peak-rss", action="store_true")
    parser.add_argument("--bucket", default="bench-bucket")
    args = parser.parse_args()
    event = open(args.event, "rb").read()
    if args.peak_rss:
        peak = []
        one_run([args.binary], event, args.bucket, peak)
        name = os.path.basename(args.binary).replace("-", "_")
        print(f"peak RSS {os.path.basename(args.binary)} handling {os.path.basename(args.event)} "
              f"({len(event)} bytes) through the runtime API: {peak[0] / 1024:.1f} MiB")
        print(f"RESULT {name}_peak_rss_kib={peak[0]}")
        return 0
    command = [sys.executable, "-c", PY_BOOTSTRAP] if args.python_baseline else [args.binary]
    times = sorted(one_run(command, event) for _ in range(args.runs))
    label = "python (boto3 + pyarrow)" if args.python_baseline else os.path.basename(args.binary)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"cold start {label}: median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms over {len(times)} runs "
          f"(process start -> first GET /invocation/next)")
    key = "python_coldstart_ms" if args.python_baseline else "rust_coldstart_ms"
    print(f"RESULT {key}={statistics.median(times):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
