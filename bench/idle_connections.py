#!/usr/bin/python3
"""Idle-connection capacity and memory: open N WebSocket connections to a
running server, hold them, and report the server's RSS growth per connection.

Bounded and loopback-only. Connections are spread over several client
processes (each process's open-files limit is 20,000 here) and over source
addresses 127.0.0.2, 127.0.0.3, ... so ephemeral ports never run out.
While the connections are held, one extra client echoes messages to show the
server still serves active traffic.

    taskset -c 0 ./build/ringcast --threads 2 --listen 127.0.0.1:8080 &
    taskset -c 1 bench/idle_connections.py --pid $! --port 8080 --connections 30000

RSS is read from /proc/PID/status (VmRSS): it is the server process's own
memory; kernel socket buffers are not in it.
"""
import argparse
import base64
import multiprocessing as mp
import os
import resource
import selectors
import socket
import sys
import time

MAX_CONNECTIONS = 100_000
MAX_HOLD_S = 120


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def open_connections(index, count, host, port, path, ready, release, results):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    source = f"127.0.0.{2 + index}"
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    sel = selectors.DefaultSelector()
    socks, pending = [], 0
    deadline = time.monotonic() + 60
    opened = 0
    upgraded = 0
    # Open in waves so the server's accept backlog never overflows.
    while (opened < count or pending) and time.monotonic() < deadline:
        while opened < count and pending < 500:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((source, 0))
            s.setblocking(False)
            s.connect_ex((host, port))
            sel.register(s, selectors.EVENT_WRITE, [b"", False])
            socks.append(s)
            opened += 1
            pending += 1
        for k, ev in sel.select(timeout=1):
            s, state = k.fileobj, k.data
            if ev & selectors.EVENT_WRITE and not state[1]:
                s.send(request)
                state[1] = True
                sel.modify(s, selectors.EVENT_READ, state)
                continue
            data = s.recv(4096)
            if not data:
                sel.unregister(s)
                pending -= 1
                continue
            state[0] += data
            if b"\r\n\r\n" in state[0]:
                if state[0].startswith(b"HTTP/1.1 101"):
                    upgraded += 1
                sel.unregister(s)
                pending -= 1
    results.put((index, upgraded))
    ready.set()
    release.wait(MAX_HOLD_S)
    for s in socks:
        s.close()


def echo_probe(host, port, seconds):
    """A plain active client: handshake, then text echoes for `seconds`."""
    s = socket.create_connection((host, port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /echo HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    assert buf.startswith(b"HTTP/1.1 101"), buf[:40]
    payload = b"still serving"
    frame = bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload  # zero mask: payload as is
    n, t_end = 0, time.monotonic() + seconds
    while time.monotonic() < t_end:
        s.sendall(frame)
        got = b""
        while len(got) < 2 + len(payload):
            got += s.recv(4096)
        assert got[2:] == payload
        n += 1
    s.close()
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pid", type=int, required=True, help="server pid (for RSS)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--path", default="/echo")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--per-process", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to hold them (echo probe runs meanwhile)")
    args = ap.parse_args()
    if not args.host.startswith("127."):
        sys.exit("idle_connections: loopback targets only")
    if not 0 < args.connections <= MAX_CONNECTIONS or args.hold > MAX_HOLD_S:
        sys.exit(f"idle_connections: at most {MAX_CONNECTIONS} connections and {MAX_HOLD_S} s")

    procs_n = (args.connections + args.per_process - 1) // args.per_process
    if procs_n < 2:
        sys.exit("idle_connections: need at least two client processes (raise --connections or lower --per-process)")
    release = mp.Event()
    results = mp.Queue()
    procs = []
    left = args.connections

    def start(i):
        nonlocal left
        n = min(args.per_process, left)
        left -= n
        ready = mp.Event()
        p = mp.Process(target=open_connections,
                       args=(i, n, args.host, args.port, args.path, ready, release, results))
        p.start()
        procs.append(p)
        return ready

    # Phase 1 warms what every server keeps regardless of connection count
    # (receive buffers the kernel has written to, output pools); phase 2's
    # growth over phase 1 is the cost of one more held connection.
    before = rss_bytes(args.pid)
    t0 = time.monotonic()
    start(0).wait(90)
    first = results.get(timeout=5)[1]
    time.sleep(0.5)
    warm = rss_bytes(args.pid)
    for e in [start(i) for i in range(1, procs_n)]:
        e.wait(90)
    rest = sum(results.get(timeout=5)[1] for _ in procs[1:])
    setup_s = time.monotonic() - t0
    time.sleep(0.5)
    after = rss_bytes(args.pid)
    echoes = echo_probe(args.host, args.port, args.hold)
    release.set()
    for p in procs:
        p.join(30)
    upgraded = first + rest
    print(f"connections    {upgraded} upgraded of {args.connections} in {setup_s:.1f} s "
          f"({procs_n} client processes)")
    print(f"server RSS     {before / 2**20:.1f} MiB before, {warm / 2**20:.1f} MiB with {first}, "
          f"{after / 2**20:.1f} MiB with {upgraded}")
    print(f"per connection {(after - warm) / max(rest, 1):.0f} bytes of RSS growth beyond the first {first} "
          f"({(after - before) / max(upgraded, 1):.0f} bytes averaged over all, warm-up included)")
    print(f"active client  {echoes} echoes in {args.hold:.1f} s while they were held")
    sys.exit(0 if upgraded == args.connections and echoes > 0 else 1)


if __name__ == "__main__":
    main()
