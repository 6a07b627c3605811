"""/ws/ (seed 001, "Voice Agents" JSON echo): a `connection` message first,
then an `echo` envelope per text message, correctly JSON-escaped whatever
the text contains; binary -> close 1003."""

from __future__ import annotations

import asyncio

import pytest

import wsutil
from conftest import T, run
from wsutil import check_timestamp, expect_close, recv_json


def connect(url):
    # python-websockets' default: offer permessage-deflate, as browsers do
    return wsutil.connect(url, close_timeout=T(5), compression="deflate")


def check_connection_msg(m: dict):
    assert set(m) == {"type", "message", "timestamp"}, m
    assert m["type"] == "connection"
    assert m["message"] == "Connected to WebSocket server"
    check_timestamp(m["timestamp"])


def check_echo(m: dict, sent: str):
    assert set(m) == {"type", "message", "original_message", "timestamp"}, m
    assert m["type"] == "echo"
    assert m["original_message"] == sent, f"original_message differs: {m['original_message'][:200]!r} vs {sent[:200]!r}"
    assert m["message"] == "Server received: " + sent
    check_timestamp(m["timestamp"])
    return m


def test_connection_message_comes_first(server):
    async def main():
        async with connect(server.url("/ws/")) as ws:
            first = await recv_json(ws)
            check_connection_msg(first)
    run(main())


def test_connection_message_without_sending_anything(server):
    # the greeting is pushed by the server on open, not triggered by a message
    async def main():
        async with connect(server.url("/ws/")) as ws:
            check_connection_msg(await recv_json(ws))
            await ws.send("hi")
            check_echo(await recv_json(ws), "hi")
    run(main())


AWKWARD = {
    "plain": "Hello, WebSocket!",
    "empty": "",
    "quotes": 'she said "hi" and \'bye\'',
    "backslashes": r"C:\path\to\file \\server\share \" \\\"",
    "newline_tab": "line1\nline2\r\n\ttabbed\x0b\x0c\x08",
    "all_controls": "".join(chr(c) for c in range(0x20)) + "\x7f",
    "nul_only": "\x00",
    "json_looking": '{"type":"connection","message":"fake"}',
    "escape_sequences_literal": r"\n\t\u0000\ud83d",
    "slash": "</script><script>alert(1)</script>",
    "non_ascii": "héllo wörld ñ ç ß — “quotes” — 日本語 — русский — العربية",
    "emoji": "🎉🚀👍🏽👨‍👩‍👧‍👦 🇫🇷",
    "astral_and_specials": "\U0001d11e \U0010ffff \uffff \ufeff \u2028\u2029",
    "big_100k": ("Voice agent 🎤 \"quote\" \\ \n" * 4000)[:100_000],
}


@pytest.mark.parametrize("msg", list(AWKWARD.values()), ids=list(AWKWARD.keys()))
def test_echo_envelope_escaping(server, msg):
    async def main():
        async with connect(server.url("/ws/")) as ws:
            check_connection_msg(await recv_json(ws))
            await ws.send(msg)
            check_echo(await recv_json(ws, 10), msg)
    run(main())


def test_many_messages_in_order(server):
    msgs = [f"message #{i} \"{'é' * (i % 5)}\"" for i in range(300)]

    async def main():
        async with connect(server.url("/ws/")) as ws:
            check_connection_msg(await recv_json(ws))
            for m in msgs:
                await ws.send(m)
            for m in msgs:
                check_echo(await recv_json(ws, 10), m)
    run(main())


def test_fragmented_text_is_one_echo(server):
    async def main():
        async with connect(server.url("/ws/")) as ws:
            check_connection_msg(await recv_json(ws))
            await ws.send(["frag ", "ment", "ed ✓"])
            check_echo(await recv_json(ws, 10), "frag mented ✓")
    run(main())


def test_timestamps_advance(server):
    async def main():
        async with connect(server.url("/ws/")) as ws:
            first = await recv_json(ws)
            await asyncio.sleep(0.05)
            await ws.send("later")
            second = check_echo(await recv_json(ws), "later")
            assert second["timestamp"] >= first["timestamp"], (first, second)
            assert second["timestamp"] != first["timestamp"], "timestamps do not advance (ms resolution)"
    run(main())


def test_binary_message_closes_1003(server):
    async def main():
        async with connect(server.url("/ws/")) as ws:
            check_connection_msg(await recv_json(ws))
            await ws.send(b"\x01\x02\x03")
            before = await expect_close(ws, 1003)
            assert before == [], f"expected the close frame next, got {before}"
    run(main())


def test_concurrent_clients_get_their_own_echo(server):
    async def one(c):
        async with connect(server.url("/ws/")) as ws:
            check_connection_msg(await recv_json(ws))
            for i in range(20):
                m = f"client {c} says {i}"
                await ws.send(m)
                check_echo(await recv_json(ws, 10), m)

    async def main():
        await asyncio.gather(*(one(c) for c in range(30)))
    run(main(), 60)
