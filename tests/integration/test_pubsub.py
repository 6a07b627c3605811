"""Pub/sub across reactors (envelope profile, --threads 4): 100 subscribers
spread over every reactor by SO_REUSEPORT, 3 publishers x 10,000 messages;
every subscriber gets all 30,000, each publisher's in order.  Then the same
while clients subscribe, unsubscribe and vanish all the time.

The 100 subscribers are `RawSub`s: a minimal asyncio WebSocket client
(handshake checked, server frames parsed strictly) that keeps up with ~3
million messages in one event loop where python-websockets' per-message
overhead would take minutes.  Publishers and churners use python-websockets."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import time

from websockets.exceptions import ConnectionClosed

import rawws
from conftest import T, run
from wsutil import SESSION_RE, check_timestamp, config, connect, dumps, endpoint, recv_json, uniq

CONFIG = config(endpoint(
    "/ps", "envelope",
    rate_limit_per_minute=0,      # publishers send 10,000 messages each
    max_output_bytes=67108864,    # python readers lag; pacing keeps them within ~1 MB anyway
    idle_ping_ms=0))

# deliveries are checked against the clock with this much slack: under load
# a message may sit in a queue for a while
TS_SLACK_S = 30.0


# --------------------------------------------------------------------------
# a fast subscriber
# --------------------------------------------------------------------------

class RawSub(asyncio.Protocol):
    """Envelope-profile subscriber on a raw socket.  Checks every published
    message it gets against `expect` ({publisher: count}): type, channel,
    data {"pub": p, "seq": n} with n the next seq for p."""

    progress = None  # an asyncio.Event shared by all, set whenever any sub advances

    def __init__(self, host: str, port: int, path: str, channel: str, expect: dict[int, int]):
        loop = asyncio.get_running_loop()
        self.host, self.port, self.path, self.channel = host, port, path, channel
        self.expect = expect
        self.next = {p: 0 for p in expect}
        self.total = 0
        self.key = rawws.new_key()
        self.buf = bytearray()
        self.http_done = False
        self.transport = None
        self.session_id: str | None = None
        self.greeted = loop.create_future()
        self.done = loop.create_future()
        self.lost = loop.create_future()
        self.replies: asyncio.Queue = asyncio.Queue()
        self.error: str | None = None
        self.close_code = None
        self.frag: list[bytes] = []
        self.frag_op = None
        if sum(expect.values()) == 0:
            self.done.set_result(True)

    @classmethod
    async def open(cls, host, port, path, channel, expect) -> "RawSub":
        loop = asyncio.get_running_loop()
        _, sub = await asyncio.wait_for(
            loop.create_connection(lambda: cls(host, port, path, channel, expect), host, port), T(10))
        await asyncio.wait_for(asyncio.shield(sub.greeted), T(10))
        return sub

    # -- plumbing
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(rawws.build_request("GET", self.path,
                                            rawws.upgrade_headers(f"{self.host}:{self.port}", self.key)))

    def connection_lost(self, exc):
        if not self.greeted.done():
            self.greeted.set_exception(AssertionError(f"connection lost before the greeting: {exc!r}"))
        if not self.done.done():
            self._fail(f"connection lost after {self.total} messages (close code {self.close_code}): {exc!r}")
        if not self.lost.done():
            self.lost.set_result(True)

    def _fail(self, why: str):
        if self.error is None:
            self.error = why
        if not self.done.done():
            self.done.set_exception(AssertionError(why))
        if not self.greeted.done():
            self.greeted.set_exception(AssertionError(why))

    def send_json(self, obj) -> None:
        self.transport.write(rawws.build_frame(rawws.OP_TEXT, dumps(obj)))

    async def request(self, obj, timeout: float = 10) -> dict:
        self.send_json(obj)
        return await asyncio.wait_for(self.replies.get(), T(timeout))

    def abort(self):
        if self.transport is not None:
            self.transport.abort()

    def close(self):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(rawws.build_frame(rawws.OP_CLOSE, rawws.close_payload(1000)))
            self.transport.close()

    def data_received(self, data: bytes):
        try:
            self._data(data)
        except AssertionError as e:
            self._fail(str(e))
            self.transport.abort()
        except Exception as e:  # a parse error is a test failure, not a crash of the loop
            self._fail(f"{type(e).__name__}: {e}")
            self.transport.abort()

    def _data(self, data: bytes):
        self.buf += data
        if not self.http_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[:end + 4]
            lines = head.split("\r\n")
            assert lines[0].startswith("HTTP/1.1 101"), f"upgrade refused: {head!r}"
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            assert headers.get("sec-websocket-accept") == rawws.accept_for(self.key), head
            self.http_done = True
        b = self.buf
        n = len(b)
        i = 0
        advanced = False
        while n - i >= 2:
            b0 = b[i]
            b1 = b[i + 1]
            assert not (b1 & 0x80), "server sent a masked frame"
            ln = b1 & 0x7F
            h = 2
            if ln == 126:
                if n - i < 4:
                    break
                ln = (b[i + 2] << 8) | b[i + 3]
                h = 4
            elif ln == 127:
                if n - i < 10:
                    break
                ln = struct.unpack_from("!Q", b, i + 2)[0]
                h = 10
            if n - i < h + ln:
                break
            payload = bytes(b[i + h:i + h + ln])
            i += h + ln
            op = b0 & 0x0F
            assert (b0 & 0x70) == 0, f"RSV bits set: {b0:#x}"
            if op >= 0x8:
                if op == rawws.OP_PING:
                    self.transport.write(rawws.build_frame(rawws.OP_PONG, payload))
                elif op == rawws.OP_CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    if not self.done.done():
                        self._fail(f"server closed ({self.close_code}, {payload[2:]!r}) after {self.total} messages")
                continue
            if op != 0:
                assert not self.frag, "new message inside a fragmented one"
                self.frag_op = op
            self.frag.append(payload)
            if not (b0 & 0x80):
                continue
            payload = b"".join(self.frag) if len(self.frag) > 1 else self.frag[0]
            self.frag.clear()
            assert self.frag_op == rawws.OP_TEXT, f"binary message {payload[:100]!r}"
            if self._message(payload):
                advanced = True
        del b[:i]
        if advanced and RawSub.progress is not None:
            RawSub.progress.set()

    def _message(self, payload: bytes) -> bool:
        m = json.loads(payload)
        t = m["type"]
        if t == "message":
            assert len(m) == 4 and m["channel"] == self.channel, f"bad delivery {m}"
            d = m["data"]
            p = d["pub"]
            seq = d["seq"]
            nxt = self.next.get(p)
            assert nxt is not None, f"message from unknown publisher {m}"
            assert seq == nxt, f"publisher {p}: expected seq {nxt}, got {seq} (after {self.total} messages)"
            assert len(d) == 2, m
            self.next[p] = nxt + 1
            self.total += 1
            if self.total == 1 or (self.total & 0x3FFF) == 0:
                assert set(m) == {"type", "data", "channel", "timestamp"}, m
                check_timestamp(m["timestamp"], TS_SLACK_S)
            if all(self.next[q] >= c for q, c in self.expect.items()) and not self.done.done():
                assert all(self.next[q] == c for q, c in self.expect.items()), self.next
                self.done.set_result(True)
            return True
        if t == "connected":
            assert self.session_id is None, f"second greeting {m}"
            sid = m["data"]["session_id"]
            assert isinstance(sid, str) and SESSION_RE.match(sid), m
            self.session_id = sid
            self.greeted.set_result(True)
            return False
        self.replies.put_nowait(m)
        return False

    @property
    def reactor(self) -> int:
        return int(self.session_id[:2], 16)


async def open_subs(srv, path, channel, expect, n, *, gate=50):
    sem = asyncio.Semaphore(gate)

    async def one(i):
        async with sem:
            s = await RawSub.open(srv.host, srv.port, path, channel, expect)
            m = await s.request({"type": "subscribe", "data": {"channels": [channel]}, "request_id": f"s{i}"})
            assert m["type"] == "subscribed" and m["data"] == {"channels": [channel]} and m["request_id"] == f"s{i}", m
            return s
    return await asyncio.gather(*(one(i) for i in range(n)))


async def wait_progress(subs, p: int, target: int, timeout: float):
    """Until every sub has seen publisher p's messages up to `target`."""
    deadline = time.monotonic() + timeout
    while True:
        lagging = [s for s in subs if s.next[p] < target and not s.done.done()]
        failed = [s.error for s in subs if s.error]
        assert not failed, failed[:3]
        if not lagging:
            return
        left = deadline - time.monotonic()
        assert left > 0, (f"subscribers stalled: publisher {p} target {target}, "
                          f"slowest at {min(s.next[p] for s in lagging)}")
        RawSub.progress.clear()
        try:
            await asyncio.wait_for(RawSub.progress.wait(), min(left, 1.0))
        except asyncio.TimeoutError:
            pass


