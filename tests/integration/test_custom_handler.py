"""A program that links libringcast and registers its own handler
(examples/quote_server.cpp): the route reaches the handler, its replies and
errors take the action profile's shape, what it publishes reaches
subscribers on both reactors, and the built-in routes still work beside it."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from conftest import REPO, T, run
from wsutil import JsonClient

LISTEN_RE = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


@pytest.fixture
def quote_server():
    b = os.environ.get("RINGCAST_QUOTE_SERVER") or str(REPO / "build" / "examples" / "quote_server")
    if not os.access(b, os.X_OK):
        pytest.fail(f"quote_server not built: {b}", pytrace=False)
    proc = subprocess.Popen([b, "0"], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = proc.stderr.readline()
    m = LISTEN_RE.search(line)
    assert m, line
    yield f"ws://127.0.0.1:{int(m.group(1))}/quotes"
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(T(10)) == 0
    assert b"Sanitizer" not in rest and b"runtime error" not in rest, rest.decode(errors="replace")


def test_custom_handler_replies_errors_and_publishes(quote_server):
    async def main():
        subs = [await JsonClient.open(quote_server) for _ in range(6)]  # spread over both reactors
        for i, s in enumerate(subs):
            assert await s.request({"action": "subscribe", "channel": "quotes.ACME", "request_id": i}) == \
                {"channels": ["quotes.ACME"], "type": "subscribed", "request_id": i}
        c = await JsonClient.open(quote_server)
        reply = await c.request({"action": "quote", "symbol": "ACME"})
        assert reply["type"] == "quote" and reply["symbol"] == "ACME", reply
        assert isinstance(reply["price_cents"], int)
        for s in subs:
            m = await s.recv()
            assert m["type"] == "quote" and m["channel"] == "quotes.ACME", m
            assert m["data"] == {"symbol": "ACME", "price_cents": reply["price_cents"]}, m
        # the handler's own error code, in the profile's shape
        assert await c.request({"action": "quote", "symbol": "acme!", "request_id": "r9"}) == {
            "message": "symbol must be a string of 1 to 8 letters", "type": "error",
            "error_code": "BAD_SYMBOL", "symbol": "acme!", "request_id": "r9"}
        # the route's required field is checked before the handler runs
        m = await c.request({"action": "quote"})
        assert m["error_code"] == "MISSING_FIELD" and m["details"] == {"field": "symbol"}, m
        await c.close()
        for s in subs:
            await s.close()
    run(main(), 30)
