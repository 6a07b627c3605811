"""The HTTP side, with raw sockets: the upgrade, every error status, /healthz,
pipelined frames after the 101, subprotocols, real-world header sets."""

from __future__ import annotations

import base64
import os
import time

import pytest
import websockets

import rawws
from conftest import T, run
from rawws import (OP_BINARY, OP_TEXT, RawConn, build_frame, build_request, replace,
                   upgrade_headers, without)

HEALTH_BODY = b'{"status":"ok"}\n'


def exchange(server, request: bytes, *, head_only: bool = False):
    c = RawConn(server.host, server.port, timeout=T(5))
    c.send(request)
    return c, c.read_http_response(T(5), head_only=head_only)


def assert_error(server, request: bytes, status: int):
    c, resp = exchange(server, request)
    with c:
        assert resp.status == status, f"expected {status}, got {resp!r}"
        assert "close" in resp.header_tokens("Connection"), f"error answer without Connection: close: {resp!r}"
        c.expect_eof(T(5))
    return resp


def hdrs(server, **kw):
    return upgrade_headers(server.hostport, **kw)


# --------------------------------------------------------------------------
# the happy path
# --------------------------------------------------------------------------

def test_upgrade_101_with_rfc_sample_key(server):
    c, resp = exchange(server, build_request("GET", "/echo", hdrs(server)))
    with c:
        assert resp.status == 101, resp
        assert resp.header("Sec-WebSocket-Accept") == rawws.SAMPLE_ACCEPT
        assert "websocket" in resp.header_tokens("Upgrade")
        assert "upgrade" in resp.header_tokens("Connection")
        assert resp.header("Sec-WebSocket-Protocol") is None
        c.send_text("hi")
        assert c.read_message(T(5)) == (OP_TEXT, b"hi")


@pytest.mark.parametrize("path", ["/echo", "/ws/"])
def test_upgrade_both_default_endpoints(server, path):
    with rawws.open_ws(server.host, server.port, path, timeout=T(5)):
        pass


def test_query_string_is_not_part_of_the_route(server):
    with rawws.open_ws(server.host, server.port, "/echo?token=abc&x=1", timeout=T(5)) as c:
        c.send_text("q")
        assert c.read_message(T(5)) == (OP_TEXT, b"q")


def test_header_names_and_values_are_case_insensitive(server):
    key = rawws.new_key()
    h = [("host", server.hostport), ("UPGRADE", "WebSocket"), ("connection", "keep-alive, UPGRADE"),
         ("sec-websocket-key", key), ("SEC-WEBSOCKET-VERSION", "13")]
    with RawConn(server.host, server.port, T(5)) as c:
        c.handshake("/echo", headers=h, key=key)
        c.send_text("case")
        assert c.read_message(T(5)) == (OP_TEXT, b"case")


# --------------------------------------------------------------------------
# error answers
# --------------------------------------------------------------------------

def _b64(n):
    return base64.b64encode(os.urandom(n)).decode()


BAD_400 = {
    "key_missing": lambda s: build_request("GET", "/echo", without(hdrs(s), "Sec-WebSocket-Key")),
    "key_empty": lambda s: build_request("GET", "/echo", replace(hdrs(s), "Sec-WebSocket-Key", "")),
    "key_not_base64": lambda s: build_request("GET", "/echo", replace(hdrs(s), "Sec-WebSocket-Key", "not base64 !!!!!!!!!!!")),
    "key_15_bytes": lambda s: build_request("GET", "/echo", replace(hdrs(s), "Sec-WebSocket-Key", _b64(15))),
    "key_17_bytes": lambda s: build_request("GET", "/echo", replace(hdrs(s), "Sec-WebSocket-Key", _b64(17))),
    "host_missing": lambda s: build_request("GET", "/echo", without(hdrs(s), "Host")),
    "connection_keep_alive_only": lambda s: build_request("GET", "/echo", replace(hdrs(s), "Connection", "keep-alive")),
    "http_1_0": lambda s: build_request("GET", "/echo", hdrs(s), version="HTTP/1.0"),
    "body_content_length": lambda s: build_request("GET", "/echo", hdrs(s, extra=[("Content-Length", "5")]), body=b"hello"),
    "body_chunked": lambda s: build_request("GET", "/echo", hdrs(s, extra=[("Transfer-Encoding", "chunked")]),
                                            body=b"5\r\nhello\r\n0\r\n\r\n"),
    "garbage_line": lambda s: b"\x00\x01\x02 this is not http \xff\xfe\r\n\r\n",
    "missing_http_version": lambda s: b"GET /echo\r\nHost: x\r\n\r\n",
    "tls_client_hello": lambda s: bytes.fromhex("16030100c4010000c00303") + os.urandom(32) + b"\x00" * 40,
}