async def publisher(url, p: int, channel: str, n: int, subs, window: int, stats: dict):
    """Pipelines n publishes (reading the `published` replies concurrently),
    staying at most `window` messages ahead of the slowest subscriber."""
    async with connect(url) as ws:
        greet = await recv_json(ws, 10)
        assert greet["type"] == "connected", greet

        async def reader():
            for i in range(n):
                m = await recv_json(ws, 60)
                assert m["type"] == "published" and m["data"] == {"channel": channel} and m["request_id"] == i, \
                    f"publisher {p}, reply {i}: {m}"
            stats[p] = n
        rt = asyncio.ensure_future(reader())
        try:
            for seq in range(n):
                if seq % 250 == 0 and seq >= window:
                    await wait_progress(subs, p, seq - window, T(60))
                await ws.send('{"type":"publish","data":{"channel":"%s","data":{"pub":%d,"seq":%d}},"request_id":%d}'
                              % (channel, p, seq, seq))
                if rt.done():
                    rt.result()  # surfaces a reader failure early
            await asyncio.wait_for(rt, T(60))
        finally:
            rt.cancel()


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------

def test_100_subscribers_3_publishers_30000_messages(server_factory):
    srv = server_factory(threads=4, config=CONFIG)
    n_subs, n_pubs, n_msgs = 100, 3, 10_000
    ch = uniq("firehose")
    url = srv.url("/ps")

    async def main():
        RawSub.progress = asyncio.Event()
        expect = {p: n_msgs for p in range(n_pubs)}
        subs = await open_subs(srv, "/ps", ch, expect, n_subs)
        reactors = sorted({s.reactor for s in subs})
        assert len(reactors) > 1, f"all 100 subscribers on one reactor ({reactors}); session ids: " \
                                  f"{[s.session_id for s in subs[:5]]}"
        assert reactors == [0, 1, 2, 3], f"subscribers landed on reactors {reactors} only"
        t0 = time.monotonic()
        stats = {}
        await asyncio.gather(*(publisher(url, p, ch, n_msgs, subs, 2000, stats) for p in range(n_pubs)))
        assert stats == expect, stats
        await asyncio.wait_for(asyncio.gather(*(s.done for s in subs)), T(120))
        elapsed = time.monotonic() - t0
        for s in subs:
            assert s.next == expect and s.total == n_pubs * n_msgs, (s.session_id, s.next)
        per_reactor = {r: sum(1 for s in subs if s.reactor == r) for r in reactors}
        print(f"{n_subs} subscribers {per_reactor} x {n_pubs * n_msgs} messages in {elapsed:.1f}s "
              f"({n_subs * n_pubs * n_msgs / elapsed:,.0f} deliveries/s)")
        for s in subs:
            s.close()
        await asyncio.wait_for(asyncio.gather(*(s.lost for s in subs)), T(10))
    run(main(), 300)
    srv.assert_healthy()


