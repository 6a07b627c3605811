"""Load and abuse: 1,000 concurrent connections x 100 messages on 2 reactors;
slowloris sockets are cut at handshake_timeout_ms while real clients are
served."""

from __future__ import annotations

import asyncio
import resource
import select
import socket
import threading
import time

import rawws
from conftest import T, run
from wsutil import config, connect, endpoint


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# before any server is spawned, so the child inherits it too
NOFILE = _raise_nofile()


def test_nofile_limit_is_enough():
    assert NOFILE >= 2 * 1000 + 500, f"RLIMIT_NOFILE {NOFILE} is too low for the load tests"


def test_1000_connections_x_100_messages(server_factory):
    srv = server_factory(threads=2)
    n_conns, n_msgs = 1000, 100
    url = srv.url("/echo")

    async def main():
        gate = asyncio.Semaphore(100)  # handshakes in flight at once
        all_open = asyncio.Event()
        opened = 0
        errors = []

        async def client(c):
            nonlocal opened
            async with gate:
                ws = await connect(url, open_timeout=T(30), close_timeout=T(10))
            try:
                opened += 1
                if opened == n_conns:
                    all_open.set()
                await asyncio.wait_for(all_open.wait(), T(60))  # all 1,000 open at once
                window = 10
                for base in range(0, n_msgs, window):
                    batch = [f"c{c}-m{i}" + "." * ((c + i) % 50) for i in range(base, base + window)]
                    for m in batch:
                        await ws.send(m)
                    for m in batch:
                        got = await asyncio.wait_for(ws.recv(), T(30))
                        if got != m:
                            errors.append(f"conn {c}: expected {m!r} got {got!r}")
                            return
            finally:
                await ws.close()

        t0 = time.monotonic()
        await asyncio.gather(*(client(c) for c in range(n_conns)))
        assert not errors, errors[:10]
        return time.monotonic() - t0

    elapsed = run(main(), 120)
    print(f"1000x100 echo round trips in {elapsed:.1f}s")
    srv.assert_healthy()


def test_slowloris_is_cut_at_handshake_deadline(server_factory):
    timeout_s = 1.5
    srv = server_factory(threads=2, config=config(endpoint("/echo", "echo"),
                                                  server={"handshake_timeout_ms": int(timeout_s * 1000)}))
    n_partial, n_dribble = 200, 40
    t0 = time.monotonic()
    partial = []
    for i in range(n_partial):
        s = socket.create_connection((srv.host, srv.port), timeout=T(5))
        s.sendall(b"GET /echo HTTP/1.1\r\nHost: " + srv.hostport.encode() + b"\r\nUpgrade: websocket\r\n")
        partial.append(s)
    # dribblers keep sending one byte at a time: an idle timer alone would
    # never fire for them; the handshake deadline is absolute
    dribble = [socket.create_connection((srv.host, srv.port), timeout=T(5)) for _ in range(n_dribble)]
    stop = threading.Event()
    dribble_head = b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000

    def dribbler():
        i = 0
        live = list(dribble)
        while live and not stop.is_set() and i < len(dribble_head):
            for s in list(live):
                try:
                    s.send(dribble_head[i:i + 1])
                except OSError:
                    live.remove(s)
            i += 1
            stop.wait(0.1)
    th = threading.Thread(target=dribbler, daemon=True)
    th.start()
    t_setup = time.monotonic() - t0

    # meanwhile a real client connects and is served normally
    async def normal():
        async with connect(srv.url("/echo"), open_timeout=T(5)) as ws:
            for i in range(20):
                await ws.send(f"normal {i}")
                assert await asyncio.wait_for(ws.recv(), T(5)) == f"normal {i}"
    t_normal_start = time.monotonic() - t0
    run(normal(), 20)
    t_normal = time.monotonic() - t0

    # every slow socket is closed by the server around the deadline
    deadline = t0 + t_setup + timeout_s + T(3)
    received = {s.fileno(): b"" for s in partial + dribble}
    closed_at = {}
    open_socks = {s.fileno(): s for s in partial + dribble}
    for s in open_socks.values():
        s.setblocking(False)
    try:
        while open_socks and time.monotonic() < deadline:
            r, _, _ = select.select(list(open_socks.values()), [], [], 0.05)
            for s in r:
                fd = s.fileno()
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    chunk = b""
                if chunk:
                    received[fd] += chunk
                else:
                    closed_at[fd] = time.monotonic() - t0
                    del open_socks[fd]
    finally:
        stop.set()
        th.join(5)
        still_open = len(open_socks)
        for s in partial + dribble:
            s.close()

    assert still_open == 0, (f"{still_open} of {n_partial + n_dribble} slow sockets still open "
                             f"{deadline - t0:.1f}s after start (handshake_timeout_ms={int(timeout_s * 1000)})")
    earliest = min(closed_at.values())
    assert t_normal < earliest, (f"the normal client (started at {t_normal_start:.2f}s) was only served at "
                                 f"{t_normal:.2f}s, after the first slow socket was cut at {earliest:.2f}s")
    assert earliest >= timeout_s - 0.3, f"a slow socket was closed after {earliest:.2f}s, before the deadline"
    # something was received on every one of them -> 408, then close
    not_408 = [v[:60] for v in received.values() if not v.startswith(b"HTTP/1.1 408")]
    assert not not_408, f"{len(not_408)} slow sockets did not get a 408, e.g. {not_408[:3]}"
    srv.assert_healthy()