@pytest.mark.parametrize("name", list(BAD_400))
def test_400_malformed(server, name):
    assert_error(server, BAD_400[name](server), 400)


@pytest.mark.parametrize("path", ["/nope", "/echo/extra", "/ECHO", "/wsx"])
def test_404_unknown_path_upgrade(server, path):
    assert_error(server, build_request("GET", path, hdrs(server)), 404)


def test_404_unknown_path_plain_get(server):
    assert_error(server, build_request("GET", "/favicon.ico", [("Host", server.hostport)]), 404)


@pytest.mark.parametrize("method,path", [("POST", "/echo"), ("PUT", "/ws/"), ("DELETE", "/echo"),
                                         ("OPTIONS", "/ws/")])
def test_405_non_get_on_websocket_path(server, method, path):
    resp = assert_error(server, build_request(method, path, [("Host", server.hostport), ("Content-Length", "0")]), 405)
    # RFC 9110 15.5.6: a 405 MUST carry Allow
    assert "get" in resp.header_tokens("Allow"), f"405 without `Allow: GET`: {resp!r}"


def test_405_post_with_upgrade_headers(server):
    assert_error(server, build_request("POST", "/echo", hdrs(server, extra=[("Content-Length", "0")])), 405)


@pytest.mark.parametrize("version", ["8", "12", "14"])
def test_426_unsupported_version(server, version):
    resp = assert_error(server, build_request("GET", "/echo", replace(hdrs(server), "Sec-WebSocket-Version", version)), 426)
    assert resp.header_tokens("Sec-WebSocket-Version") == ["13"], resp


@pytest.mark.parametrize("path", ["/echo", "/ws/"])
def test_426_plain_get_on_websocket_path(server, path):
    resp = assert_error(server, build_request("GET", path, [("Host", server.hostport), ("Accept", "*/*")]), 426)
    assert "websocket" in resp.header_tokens("Upgrade"), resp


def test_431_head_too_large(server):
    big = hdrs(server, extra=[("X-Filler", "a" * 9000)])
    assert_error(server, build_request("GET", "/echo", big), 431)


def test_431_head_too_large_without_terminator(server):
    # the server must not wait for the end of a head that is already too big
    c = RawConn(server.host, server.port, T(5))
    with c:
        c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 9000)
        resp = c.read_http_response(T(5))
        assert resp.status == 431, resp
        c.expect_eof(T(5))


def test_431_too_many_headers(server):
    h = hdrs(server) + [(f"X-H{i}", str(i)) for i in range(60)]  # 5 + 60 = 65
    assert_error(server, build_request("GET", "/echo", h), 431)


def test_64_headers_are_fine(server):
    key = rawws.new_key()
    h = hdrs(server, key=key) + [(f"X-H{i}", str(i)) for i in range(59)]  # 5 + 59 = 64
    assert len(h) == 64
    with RawConn(server.host, server.port, T(5)) as c:
        c.handshake("/echo", headers=h, key=key)
        c.send_text("64")
        assert c.read_message(T(5)) == (OP_TEXT, b"64")


def test_head_just_under_8k_is_fine(server):
    key = rawws.new_key()
    h = hdrs(server, key=key)
    base = len(build_request("GET", "/echo", h + [("X-Filler", "")]))
    h.append(("X-Filler", "b" * (8000 - base)))
    assert len(build_request("GET", "/echo", h)) == 8000
    with RawConn(server.host, server.port, T(5)) as c:
        c.handshake("/echo", headers=h, key=key)