def test_subscribe_churn_while_publishing(server_factory):
    srv = server_factory(threads=4, config=CONFIG)
    ch = uniq("churn")
    n_pubs, n_msgs = 2, 5000
    url = srv.url("/ps")

    async def main():
        RawSub.progress = asyncio.Event()
        expect = {p: n_msgs for p in range(n_pubs)}
        steady = await open_subs(srv, "/ps", ch, expect, 8)
        stop = asyncio.Event()
        counts = {"cycles": 0, "abrupt": 0}
        errors: list[str] = []

        async def expect_reply(ws, type_, rid):
            while True:  # deliveries on `ch` may come first
                m = await recv_json(ws, 20)
                if m["type"] == "message":
                    continue
                assert m["type"] == type_ and m.get("request_id") == rid, m
                return m

        async def vanish(ws, rst=False):
            """Drop the TCP connection without a close frame (RST if asked),
            then let websockets notice so that none of its tasks is left."""
            if rst:
                sock = ws.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.transport.abort()
            await asyncio.wait_for(ws.wait_closed(), T(5))

        async def churner(k):
            rng = random.Random(k)
            while not stop.is_set():
                mode = rng.randrange(6)
                others = [f"{ch}-other-{rng.randrange(20)}" for _ in range(rng.randrange(1, 4))]
                try:
                    ws = await connect(url)
                except OSError as e:
                    errors.append(f"churner {k}: connect failed: {e!r}")
                    return
                try:
                    await recv_json(ws, 10)  # connected
                    sub = {"type": "subscribe", "data": {"channels": [ch] + others}, "request_id": "s"}
                    unsub = {"type": "unsubscribe", "data": {"channels": [ch]}, "request_id": "u"}
                    if mode == 0:  # orderly: subscribe, unsubscribe, close
                        await ws.send(dumps(sub))
                        await expect_reply(ws, "subscribed", "s")
                        await ws.send(dumps(unsub))
                        await expect_reply(ws, "unsubscribed", "u")
                        await ws.close()
                    elif mode == 1:  # subscribe and reset before the reply
                        await ws.send(dumps(sub))
                        await vanish(ws, rst=True)
                        counts["abrupt"] += 1
                    elif mode == 2:  # subscribed, read a little, vanish
                        await ws.send(dumps(sub))
                        await expect_reply(ws, "subscribed", "s")
                        try:  # whatever comes within 50 ms (publishing may be over)
                            for _ in range(rng.randrange(5)):
                                await asyncio.wait_for(ws.recv(), 0.05)
                        except asyncio.TimeoutError:
                            pass
                        await vanish(ws)
                        counts["abrupt"] += 1
                    elif mode == 3:  # many pipelined subscribe/unsubscribe pairs, then close
                        for j in range(10):
                            await ws.send(dumps(sub))
                            await ws.send(dumps(unsub))
                        await ws.send(dumps({"type": "ping", "request_id": "end"}))
                        replies = []
                        while True:
                            m = await recv_json(ws, 20)
                            if m["type"] == "message":
                                continue
                            if m["type"] == "pong":
                                break
                            replies.append((m["type"], m.get("request_id")))
                        assert replies == [("subscribed", "s"), ("unsubscribed", "u")] * 10, replies
                        await ws.close()
                    elif mode == 4:  # half a frame, then RST
                        await ws.send(dumps(sub))
                        await expect_reply(ws, "subscribed", "s")
                        ws.transport.write(rawws.build_frame(rawws.OP_TEXT, dumps(unsub))[:7])
                        await vanish(ws, rst=True)
                        counts["abrupt"] += 1
                    else:  # subscribe, never read, close uncleanly
                        await ws.send(dumps(sub))
                        await asyncio.sleep(rng.random() * 0.02)  # a random moment, not a synchronisation
                        ws.transport.close()
                        await asyncio.wait_for(ws.wait_closed(), T(5))
                        counts["abrupt"] += 1
                    counts["cycles"] += 1
                except (ConnectionClosed, asyncio.TimeoutError, AssertionError) as e:
                    errors.append(f"churner {k} mode {mode}: {e!r}")
                    await vanish(ws)
                    return

        churners = [asyncio.ensure_future(churner(k)) for k in range(24)]
        try:
            stats = {}
            await asyncio.gather(*(publisher(url, p, ch, n_msgs, steady, 1000, stats) for p in range(n_pubs)))
            await asyncio.wait_for(asyncio.gather(*(s.done for s in steady)), T(60))
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*churners, return_exceptions=True), T(30))
        assert not errors, errors[:10]
        for s in steady:
            assert s.next == expect, (s.session_id, s.next)
        assert counts["cycles"] >= 50, counts
        print(f"churn: {counts}")
        # the server still serves new subscribers
        ch2 = ch + "-late"
        late = await open_subs(srv, "/ps", ch2, {9: 1}, 8)
        async with connect(url) as ws:
            await recv_json(ws, 10)  # connected
            await ws.send(dumps({"type": "publish", "data": {"channel": ch2, "data": {"pub": 9, "seq": 0}},
                                 "request_id": 0}))
            await asyncio.wait_for(asyncio.gather(*(s.done for s in late)), T(10))
        for s in steady + late:
            s.close()
    run(main(), 180)
    srv.assert_healthy()
