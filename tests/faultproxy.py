#!/usr/bin/env python3
"""faultproxy.py - an HTTP proxy on loopback that misbehaves on purpose.

    faultproxy.py LISTEN_PORT UPSTREAM_PORT [--drop P] [--error P]
                  [--delay P] [--cut P] [--seed N] [--log FILE]

Each request it reads is, with the given probabilities (decided in this
order, from a seeded generator, so a run is repeatable):
  drop   the connection is closed without an answer
  error  answered 500 (half of them with Retry-After: 0) or 503
  delay  held 0.2-0.6 s, then forwarded
  cut    forwarded, but the answer is cut off halfway
and otherwise forwarded to 127.0.0.1:UPSTREAM_PORT unchanged.  One request
a connection: the proxy asks the upstream to close, and closes too.  The
log counts what it did, one line per request: "drop", "error", "delay",
"cut" or "pass".  Prints "ready" on stdout once it listens.
"""
import argparse
import random
import socket
import socketserver
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("listen", type=int)
ap.add_argument("upstream", type=int)
for k in ("drop", "error", "delay", "cut"):
    ap.add_argument("--" + k, type=float, default=0.0)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--log")
args = ap.parse_args()
rng = random.Random(args.seed)
lock = threading.Lock()
logf = open(args.log, "a", buffering=1) if args.log else None


def decide():
    with lock:
        r = rng.random()
    for k in ("drop", "error", "delay", "cut"):
        p = getattr(args, k)
        if r < p:
            return k
        r -= p
    return "pass"


def read_request(f):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline(65536)
        if not line:
            return None
        head += line
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
    body = f.read(n) if n else b""
    return head, body


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        req = read_request(self.rfile)
        if req is None:
            return
        head, body = req
        what = decide()
        if logf:
            logf.write(what + "\n")
        if what == "drop":
            return
        if what == "error":
            if rng.random() < 0.5:
                msg = b"HTTP/1.1 500 Internal Server Error\r\nRetry-After: 0\r\n"
            else:
                msg = b"HTTP/1.1 503 Service Unavailable\r\n"
            self.wfile.write(msg + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if what == "delay":
            time.sleep(0.2 + 0.4 * rng.random())
        lines = [l for l in head.split(b"\r\n") if l and not l.lower().startswith(b"connection:")]
        out = b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body
        try:
            up = socket.create_connection(("127.0.0.1", args.upstream), timeout=600)
        except OSError:
            return  # the upstream is down: as a dropped connection
        with up:
            up.sendall(out)
            got = b""
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                if what == "cut":
                    got += chunk
                    continue
                self.wfile.write(chunk)
            if what == "cut":
                self.wfile.write(got[: len(got) // 2])


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", args.listen), Handler) as srv:
    print("ready", flush=True)
    srv.serve_forever()