def test_custom_max_request_head_bytes(server_factory):
    srv = server_factory(config="""
[server]
max_request_head_bytes = 1024

[[endpoint]]
path = "/echo"
protocol = "echo"
""")
    ok = hdrs(srv) + [("X-Filler", "c" * 500)]
    with RawConn(srv.host, srv.port, T(5)) as c:
        c.handshake("/echo", headers=replace(ok, "Sec-WebSocket-Key", rawws.SAMPLE_KEY), key=rawws.SAMPLE_KEY)
    assert_error(srv, build_request("GET", "/echo", hdrs(srv) + [("X-Filler", "c" * 1100)]), 431)


# --------------------------------------------------------------------------
# handshake timeout
# --------------------------------------------------------------------------

def test_handshake_timeout(server_factory):
    srv = server_factory(config="""
[server]
handshake_timeout_ms = 700

[[endpoint]]
path = "/echo"
protocol = "echo"
""")
    silent = RawConn(srv.host, srv.port, T(10))
    partial = RawConn(srv.host, srv.port, T(10))
    t0 = time.monotonic()
    partial.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
    with silent, partial:
        # nothing received -> plain close, no bytes
        got = silent.expect_eof(0.7 + T(3))
        assert got == b"", f"expected a plain close for a silent socket, got {got!r}"
        resp = partial.read_http_response(0.7 + T(3))
        assert resp.status == 408, resp
        partial.expect_eof(T(3))
        assert time.monotonic() - t0 >= 0.5, "closed well before handshake_timeout_ms"


def test_completed_upgrade_is_not_subject_to_handshake_timeout(server_factory):
    srv = server_factory(config="""
[server]
handshake_timeout_ms = 300

[[endpoint]]
path = "/echo"
protocol = "echo"
idle_ping_ms = 0
""")
    with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) as c:
        time.sleep(0.8)
        c.send_text("still open")
        assert c.read_message(T(5)) == (OP_TEXT, b"still open")


# --------------------------------------------------------------------------
# /healthz
# --------------------------------------------------------------------------

def test_healthz(server):
    c, resp = exchange(server, build_request("GET", "/healthz", [("Host", server.hostport)]))
    with c:
        assert resp.status == 200, resp
        assert resp.body == HEALTH_BODY


def test_healthz_keep_alive(server):
    with RawConn(server.host, server.port, T(5)) as c:
        for i in range(3):
            c.send(build_request("GET", "/healthz", [("Host", server.hostport)]))
            resp = c.read_http_response(T(5))
            assert resp.status == 200, f"request {i}: {resp!r}"
            assert resp.body == HEALTH_BODY
            assert "close" not in resp.header_tokens("Connection"), resp
        assert c.is_open(0.1), "server closed a keep-alive connection"


def test_healthz_pipelined(server):
    req = build_request("GET", "/healthz", [("Host", server.hostport)])
    with RawConn(server.host, server.port, T(5)) as c:
        c.send(req * 3)
        for i in range(3):
            resp = c.read_http_response(T(5))
            assert resp.status == 200 and resp.body == HEALTH_BODY, f"pipelined request {i}: {resp!r}"


def test_healthz_head_has_no_body(server):
    with RawConn(server.host, server.port, T(5)) as c:
        c.send(build_request("HEAD", "/healthz", [("Host", server.hostport)]))
        resp = c.read_http_response(T(5), head_only=True)
        assert resp.status == 200, resp
        # no body bytes may follow: the next response must start right away
        c.send(build_request("GET", "/healthz", [("Host", server.hostport)]))
        resp2 = c.read_http_response(T(5))
        assert resp2.status == 200, f"HEAD response was followed by body bytes: {resp2!r}"
        assert resp2.body == HEALTH_BODY


