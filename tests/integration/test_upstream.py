"""Routes forwarded to an upstream HTTP service (API Gateway style), and the
$connect/$disconnect hooks, against a real backend (backend.py: seed 004's
interview bot plus test modes).

What ringcast POSTs: {"connection_id","identity","request_id","route",
"endpoint","message"} over HTTP/1.1 keep-alive.  What it does with the answer:
an object is one message, an array one message per element in order, an empty
200 / 202 / 204 nothing; request_id is added when the client sent one
(envelope: timestamp too).  Failures become the profile's error with
UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT or UPSTREAM_ERROR (details
{"status": N} when there was one), and the connection keeps working."""

from __future__ import annotations

import asyncio
import time

import pytest

import rawws
from apiutil import (backend, endpoint, free_port, gateway_config, healthy_around, serve_backend,  # noqa: F401
                     start_gateway, stream_search, upstream_route)
from backend import Backend, bot_answer, search_results
from conftest import T, run
from test_seed_action import Client as ActionClient
from test_seed_action import check_error as action_error
from test_seed_envelope import Client as EnvClient
from test_seed_envelope import check_error as env_error
from wsutil import SESSION_RE, check_flat_error, check_pong, check_timestamp, expect_close

UA = "ringcast-tests/1.0 (upstream)"
REQUEST_KEYS = {"connection_id", "identity", "request_id", "route", "endpoint", "message"}
HOOK_KEYS = {"event", "connection_id", "identity", "endpoint", "query", "ip", "user_agent"}

SEED_MESSAGE = {"action": "message", "message": "Hello, I would like to start an interview",
                "interview_id": "your-interview-id"}

# failing routes of the action endpoint: name -> (backend path or None for
# "nothing listens", timeout ms, expected code, expected details)
FAILURES = {
    "down": (None, 1000, "UPSTREAM_UNAVAILABLE", None),
    "timeout": ("/slow/1500", 300, "UPSTREAM_TIMEOUT", None),
    "e500": ("/status/500", 1000, "UPSTREAM_ERROR", {"status": 500}),
    "e404": ("/status/404", 1000, "UPSTREAM_ERROR", {"status": 404}),
    "e503": ("/status/503", 1000, "UPSTREAM_ERROR", {"status": 503}),
    "garbage": ("/garbage", 1000, "UPSTREAM_ERROR", {"status": 200}),
    "scalar": ("/garbage/scalar", 1000, "UPSTREAM_ERROR", {"status": 200}),
    "truncated": ("/garbage/truncated", 1000, "UPSTREAM_ERROR", {"status": 200}),
    "hangup": ("/close", 1000, ("UPSTREAM_ERROR", "UPSTREAM_UNAVAILABLE"), None),
}


def make_config(b: Backend, down_port: int) -> str:
    def up(path):
        return b.url(path)

    action_routes = [
        upstream_route("message", up("/interview"), upstream_timeout_ms=2000,
                       required=["interview_id:string", "message:string"]),
        upstream_route("ask", up("/interview"), upstream_timeout_ms=2000),  # no required list
        upstream_route("echo", up("/echo"), upstream_timeout_ms=2000),
        upstream_route("slow", up("/slow/1000"), upstream_timeout_ms=5000),
        upstream_route("array", up("/array/3"), upstream_timeout_ms=2000),
        upstream_route("empty", up("/empty"), upstream_timeout_ms=2000),
        upstream_route("accepted", up("/status/202"), upstream_timeout_ms=2000),
        upstream_route("nocontent", up("/status/204"), upstream_timeout_ms=2000),
        upstream_route("$default", up("/echo/default"), upstream_timeout_ms=2000),
    ]
    for name, (path, timeout, _, _) in FAILURES.items():
        url = f"http://127.0.0.1:{down_port}/nothing" if path is None else up(path)
        action_routes.append(upstream_route(name, url, upstream_timeout_ms=timeout))
    return gateway_config(
        endpoint("/v1", "action", *action_routes),
        endpoint("/env", "envelope",
                 upstream_route("echo", up("/echo"), upstream_timeout_ms=2000),
                 upstream_route("stream_search", up("/search"), upstream_timeout_ms=2000),
                 upstream_route("fail", up("/status/500"), upstream_timeout_ms=2000),
                 upstream_route("timeout", up("/slow/1500"), upstream_timeout_ms=300),
                 rate_limit_per_minute=0),
        endpoint("/ch", "channel",
                 upstream_route("ask", up("/status/500"), upstream_timeout_ms=2000)),
        endpoint("/hooked", "envelope",
                 upstream_route("echo", up("/echo"), upstream_timeout_ms=2000),
                 rate_limit_per_minute=0,
                 connect_upstream=up("/connect"), disconnect_upstream=up("/disconnect")),
        endpoint("/hooked-down", "action",
                 connect_upstream=f"http://127.0.0.1:{down_port}/connect"),
    )


