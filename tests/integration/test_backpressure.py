"""Slow consumers (envelope profile, max_output_bytes = 65536): a subscriber
that stops reading while a publisher floods its channel is closed with 1008
"slow consumer" (slow_consumer = "close") or has messages dropped and is told
how many with MESSAGES_DROPPED once it reads again (slow_consumer = "drop");
a fast subscriber on the same channel gets every message, in order, either
way.

The slow subscriber is a raw blocking socket with a 4 KiB receive buffer set
before connect (so the kernel cannot absorb the flood); it is not touched
while the flood runs.  The publisher stays at most 16 messages ahead of the
fast subscriber, so only the slow one ever has a queue."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

import rawws
import wsutil
from conftest import T, run
from wsutil import check_timestamp, config, dumps, endpoint, recv_json, uniq

PAD = "x" * 1000
N = 6000  # ~6.5 MB through a 64 KiB output limit and a 4 KiB receive window
WINDOW = 16
TS_SLACK_S = 30.0  # a message read long after it was queued is still checked against the clock

CONFIG = config(
    endpoint("/bp", "envelope", rate_limit_per_minute=0, max_output_bytes=65536, slow_consumer="close",
             idle_ping_ms=0),
    endpoint("/bpdrop", "envelope", rate_limit_per_minute=0, max_output_bytes=65536, slow_consumer="drop",
             idle_ping_ms=0),
)


def connect(url):
    # a deep receive queue: python-websockets must not stop reading a fast
    # subscriber's socket (and so make it slow) while its checks catch up
    return wsutil.connect(url, max_queue=4096)


def slow_subscriber(srv, path: str, channel: str) -> rawws.RawConn:
    """Subscribed to `channel` on a socket whose receive buffer is 4 KiB."""
    c = rawws.open_ws(srv.host, srv.port, path, T(10), rcvbuf=4096)
    g = c.read_json(T(5))
    assert g["type"] == "connected", g
    c.send_text(dumps({"type": "subscribe", "data": {"channels": [channel]}, "request_id": "slow"}))
    m = c.read_json(T(5))
    assert m["type"] == "subscribed" and m["request_id"] == "slow", m
    return c


class Fast:
    """A websockets subscriber that reads everything and checks the order."""

    def __init__(self, ws, channel: str):
        self.ws, self.channel = ws, channel
        self.count = 0
        self.advanced = asyncio.Event()
        self.task = None

    @classmethod
    async def open(cls, url: str, channel: str) -> "Fast":
        ws = await connect(url)
        assert (await recv_json(ws))["type"] == "connected"
        await ws.send(dumps({"type": "subscribe", "data": {"channels": [channel]}, "request_id": "fast"}))
        m = await recv_json(ws)
        assert m["type"] == "subscribed", m
        f = cls(ws, channel)
        f.task = asyncio.ensure_future(f._read())
        return f

    async def _read(self):
        while True:
            m = await recv_json(self.ws, None)  # cancelled when done
            assert m["type"] == "message" and m["channel"] == self.channel, m
            assert m["data"] == {"seq": self.count, "pad": PAD}, \
                f"fast subscriber: expected seq {self.count}, got {str(m)[:200]}"
            self.count += 1
            self.advanced.set()

    async def reach(self, n: int, timeout: float):
        deadline = time.monotonic() + timeout
        while self.count < n:
            if self.task.done():
                self.task.result()
                raise AssertionError(f"fast subscriber stopped at {self.count}")
            left = deadline - time.monotonic()
            assert left > 0, f"fast subscriber stalled at {self.count} of {n}"
            self.advanced.clear()
            try:
                await asyncio.wait_for(self.advanced.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass


async def flood(url: str, channel: str, fast, first: int, count: int):
    """Publishes seq first..first+count-1, WINDOW at a time, each window once
    the fast subscriber(s) (a Fast or a list of them) have the previous one."""
    fasts = fast if isinstance(fast, list) else [fast]
    async with connect(url) as ws:
        assert (await recv_json(ws))["type"] == "connected"
        for base in range(first, first + count, WINDOW):
            seqs = range(base, min(base + WINDOW, first + count))
            for s in seqs:
                await ws.send(dumps({"type": "publish", "data": {"channel": channel,
                                                                  "data": {"seq": s, "pad": PAD}},
                                     "request_id": s}))
            for s in seqs:
                m = await recv_json(ws, 10)
                assert m["type"] == "published" and m["request_id"] == s, m
            for f in fasts:
                await f.reach(seqs[-1] + 1, T(20))


@pytest.fixture
def bp_server(server_factory):
    return server_factory(threads=2, config=CONFIG)


def test_slow_consumer_is_closed_1008(bp_server):
    srv = bp_server
    ch = uniq("bp")
    slow = slow_subscriber(srv, "/bp", ch)

    async def main():
        fast = await Fast.open(srv.url("/bp"), ch)
        await flood(srv.url("/bp"), ch, fast, 0, N)
        assert fast.count == N
        fast.task.cancel()
        await fast.ws.close()
    run(main(), 120)

    # now look at what the slow one got
    seqs, close = [], None
    deadline = time.monotonic() + T(15)
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, (f"slow subscriber was not closed: {len(seqs)} messages of {N} "
                              f"read and the connection is still open")
            try:
                f = slow.read_frame(min(left, 2.0))
            except TimeoutError:
                assert len(seqs) < N, f"slow subscriber got all {N} messages and was never closed"
                continue
            if f.opcode == rawws.OP_CLOSE:
                close = f
                break
            assert f.opcode == rawws.OP_TEXT and f.fin, f
            m = json.loads(f.payload)
            assert m["type"] == "message" and m["channel"] == ch, m
            seqs.append(m["data"]["seq"])
    except rawws.PeerClosed:
        pass  # EOF or reset without a close frame
    assert seqs == list(range(len(seqs))), f"slow subscriber got a non-contiguous prefix: {seqs[:5]}...{seqs[-5:]}"
    assert len(seqs) < N, "slow subscriber got every message"
    if close is not None:
        assert close.close_code == 1008, close
        assert close.close_reason == b"slow consumer", close
        try:
            slow.send_close(1008)
        except OSError:
            pass
        slow.expect_eof(T(5))
    print(f"slow subscriber: {len(seqs)} of {N} messages, then "
          f"{'close 1008' if close is not None else 'EOF/reset without a close frame'}")
    slow.close()
    srv.assert_healthy()


def test_slow_consumer_close_spares_the_publisher_and_others(bp_server):
    """After the slow one is cut, the channel keeps working for everyone else."""
    srv = bp_server
    ch = uniq("bp2")
    slows = [slow_subscriber(srv, "/bp", ch) for _ in range(3)]

    async def main():
        fasts = [await Fast.open(srv.url("/bp"), ch) for _ in range(2)]
        await flood(srv.url("/bp"), ch, fasts, 0, N)
        # a second round after the slow ones are gone
        await flood(srv.url("/bp"), ch, fasts, N, 200)
        for f in fasts:
            assert f.count == N + 200
            f.task.cancel()
            await f.ws.close()
    run(main(), 120)
    for s in slows:
        # every slow one was cut: a close 1008 (or EOF) follows what it was sent
        n = 0
        try:
            while True:
                f = s.read_frame(T(10))
                if f.opcode == rawws.OP_CLOSE:
                    assert f.close_code == 1008 and f.close_reason == b"slow consumer", f
                    break
                n += 1
        except rawws.PeerClosed:
            pass
        assert n < N + 2, f"a slow subscriber got all {n} messages"
        s.close()
    srv.assert_healthy()


def test_slow_consumer_drop_reports_messages_dropped(bp_server):
    srv = bp_server
    ch = uniq("drop")
    slow = slow_subscriber(srv, "/bpdrop", ch)
    state = {}

    async def main():
        fast = await Fast.open(srv.url("/bpdrop"), ch)
        await flood(srv.url("/bpdrop"), ch, fast, 0, N)
        assert fast.count == N
        state["fast"] = fast
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), T(120)))

        # the slow one reads again: a prefix of the messages, MESSAGES_DROPPED
        # covering every one it did not get, and the connection open
        delivered, dropped, notices = [], 0, []
        deadline = time.monotonic() + T(20)
        while len(delivered) + dropped < N:
            left = deadline - time.monotonic()
            assert left > 0, (f"after reading again: {len(delivered)} delivered + {dropped} reported dropped "
                              f"!= {N} published; notices {notices}")
            try:
                m = slow.read_json(left)
            except TimeoutError:
                gaps = [(a, b) for a, b in zip([-1] + delivered, delivered + [N]) if b != a + 1]
                raise AssertionError(f"slow subscriber, reading again, stalled: {len(delivered)} delivered "
                                     f"(gaps {gaps[:5]}), {dropped} reported dropped in notices {notices}, "
                                     f"of {N} published") from None
            if m["type"] == "message":
                assert m["channel"] == ch and set(m) == {"type", "data", "channel", "timestamp"}, str(m)[:200]
                s = m["data"]["seq"]
                assert not delivered or s > delivered[-1], f"seq {s} after {delivered[-1]}"
                # everything before s was delivered or reported dropped... at the latest by the end
                assert dropped <= s - len(delivered), (s, len(delivered), dropped)
                delivered.append(s)
            else:
                assert m["type"] == "error", str(m)[:300]
                assert set(m) in ({"type", "data", "timestamp"}, {"type", "data", "request_id", "timestamp"}), m
                assert m.get("request_id") is None, m
                check_timestamp(m["timestamp"], TS_SLACK_S)
                d = m["data"]
                assert set(d) == {"error_code", "message", "details"} and d["error_code"] == "MESSAGES_DROPPED", m
                assert set(d["details"]) == {"dropped"}, m
                k = d["details"]["dropped"]
                assert isinstance(k, int) and k > 0, m
                notices.append(k)
                dropped += k
        assert notices, f"no MESSAGES_DROPPED, yet only {len(delivered)} of {N} delivered"
        assert len(delivered) + dropped == N, (len(delivered), dropped)
        assert len(delivered) < N
        print(f"drop: {len(delivered)} delivered, {dropped} dropped in {len(notices)} notice(s)")

        async def tail():
            fast = state["fast"]
            await flood(srv.url("/bpdrop"), ch, fast, N, 20)
            fast.task.cancel()
            await fast.ws.close()
        loop.run_until_complete(asyncio.wait_for(tail(), T(30)))
        # the slow one (now reading) gets the new ones, in order, nothing else
        for s in range(N, N + 20):
            m = slow.read_json(T(5))
            assert m["type"] == "message" and m["data"] == {"seq": s, "pad": PAD}, str(m)[:300]
        slow.send_text(dumps({"type": "ping", "request_id": "still-open"}))
        m = slow.read_json(T(5))
        assert m["type"] == "pong" and m["request_id"] == "still-open", m
        slow.send_close(1000)
        f = slow.expect_close(T(5))
        assert f.close_code == 1000, f
    finally:
        fast = state.get("fast")
        if fast is not None and not fast.task.done():
            fast.task.cancel()
            loop.run_until_complete(asyncio.wait_for(fast.ws.close(), T(5)))
        loop.close()
        slow.close()
    srv.assert_healthy()