def test_healthz_connection_close_is_honoured(server):
    with RawConn(server.host, server.port, T(5)) as c:
        c.send(build_request("GET", "/healthz", [("Host", server.hostport), ("Connection", "close")]))
        resp = c.read_http_response(T(5))
        assert resp.status == 200 and resp.body == HEALTH_BODY, resp
        c.expect_eof(T(5))


def test_healthz_then_upgrade_on_same_connection(server):
    key = rawws.new_key()
    with RawConn(server.host, server.port, T(5)) as c:
        c.send(build_request("GET", "/healthz", [("Host", server.hostport)]))
        assert c.read_http_response(T(5)).status == 200
        c.handshake("/echo", key=key)
        c.send_text("after health")
        assert c.read_message(T(5)) == (OP_TEXT, b"after health")


# --------------------------------------------------------------------------
# pipelined frames after the upgrade request
# --------------------------------------------------------------------------

def test_frames_pipelined_with_upgrade_request(server):
    with RawConn(server.host, server.port, T(5)) as c:
        trailing = build_frame(OP_TEXT, b"early bird") + build_frame(OP_BINARY, b"\x00\x01")
        c.handshake("/echo", trailing=trailing)
        assert c.read_message(T(5)) == (OP_TEXT, b"early bird")
        assert c.read_message(T(5)) == (OP_BINARY, b"\x00\x01")


def test_frames_pipelined_with_upgrade_request_then_close(server):
    with RawConn(server.host, server.port, T(5)) as c:
        trailing = build_frame(OP_TEXT, b"one") + build_frame(rawws.OP_CLOSE, rawws.close_payload(1000))
        c.handshake("/echo", trailing=trailing)
        assert c.read_message(T(5)) == (OP_TEXT, b"one")
        f = c.expect_close(T(5))
        assert f.close_code == 1000
        c.expect_eof(T(5))


def test_upgrade_request_split_into_tiny_writes(server):
    key = rawws.new_key()
    req = build_request("GET", "/echo", hdrs(server, key=key)) + build_frame(OP_TEXT, b"dribble")
    with RawConn(server.host, server.port, T(5)) as c:
        for i in range(0, len(req), 7):
            c.send(req[i:i + 7])
            time.sleep(0.002)
        resp = c.read_http_response(T(5))
        assert resp.status == 101 and resp.header("Sec-WebSocket-Accept") == rawws.accept_for(key), resp
        assert c.read_message(T(5)) == (OP_TEXT, b"dribble")


# --------------------------------------------------------------------------
# subprotocols
# --------------------------------------------------------------------------

SUBPROTO_CONFIG = """
[[endpoint]]
path = "/chat"
protocol = "echo"
subprotocols = ["chat", "superchat"]

[[endpoint]]
path = "/echo"
protocol = "echo"
"""


@pytest.fixture
def chat_server(server_factory):
    return server_factory(config=SUBPROTO_CONFIG)


@pytest.mark.parametrize("offer,chosen", [
    ([("Sec-WebSocket-Protocol", "superchat, chat")], "superchat"),
    ([("Sec-WebSocket-Protocol", "chat, superchat")], "chat"),
    ([("Sec-WebSocket-Protocol", "superchat,chat")], "superchat"),
    ([("Sec-WebSocket-Protocol", "other, superchat")], "superchat"),
    ([("Sec-WebSocket-Protocol", "other"), ("Sec-WebSocket-Protocol", "chat")], "chat"),
    ([("Sec-WebSocket-Protocol", "other")], None),
    ([], None),
], ids=["superchat-first", "chat-first", "no-space", "unknown-first", "two-header-lines", "unknown-only", "none"])
def test_subprotocol_negotiation(chat_server, offer, chosen):
    with RawConn(chat_server.host, chat_server.port, T(5)) as c:
        resp = c.handshake("/chat", extra=offer)
        assert resp.header("Sec-WebSocket-Protocol") == chosen, resp
        c.send_text("sp")
        assert c.read_message(T(5)) == (OP_TEXT, b"sp")


def test_no_subprotocol_header_when_endpoint_has_none(chat_server):
    with RawConn(chat_server.host, chat_server.port, T(5)) as c:
        resp = c.handshake("/echo", extra=[("Sec-WebSocket-Protocol", "chat")])
        assert resp.header("Sec-WebSocket-Protocol") is None, resp