@pytest.fixture(scope="module")
def _gw(tmp_path_factory):
    yield from serve_backend(lambda b: make_config(b, free_port()), tmp_path_factory.mktemp("upstream"))


@pytest.fixture
def gw(_gw):
    """(server, backend) shared by the module; the backend's records are
    cleared before each test, the server checked healthy after."""
    yield from healthy_around(_gw)


def aopen(srv, path="/v1", **kw):
    return ActionClient.open(srv.url(path), user_agent_header=UA, **kw)


def eopen(srv, path="/env", **kw):
    return EnvClient.open(srv.url(path), user_agent_header=UA, **kw)


def check_upstream_request(r, path: str, *, route: str, endpoint: str, message, request_id=None):
    """One request as the backend received it."""
    assert r.method == "POST", r
    assert r.path == path, r
    assert r.version == "HTTP/1.1", r
    assert (r.headers.get("content-type") or "").split(";")[0].strip().lower() == "application/json", r.headers
    assert "close" not in (r.headers.get("connection") or "").lower(), f"not keep-alive: {r.headers}"
    body = r.json
    assert set(body) == REQUEST_KEYS, body
    assert isinstance(body["connection_id"], str) and SESSION_RE.match(body["connection_id"]), body
    assert body["identity"] is None, body
    assert body["request_id"] == request_id and type(body["request_id"]) is type(request_id), body
    assert body["route"] == route, body
    assert body["endpoint"] == endpoint, body
    assert body["message"] == message, body
    return body


# --------------------------------------------------------------------------
# seed 004 through the upstream
# --------------------------------------------------------------------------

def test_interview_bot_answers_through_the_upstream(gw):
    srv, b = gw

    async def main():
        c = await aopen(srv)
        m = await c.request(SEED_MESSAGE)
        assert m == {"message": bot_answer(SEED_MESSAGE["message"], "your-interview-id"), "type": "response",
                     "interview_id": "your-interview-id"}, m
        reqs = b.requests_to("interview")
        assert len(reqs) == 1, reqs
        first = check_upstream_request(reqs[0], "/interview", route="message", endpoint="/v1", message=SEED_MESSAGE)
        # request_id as the client sent it: a string, a number, absent -> null
        for rid in ("r-1", 7, 2.5):
            msg = {"action": "message", "message": "Hi é 🎉", "interview_id": "i-1", "request_id": rid,
                   "meta": {"n": [1, None, True]}}
            m = await c.request(msg)
            assert m == {"message": bot_answer("Hi é 🎉", "i-1"), "type": "response", "interview_id": "i-1",
                         "request_id": rid}, m
            assert type(m["request_id"]) is type(rid), m
            body = check_upstream_request(b.requests_to("interview")[-1], "/interview", route="message",
                                          endpoint="/v1", message=msg, request_id=rid)
            assert body["connection_id"] == first["connection_id"], "one connection, one id"
        # another connection, another id
        c2 = await aopen(srv)
        assert (await c2.request(SEED_MESSAGE))["type"] == "response"
        other = b.requests_to("interview")[-1].json
        assert other["connection_id"] != first["connection_id"], other
        await c.ping()
        await c.close()
        await c2.close()
        assert b.events() == [], "no hooks are configured on /v1"
    run(main())


