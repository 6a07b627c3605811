"""/v1 (seeds 000 and 004, `action` profile): messages routed by `action`
(API Gateway's $request.body.action).  The default config declares seed 004's
`message` route (echo, required interview_id and message); subscribe,
unsubscribe, ping and publish are built in.  Errors have the seed's shape:
{"message": "...", "type": "error", "error_code": "..."} plus the request's
required fields that were present."""

from __future__ import annotations

import pytest

from conftest import run
from wsutil import ABSENT, JsonClient, check_flat_error, check_pong, config, endpoint, offset_details, route, uniq
from wsutil import check_delivery as _check_delivery

PATH = "/v1"

CUSTOM_CONFIG = config(
    endpoint("/bot", "action",
             route("ask", "echo", required=["question", "session"]),
             route("join", "subscribe"),
             route("leave", "unsubscribe"),
             route("say", "publish"),
             route("hb", "ping"),
             route("free", "echo"),
             route("typed", "echo", required=["type", "note"])),
    endpoint("/op", "action", route("heartbeat", "ping"), route_key="op"),
)


class Client(JsonClient):
    async def ping(self, rid="alive") -> None:
        check_pong(await self.request({"action": "ping", "request_id": rid}), rid)


def check_error(m: dict, code: str, message: str | None = None, extra: dict | None = None,
                details=ABSENT) -> None:
    """Exactly {"message","type":"error","error_code"} plus `details` (the
    exact value; ABSENT: none; a callable: checks it) plus `extra`."""
    check_flat_error(m, "error", "message", code, extra or {}, details)
    if message is not None:
        assert m["message"] == message, m


def check_delivery(m: dict, channel: str, data) -> None:
    _check_delivery(m, "message", data, channel)


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


@pytest.mark.parametrize("value", ["", "日本語 🎉"], ids=["empty", "unicode"])
def test_message_values_of_any_string(server, value):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": value, "interview_id": "i-2"})
        assert m == {"message": value, "interview_id": "i-2", "type": "response"}, m
        await c.close()
    run(main())


@pytest.mark.parametrize("value,kind", [(42, "number"), (None, "null"), ({"a": 1}, "object"), (["x"], "array"),
                                        (True, "boolean")], ids=["number", "null", "object", "array", "boolean"])
def test_required_kinds_are_checked(server, value, kind):
    # The default route requires "interview_id:string" and "message:string".
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"action": "message", "message": value, "interview_id": "i-2"})
        check_error(m, "INVALID_FIELD", f"message must be a string, not {kind}", extra={"interview_id": "i-2"},
                    details={"field": "message", "expected": "string"})
        m = await c.request({"action": "message", "message": "Hi", "interview_id": value})
        check_error(m, "INVALID_FIELD", f"interview_id must be a string, not {kind}",
                    details={"field": "interview_id", "expected": "string"})
        await c.ping()
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