def test_subprotocol_with_websockets_client(chat_server):
    async def main():
        async with websockets.connect(chat_server.url("/chat"), subprotocols=["superchat", "chat"],
                                      open_timeout=T(10), ping_interval=None) as ws:
            assert ws.subprotocol == "superchat"
            await ws.send("hello")
            assert await ws.recv() == "hello"
        async with websockets.connect(chat_server.url("/chat"), subprotocols=["chat"],
                                      open_timeout=T(10), ping_interval=None) as ws:
            assert ws.subprotocol == "chat"
    run(main())


# --------------------------------------------------------------------------
# real-world header sets
# --------------------------------------------------------------------------

def _roundtrip_with_headers(server, path, headers, key):
    with RawConn(server.host, server.port, T(5)) as c:
        c.handshake(path, headers=headers, key=key)
        c.send_text("real world ✓")
        assert c.read_message(T(5)) == (OP_TEXT, "real world ✓".encode())
        c.send_frame(OP_BINARY, bytes(300))
        assert c.read_message(T(5)) == (OP_BINARY, bytes(300))
        c.send_close(1000)
        assert c.expect_close(T(5)).close_code == 1000
        c.expect_eof(T(5))


def test_node_ws_style_headers(server):
    key = rawws.new_key()
    h = [("Sec-WebSocket-Version", "13"),
         ("Sec-WebSocket-Key", key),
         ("Connection", "Upgrade"),
         ("Upgrade", "websocket"),
         ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
         ("Host", server.hostport)]
    _roundtrip_with_headers(server, "/echo", h, key)


def test_chrome_style_headers(server):
    key = rawws.new_key()
    h = [("Host", server.hostport),
         ("Connection", "Upgrade"),
         ("Pragma", "no-cache"),
         ("Cache-Control", "no-cache"),
         ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/120.0.0.0 Safari/537.36"),
         ("Upgrade", "websocket"),
         ("Origin", "http://localhost:3000"),
         ("Sec-WebSocket-Version", "13"),
         ("Accept-Encoding", "gzip, deflate, br"),
         ("Accept-Language", "en-US,en;q=0.9,fr;q=0.8"),
         ("Cookie", "session=abc123; theme=dark; _ga=GA1.1.123456789.1700000000"),
         ("Sec-WebSocket-Key", key),
         ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]
    _roundtrip_with_headers(server, "/echo", h, key)


def test_firefox_style_headers(server):
    key = rawws.new_key()
    h = [("Host", server.hostport),
         ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"),
         ("Accept", "*/*"),
         ("Accept-Language", "en-US,en;q=0.5"),
         ("Accept-Encoding", "gzip, deflate, br"),
         ("Sec-WebSocket-Version", "13"),
         ("Origin", "http://localhost:8000"),
         ("Sec-WebSocket-Extensions", "permessage-deflate"),
         ("Sec-WebSocket-Key", key),
         ("Connection", "keep-alive, Upgrade"),
         ("Sec-Fetch-Dest", "empty"),
         ("Sec-Fetch-Mode", "websocket"),
         ("Sec-Fetch-Site", "same-origin"),
         ("Pragma", "no-cache"),
         ("Cache-Control", "no-cache"),
         ("Upgrade", "websocket")]
    _roundtrip_with_headers(server, "/echo", h, key)


def test_browser_style_on_seed_endpoint(server):
    import json
    key = rawws.new_key()
    h = [("Host", server.hostport), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
         ("Origin", "null"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", key),
         ("User-Agent", "PostmanRuntime/7.36.0")]
    with RawConn(server.host, server.port, T(5)) as c:
        c.handshake("/ws/", headers=h, key=key)
        op, data = c.read_message(T(5))
        assert op == OP_TEXT and json.loads(data)["type"] == "connection"
        c.send_text("from postman")
        op, data = c.read_message(T(5))
        assert op == OP_TEXT and json.loads(data)["original_message"] == "from postman"