def test_required_fields_are_checked_before_the_upstream(gw):
    srv, b = gw

    async def main():
        c = await aopen(srv)
        m = await c.request({"action": "message", "message": "Hi"})
        assert m == {"message": "interview_id is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "interview_id"}}, m
        m = await c.request({"action": "message", "message": "Hi", "interview_id": 5})
        action_error(m, "INVALID_FIELD", details={"field": "interview_id", "expected": "string"})
        await c.ping()
        assert b.requests_to("interview") == [], "ringcast answered; the upstream must not be asked"
        await c.close()
    run(main())


def test_backend_errors_in_the_seed_shape_pass_through(gw):
    # route `ask` has no required list: the backend itself checks interview_id
    srv, b = gw

    async def main():
        c = await aopen(srv)
        assert await c.request({"action": "ask", "message": "Hi"}) == \
            {"message": "interview_id is required", "type": "error"}
        assert await c.request({"action": "ask", "message": "Hi", "interview_id": "unknown-9"}) == \
            {"message": "Interview not found", "type": "error", "interview_id": "unknown-9"}
        assert await c.request({"action": "ask", "message": "Hi", "interview_id": "i-3"}) == \
            {"message": bot_answer("Hi", "i-3"), "type": "response", "interview_id": "i-3"}
        reqs = b.requests_to("interview")
        assert [r.json["route"] for r in reqs] == ["ask"] * 3, reqs
        assert reqs[0].json["message"] == {"action": "ask", "message": "Hi"}
        await c.ping()
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# what ringcast does with the answer
# --------------------------------------------------------------------------

def test_request_id_added_to_answers_action(gw):
    srv, b = gw

    async def main():
        c = await aopen(srv)
        reply = {"type": "custom", "data": {"x": 1}}
        assert await c.request({"action": "echo", "reply": reply, "request_id": 12}) == {**reply, "request_id": 12}
        # the backend's own request_id is kept; no timestamp on the action profile
        own = {"type": "custom", "request_id": "own"}
        assert await c.request({"action": "echo", "reply": own, "request_id": "r-2"}) == own
        # no request_id in the request: none added
        assert await c.request({"action": "echo", "reply": reply}) == reply
        await c.close()
    run(main())


def test_request_id_and_timestamp_added_to_answers_envelope(gw):
    srv, b = gw

    async def main():
        c = await eopen(srv)
        m = await c.request({"type": "echo", "data": {"reply": {"type": "custom", "data": {"x": 1}}},
                             "request_id": "e-1"})
        assert set(m) == {"type", "data", "request_id", "timestamp"}, m
        assert (m["type"], m["data"], m["request_id"]) == ("custom", {"x": 1}, "e-1"), m
        check_timestamp(m["timestamp"])
        own = {"type": "custom", "data": {}, "request_id": "own", "timestamp": "2026-01-11T10:00:00.000Z"}
        assert await c.request({"type": "echo", "data": {"reply": own}, "request_id": "e-2"}) == own
        # the default answer: the whole upstream request, as the backend saw it
        m = await c.request({"type": "echo", "data": {"k": "v"}, "request_id": "e-3"})
        assert m["type"] == "upstream_echo" and m["request_id"] == "e-3", m
        req = m["data"]["request"]
        assert req["connection_id"] == c.session_id, (req, c.session_id)  # the id the API addresses
        assert req == {"connection_id": c.session_id, "identity": None, "request_id": "e-3", "route": "echo",
                       "endpoint": "/env", "message": {"type": "echo", "data": {"k": "v"}, "request_id": "e-3"}}
        await c.close()
    run(main())


def test_array_answer_is_one_message_per_element_in_order(gw):
    srv, b = gw

    async def main():
        c = await eopen(srv)
        got = await stream_search(c, "Find urgent emails", 4, "search_1")
        for m, r in zip(got[:4], search_results("Find urgent emails", 4)):
            assert set(m) == {"type", "data", "request_id", "timestamp"}, m
            assert (m["type"], m["data"], m["request_id"]) == ("search_result", r, "search_1"), m
            check_timestamp(m["timestamp"])
        last = got[4]
        assert set(last) == {"type", "data", "request_id", "timestamp"}, last
        assert (last["type"], last["data"], last["request_id"]) == \
            ("search_complete", {"total_results": 4, "processing_time_ms": 850}, "search_1"), last
        await c.ping()  # nothing more came
        a = await aopen(srv)
        await a.send({"action": "array", "request_id": "a"})
        assert [await a.recv() for _ in range(3)] == [{"type": "item", "data": {"i": i}, "request_id": "a"}
                                                      for i in range(3)]
        await a.ping()
        await c.close()
        await a.close()
    run(main())


def test_empty_202_and_204_answers_send_nothing(gw):
    srv, b = gw

    async def main():
        c = await aopen(srv)
        for route in ("empty", "accepted", "nocontent"):
            await c.send({"action": route, "request_id": route})
        check_pong(await c.request({"action": "ping", "request_id": "p"}), "p")
        assert sorted(r.mode for r in b.requests) == ["empty", "status", "status"], b.requests
        await c.ping()
        await c.close()
    run(main())


def test_default_route_takes_unmatched_actions(gw):
    srv, b = gw

    async def main():
        c = await aopen(srv)
        msg = {"action": "sendMessage", "x": [1, {"y": None}], "request_id": "d-1"}
        m = await c.request(msg)
        assert m["type"] == "upstream_echo" and m["request_id"] == "d-1", m
        assert m["data"]["request"]["route"] == "$default", m
        assert m["data"]["request"]["message"] == msg, m
        assert [r.path for r in b.requests] == ["/echo/default"], b.requests
        # built-in and declared routes are not taken by $default
        await c.ping()
        assert (await c.request(SEED_MESSAGE))["type"] == "response"
        assert len(b.requests) == 2, b.requests
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------

def _details_check(expected):
    def check(d):
        if expected is None:
            assert d is None or "status" not in d, f"no HTTP status to report, got details {d}"
        else:
            assert d == expected, d
    return check


@pytest.mark.parametrize("route", list(FAILURES))
def test_upstream_failure_is_an_error_and_the_connection_keeps_working(gw, route):
    srv, b = gw
    _, _, code, details = FAILURES[route]

    async def main():
        c = await aopen(srv)
        t0 = time.monotonic()
        m = await c.request({"action": route, "payload": "x", "request_id": "f-1"}, timeout=10)
        elapsed = time.monotonic() - t0
        codes = code if isinstance(code, tuple) else (code,)
        assert m.get("error_code") in codes, m
        check_flat_error(m, "error", "message", m["error_code"], {"request_id": "f-1"}, _details_check(details))
        if route == "timeout":
            assert 0.25 <= elapsed < T(1.4), f"UPSTREAM_TIMEOUT after {elapsed:.2f}s (timeout 0.3s, backend 1.5s)"
        # the connection works on: built-ins, and upstream routes
        await c.ping()
        assert await c.request({"action": "ask", "message": "again", "interview_id": "i-4", "request_id": 2}) == \
            {"message": bot_answer("again", "i-4"), "type": "response", "interview_id": "i-4", "request_id": 2}
        # a second failure on the same connection is answered the same way
        m = await c.request({"action": route}, timeout=10)
        assert m.get("error_code") in codes and "request_id" not in m, m
        await c.ping()
        await c.close()
    run(main())


def test_upstream_failure_envelope_shape(gw):
    srv, b = gw

    async def main():
        c = await eopen(srv)
        env_error(await c.request({"type": "fail", "data": {}, "request_id": "x-1"}), "UPSTREAM_ERROR", "x-1",
                  {"status": 500})
        env_error(await c.request({"type": "fail"}), "UPSTREAM_ERROR", None, {"status": 500})
        d = env_error(await c.request({"type": "timeout", "request_id": 9}, timeout=10), "UPSTREAM_TIMEOUT", 9)
        assert "status" not in d, d
        await c.ping()
        await c.close()
    run(main())


def test_upstream_failure_channel_shape(gw):
    srv, b = gw

    async def main():
        c = await ActionClient.open(srv.url("/ch?channel_id=up-room"))
        m = await c.request({"id": "m-1", "type": "ask", "content": "q"})
        check_flat_error(m, "ERROR", "error", "UPSTREAM_ERROR", {"message_id": "m-1"}, {"status": 500},
                         timestamp=True)
        check_pong(await c.request({"type": "ping"}))
        await c.close()
    run(main())


def test_late_answer_after_a_timeout_is_dropped(gw):
    srv, b = gw

    async def main():
        c = await aopen(srv)
        action_error(await c.request({"action": "timeout", "request_id": "t"}, timeout=10), "UPSTREAM_TIMEOUT",
                     extra={"request_id": "t"}, details=_details_check(None))
        # the backend answers 1.2 s later; that answer must not reach the client
        await asyncio.to_thread(b.wait_for, lambda: b.requests_to("slow") and b.in_flight.get("slow") == 0,
                                T(5), "the slow answer to go out")
        await asyncio.sleep(0.2)
        check_pong(await c.request({"action": "ping", "request_id": "after"}), "after")
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# keep-alive, order, concurrency
# --------------------------------------------------------------------------

def test_keep_alive_reuses_a_few_upstream_connections(gw):
    srv, b = gw
    clients, per_client = 4, 25

    async def one(i):
        c = await aopen(srv)
        for k in range(per_client):
            m = await c.request({"action": "echo", "reply": {"type": "ok", "i": i, "k": k}})
            assert m == {"type": "ok", "i": i, "k": k}, m
        await c.close()

    async def main():
        await asyncio.gather(*(one(i) for i in range(clients)))

    run(main())
    reqs = b.requests_to("echo")
    assert len(reqs) == clients * per_client, len(reqs)
    conns = {r.conn for r in reqs}
    # at most one connection per request in flight (4 clients) per reactor (2)
    assert len(conns) <= 8, f"{len(reqs)} upstream requests came on {len(conns)} TCP connections: no keep-alive?"
    assert all(r.version == "HTTP/1.1" for r in reqs)


def test_upstream_closing_idle_connections_is_not_an_error(gw):
    # an upstream's idle timeout closes kept-alive connections between requests
    srv, b = gw

    async def main():
        c = await aopen(srv)
        for k in range(3):
            assert await c.request({"action": "echo", "reply": {"k": k}}) == {"k": k}
        b.drop_connections()
        await asyncio.to_thread(b.wait_for, lambda: b.open_connections == 0, T(5), "connections to close")
        await asyncio.sleep(0.2)
        for k in range(3):
            assert await c.request({"action": "echo", "reply": {"k": k}}) == {"k": k}
        await c.close()
    run(main())


def test_replies_keep_request_order_behind_a_slow_answer(gw):
    srv, b = gw

    async def main():
        c1 = await aopen(srv)
        c2 = await aopen(srv)
        await c1.send({"action": "slow", "request_id": "s"})   # the backend takes 1 s
        await c1.send({"action": "ping", "request_id": "p"})
        await c1.send({"action": "echo", "reply": {"type": "fast"}, "request_id": "e"})
        await asyncio.to_thread(b.wait_for, lambda: b.requests_to("slow"), T(5), "the slow request")
        # another connection is not held
        check_pong(await c2.request({"action": "ping", "request_id": "other"}, timeout=0.5), "other")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(c1.ws.recv(), 0.1)
        m = await c1.recv(timeout=5)
        assert m["type"] == "upstream_echo" and m["request_id"] == "s", m
        check_pong(await c1.recv(), "p")
        assert await c1.recv() == {"type": "fast", "request_id": "e"}
        await c1.close()
        await c2.close()
    run(main())


def test_upstream_concurrency_limit(server_factory, backend):
    srv = start_gateway(server_factory, gateway_config(endpoint(
        "/v1", "action",
        upstream_route("slow", backend.url("/slow/300"), upstream_timeout_ms=10000, upstream_concurrency=2))),
        threads=1)
    n = 6

    async def main():
        cs = [await aopen(srv) for _ in range(n)]
        for i, c in enumerate(cs):
            await c.send({"action": "slow", "request_id": i})
        got = [await c.recv(timeout=10) for c in cs]
        ok = [m for m in got if m.get("type") == "upstream_echo"]
        for m in got:
            if m not in ok:
                action_error(m, "UPSTREAM_UNAVAILABLE", extra={"request_id": m.get("request_id")},
                             details=_details_check(None))
        assert len(ok) >= 2, got
        for c in cs:
            await c.ping()
            await c.close()

    run(main())
    assert backend.max_in_flight.get("slow", 0) <= 2, backend.stats()
    assert backend.max_in_flight.get("slow", 0) == 2, f"the 2 allowed requests ran one at a time: {backend.stats()}"


def test_upstream_metrics(gw):
    srv, b = gw

    async def main():
        before = srv.api.metrics()
        c = await aopen(srv)
        assert (await c.request(SEED_MESSAGE))["type"] == "response"
        assert (await c.request({"action": "echo", "reply": {"a": 1}})) == {"a": 1}
        assert (await c.request({"action": "e500"}))["error_code"] == "UPSTREAM_ERROR"
        await c.ping()  # not an upstream request
        d = srv.api.metrics() - before
        assert d("ringcast_upstream_requests_total") == 3, d.after.text
        assert d("ringcast_upstream_failures_total") == 1, d.after.text
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# $connect / $disconnect
# --------------------------------------------------------------------------

def test_connect_hook_accepts_and_disconnect_is_notified(gw):
    srv, b = gw

    async def main():
        c = await EnvClient.open(srv.url("/hooked?room=r1&x=%20y"), user_agent_header=UA)
        ev = mine(b, "connect", c.session_id)
        assert len(ev) == 1, b.events()  # asked before the 101: already there
        e = ev[0]
        assert set(e) == HOOK_KEYS, e
        assert e == {"event": "connect", "connection_id": c.session_id, "identity": None, "endpoint": "/hooked",
                     "query": "room=r1&x=%20y", "ip": "127.0.0.1", "user_agent": UA}, e
        r = b.requests_to("connect")[0]
        assert r.method == "POST" and r.path == "/connect" and r.version == "HTTP/1.1", r
        m = await c.request({"type": "echo", "data": {"reply": {"type": "ok"}}, "request_id": 1})
        assert m["type"] == "ok" and m["request_id"] == 1, m
        assert mine(b, "disconnect", c.session_id) == []
        await c.close()
        evs = await asyncio.to_thread(b.wait_for, lambda: mine(b, "disconnect", c.session_id), T(5),
                                      "the disconnect hook")
        await asyncio.sleep(0.1)
        evs = mine(b, "disconnect", c.session_id)
        assert len(evs) == 1, evs
        d = evs[0]
        assert HOOK_KEYS - {"query", "ip", "user_agent"} <= set(d), d
        assert (d["event"], d["connection_id"], d["identity"], d["endpoint"]) == \
            ("disconnect", c.session_id, None, "/hooked"), d
        assert {r.path for r in b.requests_to("disconnect")} == {"/disconnect"}
    run(main())


def mine(b: Backend, event: str, connection_id: str) -> list:
    """The hook calls of one event for one connection."""
    return [e for e in b.events(event) if e.get("connection_id") == connection_id]


def test_connect_hook_refusal_is_403_at_upgrade(gw):
    srv, b = gw
    with rawws.RawConn(srv.host, srv.port, T(5)) as c:
        c.send(rawws.build_request("GET", "/hooked?deny=1", rawws.upgrade_headers(c.hostport)))
        resp = c.read_http_response(T(5))
        assert resp.status == 403, resp
        assert resp.header("Sec-WebSocket-Accept") is None, resp
    ev = [e for e in b.events("connect") if e.get("query") == "deny=1"]
    assert len(ev) == 1, b.events()
    time.sleep(0.3)
    assert mine(b, "disconnect", ev[0]["connection_id"]) == [], "a refused connection never opened: no $disconnect"

    async def main():  # others still get in
        c = await EnvClient.open(srv.url("/hooked?fine=1"))
        await c.ping()
        await c.close()
    run(main())


def test_connect_hook_unreachable_refuses_the_upgrade(gw):
    srv, b = gw
    with rawws.RawConn(srv.host, srv.port, T(5)) as c:
        c.send(rawws.build_request("GET", "/hooked-down", rawws.upgrade_headers(c.hostport)))
        resp = c.read_http_response(T(8))
        assert resp.status != 101, resp
        assert resp.status in (403, 500, 502, 503), resp


def test_disconnect_hook_when_the_api_closes_the_connection(gw):
    srv, b = gw

    async def main():
        c = await EnvClient.open(srv.url("/hooked"))
        r = srv.api.disconnect(c.session_id)
        assert r.status == 204, r
        await expect_close(c.ws, 1000)
        await asyncio.to_thread(b.wait_for, lambda: mine(b, "disconnect", c.session_id), T(5), "the disconnect hook")
        await asyncio.sleep(0.1)
        assert len(mine(b, "disconnect", c.session_id)) == 1, b.events()
    run(main())
