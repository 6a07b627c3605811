"""/echo with a real peer (python-websockets): every message comes back whole
with the same opcode, at every length-encoding boundary up to the default
16 MiB limit; fragments, pings, close codes, ordering, concurrency."""

from __future__ import annotations

import asyncio
import os

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from conftest import T, run

MIB = 1 << 20
DEFAULT_MAX = 16 * MIB
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, DEFAULT_MAX]


def connect(url, **kw):
    kw.setdefault("max_size", DEFAULT_MAX)
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", T(10))
    kw.setdefault("close_timeout", T(5))
    kw.setdefault("write_limit", 1 << 22)
    return websockets.connect(url, **kw)


def text_of(n: int) -> str:
    # mix of 1-, 2-, 3- and 4-byte UTF-8 would make the byte size fuzzy, so
    # use ASCII for the exact-size cases (multi-byte content is tested below)
    pattern = "ringcast-0123456789-abcdefghijklmnopqrstuvwxyz\n"
    return (pattern * (n // len(pattern) + 1))[:n]


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_text_roundtrip(server, size):
    msg = text_of(size)

    async def main():
        async with connect(server.url("/echo")) as ws:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), T(30))
            assert isinstance(got, str), "text message came back as binary"
            assert len(got) == len(msg)
            assert got == msg
    run(main(), 90)


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_binary_roundtrip(server, size):
    msg = os.urandom(size)

    async def main():
        async with connect(server.url("/echo")) as ws:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), T(30))
            assert isinstance(got, bytes), "binary message came back as text"
            assert len(got) == len(msg)
            assert got == msg
    run(main(), 90)


def test_binary_with_invalid_utf8_is_fine(server):
    # binary payloads are never UTF-8 validated
    msg = b"\xff\xfe\x00\xc0\xaf\xed\xa0\x80" * 100

    async def main():
        async with connect(server.url("/echo")) as ws:
            await ws.send(msg)
            assert await ws.recv() == msg
    run(main())


def test_multibyte_text(server):
    msg = "héllo wörld — 日本語 — 🎉🚀 — \u0000 \u2028 \uffff \U0010ffff" * 50

    async def main():
        async with connect(server.url("/echo")) as ws:
            await ws.send(msg)
            assert await ws.recv() == msg
    run(main())


def test_one_over_default_limit_closes_1009(server):
    msg = os.urandom(DEFAULT_MAX + 1)

    async def main():
        async with connect(server.url("/echo"), max_size=None) as ws:
            with pytest.raises(ConnectionClosed) as ei:
                # the server may refuse on seeing the frame header, while we
                # are still sending: the close can surface in send or recv
                await ws.send(msg)
                await asyncio.wait_for(ws.recv(), T(30))
            assert ei.value.rcvd is not None, f"no close frame received: {ei.value}"
            assert ei.value.rcvd.code == 1009
    run(main(), 90)


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_fragmented_message(server, kind):
    if kind == "text":
        # fragment boundaries inside multi-byte characters are not allowed by
        # the websockets API (fragments are str), but the whole must match
        frags = ["frag-one ", "", "frag-two ünï ", "🎉" * 1000, "end"]
        expect = "".join(frags)
    else:
        frags = [os.urandom(10), b"", os.urandom(70000), os.urandom(1)]
        expect = b"".join(frags)

    async def main():
        async with connect(server.url("/echo")) as ws:
            await ws.send(frags)  # an iterable is sent as fragments
            got = await asyncio.wait_for(ws.recv(), T(10))
            assert got == expect
            # and a normal message afterwards still works
            await ws.send("after")
            assert await ws.recv() == "after"
    run(main())


def test_fragmented_message_async_iterable(server):
    async def gen():
        for i in range(20):
            yield f"part{i};"
            await asyncio.sleep(0.01)

    async def main():
        async with connect(server.url("/echo")) as ws:
            await ws.send(gen())
            got = await asyncio.wait_for(ws.recv(), T(10))
            assert got == "".join(f"part{i};" for i in range(20))
    run(main())


@pytest.mark.parametrize("payload", [b"", b"x", b"ping-payload-\x00\xff", bytes(range(125))],
                         ids=["empty", "1B", "binary", "125B"])
def test_ping_gets_pong_with_payload(server, payload):
    async def main():
        async with connect(server.url("/echo")) as ws:
            # websockets matches the pong payload to the ping it sent
            waiter = await ws.ping(payload)
            await asyncio.wait_for(waiter, T(5))
            await ws.send("still here")
            assert await ws.recv() == "still here"
    run(main())


def test_many_pings_in_flight(server):
    async def main():
        async with connect(server.url("/echo")) as ws:
            waiters = [await ws.ping(f"p{i}".encode()) for i in range(50)]
            await asyncio.wait_for(asyncio.gather(*waiters), T(10))
    run(main())


@pytest.mark.parametrize("code,reason", [(1000, ""), (1000, "bye"), (1001, "going away"),
                                         (3000, "app"), (4000, "custom ✓"), (4999, "")])
def test_client_close_code_echoed(server, code, reason):
    async def main():
        ws = await connect(server.url("/echo"))
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.close(code, reason)
        assert ws.closed
        # close_code is the code of the close frame the server sent back
        assert ws.close_code == code, f"server replied with {ws.close_code} {ws.close_reason!r}"
        await asyncio.wait_for(ws.wait_closed(), T(5))
    run(main())


def test_many_messages_in_order(server):
    n = 5000

    async def main():
        async with connect(server.url("/echo")) as ws:
            async def sender():
                for i in range(n):
                    if i % 2:
                        await ws.send(f"msg-{i}")
                    else:
                        await ws.send(f"bin-{i}".encode())
            task = asyncio.create_task(sender())
            for i in range(n):
                got = await asyncio.wait_for(ws.recv(), T(10))
                if i % 2:
                    assert got == f"msg-{i}", f"message {i} out of order: {got!r}"
                else:
                    assert got == f"bin-{i}".encode(), f"message {i} out of order: {got!r}"
            await task
    run(main(), 60)


def test_concurrent_clients(server):
    clients, msgs = 50, 40

    async def one(c):
        async with connect(server.url("/echo")) as ws:
            for i in range(msgs):
                payload = f"client {c} message {i} " + "x" * (i * 37 % 300)
                await ws.send(payload)
                got = await asyncio.wait_for(ws.recv(), T(10))
                assert got == payload
            bin_payload = os.urandom(100_000)
            await ws.send(bin_payload)
            assert await asyncio.wait_for(ws.recv(), T(10)) == bin_payload

    async def main():
        await asyncio.gather(*(one(c) for c in range(clients)))
    run(main(), 60)


def test_large_messages_on_concurrent_clients_do_not_mix(server):
    # big interleaved messages on several connections at once: each gets
    # exactly its own bytes back
    async def one(c):
        data = bytes([c]) * (3 * MIB + c)
        async with connect(server.url("/echo")) as ws:
            await ws.send(data)
            got = await asyncio.wait_for(ws.recv(), T(30))
            assert got == data

    async def main():
        await asyncio.gather(*(one(c) for c in range(8)))
    run(main(), 90)
