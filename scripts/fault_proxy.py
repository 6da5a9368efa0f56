"""A fault-injecting HTTP proxy on loopback, in front of moto, for the reliability tests.

    fault_proxy.py --upstream http://127.0.0.1:PORT --rate 0.1 --seed 7 [--stall SECONDS]
                   [--kinds reset_after,stall] [--max-faults N]

Prints `listening PORT` on stdout once it accepts connections. Each request is forwarded to the
upstream unchanged, except that a fraction `--rate` of them (chosen by a seeded generator) get a
fault instead (at most `--max-faults`), each kind (of `--kinds`, all by default) as often as its
weight in FAULTS says:

- slowdown      503 SlowDown (S3) / ThrottlingException (JSON APIs), not forwarded
- internal      500 InternalError, not forwarded
- reset         the connection reset before forwarding
- reset_after   forwarded (the upstream acted), then the connection reset: the response is lost
- truncate      forwarded, then half the response body and the connection closed
- stall         forwarded, then no answer for --stall seconds (past the client's timeout)

The faults after forwarding are the hard ones: the write happened and the client cannot know,
so its retry must not duplicate anything. `GET /__faults` (answered by the proxy itself) returns
the requests seen and the faults injected by kind, as JSON.
"""

import argparse
import http.client
import http.server
import json
import random
import socket
import struct
import threading
import time
import urllib.parse

FAULTS = {"slowdown": 3, "internal": 2, "reset": 2, "reset_after": 2, "truncate": 2, "stall": 1}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


class Faults:
    def __init__(self, rate, seed, kinds, max_faults):
        self.rate = rate
        self.kinds = {kind: FAULTS[kind] for kind in kinds}
        self.left = max_faults
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"requests": 0, **{kind: 0 for kind in FAULTS}}

    def draw(self):
        """The fault for the next request, or None."""
        with self.lock:
            self.counts["requests"] += 1
            if self.left == 0 or self.random.random() >= self.rate:
                return None
            kind = self.random.choices(list(self.kinds), weights=list(self.kinds.values()))[0]
            self.counts[kind] += 1
            self.left -= 1
            return kind


def make_handler(upstream, faults, stall_seconds):
    target = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))

        def reset(self):
            # SO_LINGER 0: close sends RST, as a dropped connection does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def error(self, status, code):
            if self.headers.get("X-Amz-Target"):
                body = json.dumps({"__type": code, "message": "injected by fault_proxy"}).encode()
                content_type = "application/x-amz-json-1.1"
            else:
                body = f"<Error><Code>{code}</Code><Message>injected by fault_proxy</Message></Error>".encode()
                content_type = "application/xml"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def forward(self, body):
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or self.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            return response, payload

        def handle_any(self):
            body = self.read_body()
            if self.path == "/__faults":
                payload = json.dumps(faults.counts).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            fault = faults.draw()
            if fault == "slowdown":
                return self.error(503, "ThrottlingException" if self.headers.get("X-Amz-Target") else "SlowDown")
            if fault == "internal":
                return self.error(500, "InternalError")
            if fault == "reset":
                return self.reset()
            response, payload = self.forward(body)
            if fault == "reset_after":
                return self.reset()
            if fault == "stall":
                time.sleep(stall_seconds)
                return self.reset()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault == "truncate":
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                return self.reset()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stall", type=float, default=3.0)
    parser.add_argument("--kinds", default=",".join(FAULTS))
    parser.add_argument("--max-faults", type=int, default=-1)
    args = parser.parse_args()
    faults = Faults(args.rate, args.seed, args.kinds.split(","), args.max_faults)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.upstream, faults, args.stall))
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