def test_many_connect_disconnect_cycles(server_factory):
    """Churn: connections opened and dropped in every way (clean close,
    abrupt TCP close mid-message, close mid-handshake) leave the server
    healthy and serving."""
    srv = server_factory(threads=2)

    errors = []

    def churn(k):
        try:
            churn_inner(k)
        except BaseException as e:  # surface thread failures in the test
            errors.append(f"churn {k}: {e!r}")

    def churn_inner(k):
        for i in range(60):
            mode = (i + k) % 4
            if mode == 0:
                with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) as c:
                    c.send_text("x")
                    c.read_message(T(5))
                    c.send_close(1000)
                    c.expect_close(T(5))
            elif mode == 1:
                with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) as c:
                    c.send(rawws.build_frame(rawws.OP_BINARY, b"z" * 100_000)[:5000])  # then vanish
            elif mode == 2:
                s = socket.create_connection((srv.host, srv.port), timeout=T(5))
                s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpg")
                s.close()
            else:
                s = socket.create_connection((srv.host, srv.port), timeout=T(5))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()  # RST
    threads = [threading.Thread(target=churn, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(T(60))
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    srv.assert_healthy()
    with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) as c:
        c.send_text("survived")
        assert c.read_message(T(5)) == (rawws.OP_TEXT, b"survived")


def test_slow_reader_gets_everything_in_order(server_factory):
    """A client that sends a lot before it starts reading: the server queues
    (or pushes back) and, once the client reads, every echo arrives intact
    and in order."""
    srv = server_factory(threads=2)
    n, size = 512, 32 * 1024  # 16 MiB each way
    with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30)) as c:
        got = []
        err = []

        def reader():
            try:
                time.sleep(0.5)
                for _ in range(n):
                    got.append(c.read_message(T(30)))
            except BaseException as e:
                err.append(e)
        th = threading.Thread(target=reader, daemon=True)
        th.start()
        for i in range(n):
            c.send(rawws.build_frame(rawws.OP_BINARY, i.to_bytes(4, "big") * (size // 4)))
        th.join(T(60))
        assert not th.is_alive(), "reader did not finish"
        assert not err, err
        assert len(got) == n
        for i, (op, data) in enumerate(got):
            assert op == rawws.OP_BINARY and len(data) == size, (i, op, len(data))
            assert data == i.to_bytes(4, "big") * (size // 4), f"message {i} corrupted or out of order"
    srv.assert_healthy()


def test_max_connections_is_enforced_and_recovers(server_factory):
    srv = server_factory(threads=1, config=config(endpoint("/echo", "echo"), server={"max_connections": 5}))
    conns = [rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) for _ in range(5)]
    try:
        # the sixth is refused with a clear HTTP answer (ARCHITECTURE.md:
        # "every limit is ... enforced with a clear answer: HTTP 4xx/5xx
        # before upgrade"), not a silent reset
        with rawws.RawConn(srv.host, srv.port, T(5)) as extra:
            extra.send(rawws.build_request("GET", "/echo", rawws.upgrade_headers(extra.hostport)))
            try:
                resp = extra.read_http_response(T(5))
            except rawws.PeerClosed as e:
                raise AssertionError(f"over max_connections the server dropped the connection without "
                                     f"an HTTP answer (expected e.g. 503): {e}")
            assert 400 <= resp.status < 600, f"a sixth connection got {resp!r} with max_connections = 5"
            assert "close" in resp.header_tokens("Connection"), resp
            extra.expect_eof(T(5))
        # the five are unaffected
        for i, c in enumerate(conns):
            c.send_text(f"still {i}")
            assert c.read_message(T(5)) == (rawws.OP_TEXT, f"still {i}".encode())
        # a slot freed is a slot reusable
        conns[0].send_close(1000)
        conns[0].expect_close(T(5))
        conns[0].expect_eof(T(5))
        conns[0].close()
        deadline = time.monotonic() + T(5)
        while True:
            try:
                conns[0] = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5))
                break
            except (AssertionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        conns[0].send_text("reused")
        assert conns[0].read_message(T(5)) == (rawws.OP_TEXT, b"reused")
    finally:
        for c in conns:
            c.close()
