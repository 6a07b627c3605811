"""/v1 (seeds 000 and 004, `action` profile): messages routed by `action`
(API Gateway's $request.body.action).  The default config declares seed 004's
`message` route (echo, required interview_id and message); subscribe,
unsubscribe, ping and publish are built in.  Errors have the seed's shape:
{"message": "...", "type": "error", "error_code": "..."} plus the request's
required fields that were present."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid

import pytest
import websockets

from conftest import T, run

PATH = "/v1"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ABSENT = object()

CUSTOM_CONFIG = """
[[endpoint]]
path = "/bot"
protocol = "action"

[[endpoint.route]]
name = "ask"
handler = "echo"
required = ["question", "session"]

[[endpoint.route]]
name = "join"
handler = "subscribe"

[[endpoint.route]]
name = "leave"
handler = "unsubscribe"

[[endpoint.route]]
name = "say"
handler = "publish"

[[endpoint.route]]
name = "hb"
handler = "ping"

[[endpoint.route]]
name = "free"
handler = "echo"

[[endpoint.route]]
name = "typed"
handler = "echo"
required = ["type", "note"]

[[endpoint]]
path = "/op"
protocol = "action"
route_key = "op"

[[endpoint.route]]
name = "heartbeat"
handler = "ping"
"""


def connect(url, **kw):
    kw.setdefault("max_size", 16 << 20)
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", T(10))
    kw.setdefault("close_timeout", T(1))
    kw.setdefault("compression", None)
    return websockets.connect(url, **kw)


def strict_json(text) -> dict:
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in {text[:300]!r}"
        return dict(pairs)
    assert isinstance(text, str), f"expected a text frame, got {type(text).__name__}: {text[:100]!r}"
    return json.loads(text, object_pairs_hook=no_dupes)


def check_timestamp(ts, slack_s: float = 5.0):
    assert isinstance(ts, str), ts
    assert TS_RE.match(ts), f"timestamp {ts!r} is not ISO 8601 UTC with milliseconds"
    t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    now = dt.datetime.now(dt.timezone.utc)
    delta = abs((now - t).total_seconds())
    assert delta < slack_s * max(1.0, T(1)), f"timestamp {ts} is {delta:.1f}s away from now"


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Client:
    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> "Client":
        return cls(await connect(url))

    async def send(self, msg) -> None:
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else dumps(msg))

    async def recv(self, timeout: float = 5) -> dict:
        return strict_json(await asyncio.wait_for(self.ws.recv(), T(timeout)))

    async def request(self, msg, timeout: float = 5) -> dict:
        await self.send(msg)
        return await self.recv(timeout)

    async def ping(self, rid="alive") -> None:
        check_pong(await self.request({"action": "ping", "request_id": rid}), rid)

    async def close(self):
        await self.ws.close()


def check_pong(m: dict, rid=None) -> None:
    keys = {"type", "timestamp"} | ({"request_id"} if rid is not None else set())
    assert set(m) == keys, m
    assert m["type"] == "pong", m
    if rid is not None:
        assert m["request_id"] == rid, m
    check_timestamp(m["timestamp"])


def check_error(m: dict, code: str, message: str | None = None, extra: dict | None = None,
                details=ABSENT) -> None:
    """Exactly {"message","type":"error","error_code"} plus `details` (the
    exact value; ABSENT: none; a callable: checks it) plus `extra`."""
    extra = dict(extra or {})
    if callable(details):
        details(m.get("details"))
        if "details" in m:
            extra["details"] = m["details"]
    elif details is not ABSENT:
        extra["details"] = details
    assert set(m) == {"message", "type", "error_code"} | set(extra), m
    assert m["type"] == "error", m
    assert m["error_code"] == code, m
    assert isinstance(m["message"], str) and m["message"], m
    if message is not None:
        assert m["message"] == message, m
    for k, v in extra.items():
        assert m[k] == v, m


def offset_details(text: str):
    """INVALID_JSON: {"offset": N} when known, else no details."""
    def check(d):
        if d is None:
            return
        assert set(d) == {"offset"}, d
        assert isinstance(d["offset"], int) and 0 <= d["offset"] <= len(text.encode()), d
    return check


def check_delivery(m: dict, channel: str, data) -> None:
    assert set(m) == {"type", "channel", "data", "timestamp"}, m
    assert m["type"] == "message", m
    assert m["channel"] == channel, m
    assert m["data"] == data, m
    check_timestamp(m["timestamp"])


@pytest.fixture
def custom(server_factory):
    return server_factory(config=CUSTOM_CONFIG, threads=2)


# --------------------------------------------------------------------------
# seed 004: the `message` route
# --------------------------------------------------------------------------

def test_message_response(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": "Hello, I would like to start an interview",
                             "interview_id": "your-interview-id"})
        assert m == {"message": "Hello, I would like to start an interview", "interview_id": "your-interview-id",
                     "type": "response"}, m
        await c.close()
    run(main())


def test_message_response_echoes_all_fields_but_action(server):
    async def main():
        c = await Client.open(server.url(PATH))
        req = {"action": "message", "message": "Hi", "interview_id": "i-1", "lang": "en",
               "meta": {"n": [1, 2.5, None, True], "s": "é\"\\\n"}, "request_id": "q-1"}
        m = await c.request(req)
        expected = {k: v for k, v in req.items() if k != "action"}
        expected["type"] = "response"
        assert m == expected, m
        await c.close()
    run(main())


def test_message_response_replaces_a_client_type(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": "Hi", "interview_id": "i-1", "type": "error"})
        assert m == {"message": "Hi", "interview_id": "i-1", "type": "response"}, m  # strict_json: one "type"
        await c.close()
    run(main())


@pytest.mark.parametrize("value", ["", "日本語 🎉", 42, None, {"a": 1}, ["x"]],
                         ids=["empty", "unicode", "number", "null", "object", "array"])
def test_message_values_of_any_type(server, value):
    # required means present; the echo handler does not look at the values
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": value, "interview_id": "i-2"})
        assert m == {"message": value, "interview_id": "i-2", "type": "response"}, m
        await c.close()
    run(main())


def test_missing_interview_id(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": "Hi"})
        assert m == {"message": "interview_id is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "interview_id"}}, m
        await c.ping()
        await c.close()
    run(main())


def test_missing_message_keeps_present_required_fields(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "interview_id": "i-1", "other": "not required"})
        assert m == {"message": "message is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "message"}, "interview_id": "i-1"}, m
        await c.ping()
        await c.close()
    run(main())


def test_missing_both_reports_the_first_required(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message"})
        assert m == {"message": "interview_id is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "interview_id"}}, m
        await c.close()
    run(main())


def test_error_echoes_request_id(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": "Hi", "request_id": "r-9"})
        check_error(m, "MISSING_FIELD", "interview_id is required", {"request_id": "r-9"},
                    details={"field": "interview_id"})
        m = await c.request({"action": "nope", "request_id": 12})
        check_error(m, "UNKNOWN_TYPE", None, {"request_id": 12}, details={"route": "nope"})
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# built-in routes: subscribe, unsubscribe, ping, publish
# --------------------------------------------------------------------------

def test_ping(server):
    async def main():
        c = await Client.open(server.url(PATH))
        check_pong(await c.request({"action": "ping"}))
        check_pong(await c.request({"action": "ping", "request_id": "hb"}), "hb")
        await c.close()
    run(main())


def test_subscribe_replies(server):
    async def main():
        c = await Client.open(server.url(PATH))
        assert await c.request({"action": "subscribe", "channels": ["deals"]}) == \
            {"type": "subscribed", "channels": ["deals"]}
        assert await c.request({"action": "subscribe", "channel": "deals-2"}) == \
            {"type": "subscribed", "channels": ["deals-2"]}
        assert await c.request({"action": "subscribe", "channels": ["a", "b"], "request_id": "s"}) == \
            {"type": "subscribed", "channels": ["a", "b"], "request_id": "s"}
        assert await c.request({"action": "unsubscribe", "channels": ["deals"]}) == \
            {"type": "unsubscribed", "channels": ["deals"]}
        assert await c.request({"action": "unsubscribe", "channels": ["never"]}) == \
            {"type": "unsubscribed", "channels": ["never"]}
        await c.close()
    run(main())


def test_publish_reaches_subscribers(server):
    ch = uniq("deals")
    data = {"deal_id": "d-1", "title": "50% off", "price": 9.99, "tags": ["hot"], "expires": None}

    async def main():
        subs = [await Client.open(server.url(PATH)) for _ in range(5)]
        for i, s in enumerate(subs):
            req = {"action": "subscribe", "channels": [ch]} if i % 2 else {"action": "subscribe", "channel": ch}
            assert await s.request(req) == {"type": "subscribed", "channels": [ch]}
        pub = await Client.open(server.url(PATH))
        assert await pub.request({"action": "publish", "channel": ch, "data": data}) == \
            {"type": "published", "channel": ch}
        for s in subs:
            check_delivery(await s.recv(), ch, data)
        assert await pub.request({"action": "publish", "channel": ch, "data": {"n": 2}, "request_id": "p2"}) == \
            {"type": "published", "channel": ch, "request_id": "p2"}
        for s in subs:
            check_delivery(await s.recv(), ch, {"n": 2})
            await s.ping()
            await s.close()
        await pub.ping()  # the publisher is not subscribed: nothing for it
        await pub.close()
    run(main())


def test_unsubscribe_stops_delivery(server):
    ch, keep = uniq("deals"), uniq("keep")

    async def main():
        s = await Client.open(server.url(PATH))
        assert (await s.request({"action": "subscribe", "channels": [ch, keep]}))["type"] == "subscribed"
        pub = await Client.open(server.url(PATH))
        assert (await pub.request({"action": "publish", "channel": ch, "data": {"n": 1}}))["type"] == "published"
        check_delivery(await s.recv(), ch, {"n": 1})
        assert await s.request({"action": "unsubscribe", "channels": [ch]}) == {"type": "unsubscribed", "channels": [ch]}
        assert (await pub.request({"action": "publish", "channel": ch, "data": {"n": 2}}))["type"] == "published"
        assert (await pub.request({"action": "publish", "channel": keep, "data": {"n": 3}}))["type"] == "published"
        check_delivery(await s.recv(), keep, {"n": 3})
        await s.ping()
        await s.close()
        await pub.close()
    run(main())


def test_publish_order(server):
    ch = uniq("order")

    async def main():
        s = await Client.open(server.url(PATH))
        assert (await s.request({"action": "subscribe", "channel": ch}))["type"] == "subscribed"
        pub = await Client.open(server.url(PATH))
        for i in range(200):
            await pub.send({"action": "publish", "channel": ch, "data": {"i": i}})
        for i in range(200):
            assert await pub.recv() == {"type": "published", "channel": ch}
        for i in range(200):
            check_delivery(await s.recv(), ch, {"i": i})
        await s.close()
        await pub.close()
    run(main())


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["sendMessage", "$default", "MESSAGE", "", "connect"])
def test_unknown_action(server, action):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request({"action": action, "message": "Hi", "interview_id": "i-1"}), "UNKNOWN_TYPE",
                    details={"route": action})
        await c.ping()
        await c.close()
    run(main())


def test_missing_action(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"message": "Hi", "interview_id": "i-1"})
        check_error(m, "MISSING_FIELD", "action is required", details={"field": "action"})
        await c.ping()
        await c.close()
    run(main())


@pytest.mark.parametrize("value", [1, ["message"], {"a": 1}, True], ids=["number", "array", "object", "true"])
def test_action_not_a_string(server, value):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request({"action": value, "message": "Hi", "interview_id": "i-1"}), "INVALID_FIELD",
                    details={"field": "action", "expected": "string"})
        await c.ping()
        await c.close()
    run(main())


@pytest.mark.parametrize("text,code", [
    ('{"action":"message",', "INVALID_JSON"),
    ("Hi", "INVALID_JSON"),
    ("", "INVALID_JSON"),
    ("[]", "INVALID_MESSAGE"),
    ('"message"', "INVALID_MESSAGE"),
    ("7", "INVALID_MESSAGE"),
], ids=["truncated", "word", "empty", "array", "string", "number"])
def test_bad_messages(server, text, code):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request(text), code, details=offset_details(text) if code == "INVALID_JSON" else ABSENT)
        await c.ping()
        await c.close()
    run(main())


def test_binary_not_supported(server):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request(b'{"action":"ping"}'), "BINARY_NOT_SUPPORTED")
        await c.ping()
        await c.close()
    run(main())


def test_subscribe_errors(server):
    async def main():
        c = await Client.open(server.url(PATH))
        def channels_field(d):
            assert d in ({"field": "channels"}, {"field": "channel"}), d
        check_error(await c.request({"action": "subscribe"}), "MISSING_FIELD", details=channels_field)
        check_error(await c.request({"action": "subscribe", "channels": ["bad channel"]}), "INVALID_CHANNEL",
                    details={"channel": "bad channel"})
        check_error(await c.request({"action": "publish", "channel": "no spaces allowed", "data": {}}),
                    "INVALID_CHANNEL", details={"channel": "no spaces allowed"})
        check_error(await c.request({"action": "publish", "data": {}}), "MISSING_FIELD", details={"field": "channel"})
        await c.ping()
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# routes declared in the config
# --------------------------------------------------------------------------

def test_custom_route_echo_with_required_fields(custom):
    async def main():
        c = await Client.open(custom.url("/bot"))
        m = await c.request({"action": "ask", "question": "why?", "session": "s-1", "extra": 1})
        assert m == {"question": "why?", "session": "s-1", "extra": 1, "type": "response"}, m
        m = await c.request({"action": "ask", "question": "why?"})
        assert m == {"message": "session is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "session"}, "question": "why?"}, m
        m = await c.request({"action": "ask", "session": "s-1"})
        assert m == {"message": "question is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "question"}, "session": "s-1"}, m
        # a route without required fields
        assert await c.request({"action": "free"}) == {"type": "response"}
        # the default config's `message` route is not declared here
        check_error(await c.request({"action": "message", "message": "Hi", "interview_id": "i-1"}), "UNKNOWN_TYPE",
                    details={"route": "message"})
        await c.close()
    run(main())


def test_required_fields_named_like_the_error_shape_keys(custom):
    # the error copies present required fields "except the shape's own keys
    # message and type"; echo replaces `type` with "response"
    async def main():
        c = await Client.open(custom.url("/bot"))
        m = await c.request({"action": "typed", "type": "mine"})
        assert m == {"message": "note is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "note"}}, m
        m = await c.request({"action": "typed", "note": "n"})
        assert m == {"message": "type is required", "type": "error", "error_code": "MISSING_FIELD",
                     "details": {"field": "type"}, "note": "n"}, m
        assert await c.request({"action": "typed", "type": "mine", "note": "n"}) == {"type": "response", "note": "n"}
        await c.close()
    run(main())


def test_custom_routes_to_builtin_handlers(custom):
    ch = uniq("custom")

    async def main():
        s = await Client.open(custom.url("/bot"))
        assert await s.request({"action": "join", "channels": [ch]}) == {"type": "subscribed", "channels": [ch]}
        p = await Client.open(custom.url("/bot"))
        assert await p.request({"action": "say", "channel": ch, "data": {"x": 1}}) == {"type": "published", "channel": ch}
        check_delivery(await s.recv(), ch, {"x": 1})
        check_pong(await s.request({"action": "hb"}))
        assert await s.request({"action": "leave", "channels": [ch]}) == {"type": "unsubscribed", "channels": [ch]}
        # the built-in names stay routed alongside the declared ones
        check_pong(await s.request({"action": "ping"}))
        assert await s.request({"action": "subscribe", "channel": ch}) == {"type": "subscribed", "channels": [ch]}
        assert await p.request({"action": "publish", "channel": ch, "data": {"x": 2}}) == {"type": "published", "channel": ch}
        check_delivery(await s.recv(), ch, {"x": 2})
        await s.close()
        await p.close()
    run(main())


def test_custom_route_key(custom):
    async def main():
        c = await Client.open(custom.url("/op"))
        check_pong(await c.request({"op": "heartbeat"}))
        check_pong(await c.request({"op": "ping"}))
        check_error(await c.request({"op": "nope"}), "UNKNOWN_TYPE", details={"route": "nope"})
        m = await c.request({"action": "ping"})  # `action` is just a field here
        check_error(m, "MISSING_FIELD", "op is required", details={"field": "op"})
        await c.close()
    run(main())
