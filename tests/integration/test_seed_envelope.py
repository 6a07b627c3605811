"""/api/v1/ws (seed 002, `envelope` profile): {type,data,request_id} envelopes,
message by message as docs/PROTOCOLS.md describes them: the `connected`
greeting, subscribe/unsubscribe/ping/publish/echo, every error code a client
can provoke, the rate limit, the abuse limit and the `disconnecting` notice on
a graceful stop."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from conftest import T, run
from wsutil import (SESSION_RE, JsonClient, check_delivery, check_pong, check_timestamp, config, connect, dumps,
                    endpoint, expect_close, recv_json, strict_json, uniq)

PATH = "/api/v1/ws"

# a custom config: the envelope profile on /env with a small abuse limit, on
# /envw with a short error window, and a burst-limited endpoint on /envr
LIMITS_CONFIG = config(
    endpoint("/env", "envelope", rate_limit_per_minute=0, max_errors=3, error_window_ms=60000),
    endpoint("/envw", "envelope", rate_limit_per_minute=0, max_errors=3, error_window_ms=500),
    endpoint("/envr", "envelope", rate_limit_per_minute=60, rate_limit_burst=5, max_errors=2),
    endpoint("/envs", "envelope", max_envelope_bytes=1000, max_message_bytes=100000, max_subscriptions=3),
)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

class Client(JsonClient):
    """One envelope connection; `open()` reads and checks the greeting."""

    def __init__(self, ws):
        super().__init__(ws)
        self.session_id: str | None = None

    @classmethod
    async def open(cls, url: str, **kw) -> "Client":
        c = await super().open(url, **kw)
        g = await c.recv()
        check_connected(g)
        c.session_id = g["data"]["session_id"]
        return c

    async def ping(self, rid="alive") -> None:
        """The connection is open and answering: ping -> pong with rid."""
        check_pong(await self.request({"type": "ping", "request_id": rid}), rid)

    async def subscribe(self, channels, rid="sub") -> None:
        m = await self.request({"type": "subscribe", "data": {"channels": list(channels)}, "request_id": rid})
        check_reply(m, "subscribed", rid, {"channels": list(channels)})

    async def unsubscribe(self, channels, rid="unsub") -> None:
        m = await self.request({"type": "unsubscribe", "data": {"channels": list(channels)}, "request_id": rid})
        check_reply(m, "unsubscribed", rid, {"channels": list(channels)})

    async def publish(self, channel, type_=None, data=None, rid="pub") -> dict:
        d = {"channel": channel}
        if type_ is not None:
            d["type"] = type_
        if data is not None:
            d["data"] = data
        m = await self.request({"type": "publish", "data": d, "request_id": rid})
        check_reply(m, "published", rid, {"channel": channel})
        return m


def check_connected(m: dict) -> None:
    assert set(m) == {"type", "data", "timestamp"}, m
    assert m["type"] == "connected", m
    assert set(m["data"]) == {"session_id", "user_id"}, m
    assert isinstance(m["data"]["session_id"], str) and SESSION_RE.match(m["data"]["session_id"]), \
        f"session_id is not 16 hex digits: {m}"
    # The default config's endpoint authenticates (conftest signs the test
    # token for "test-user"); a config-file endpoint without auth says anonymous.
    assert m["data"]["user_id"] in ("test-user", "anonymous"), m
    check_timestamp(m["timestamp"])


def check_reply(m: dict, type_: str, rid, data) -> None:
    """{"type":type_,"data":data,"request_id":rid,"timestamp":...} exactly."""
    assert set(m) == {"type", "data", "request_id", "timestamp"}, m
    assert m["type"] == type_, m
    assert m["request_id"] == rid and type(m["request_id"]) is type(rid), m
    assert m["data"] == data, m
    check_timestamp(m["timestamp"])


_NO_DETAILS = object()


def check_error(m: dict, code: str, rid=None, details=_NO_DETAILS, *, message: str | None = None) -> dict:
    """An envelope error; `details` is the exact expected value (None: no
    details or {}; _NO_DETAILS: not checked).  Returns the details (or {})."""
    assert set(m) == {"type", "data", "request_id", "timestamp"}, m
    assert m["type"] == "error", m
    assert m["request_id"] == rid and type(m["request_id"]) is type(rid), m
    check_timestamp(m["timestamp"])
    d = m["data"]
    assert isinstance(d, dict), m
    assert set(d) - {"details"} == {"error_code", "message"}, m
    assert d["error_code"] == code, m
    assert isinstance(d["message"], str) and d["message"], m
    if message is not None:
        assert d["message"] == message, m
    got = d.get("details", {})
    assert isinstance(got, dict), m
    if details is None:
        assert got == {}, m
    elif details is not _NO_DETAILS:
        assert got == details, m
    return got


@pytest.fixture
def limits_server(server_factory):
    return server_factory(config=LIMITS_CONFIG, threads=2)


# --------------------------------------------------------------------------
# greeting
# --------------------------------------------------------------------------

def test_connected_greeting(server):
    async def main():
        c = await Client.open(server.url(PATH))
        await c.close()
    run(main())


def test_session_ids_are_distinct(server):
    async def main():
        cs = [await Client.open(server.url(PATH)) for _ in range(20)]
        ids = [c.session_id.lower() for c in cs]
        assert len(set(ids)) == len(ids), ids
        for c in cs:
            await c.close()
    run(main())


def test_greeting_comes_without_sending_anything_and_only_once(server):
    async def main():
        async with connect(server.url(PATH)) as ws:
            check_connected(await recv_json(ws))
            await ws.send(dumps({"type": "ping", "request_id": "p"}))
            check_pong(await recv_json(ws), "p")
    run(main())


# --------------------------------------------------------------------------
# replies
# --------------------------------------------------------------------------

def test_ping_pong(server):
    async def main():
        c = await Client.open(server.url(PATH))
        check_pong(await c.request({"type": "ping", "request_id": "ping_1"}), "ping_1")
        await c.close()
    run(main())


def test_ping_without_request_id_has_no_request_id(server):
    async def main():
        c = await Client.open(server.url(PATH))
        check_pong(await c.request({"type": "ping"}), None)
        await c.close()
    run(main())


RIDS = {
    "string": "req_1",
    "empty_string": "",
    "unicode_string": "réq-✓-🎉",
    "escapes_string": "a\"b\\c\nd\u0001",
    "int": 42,
    "zero": 0,
    "negative": -7,
    "float": 3.25,
    "big_int": 12345678901234567890,
}


@pytest.mark.parametrize("rid", list(RIDS.values()), ids=list(RIDS.keys()))
def test_request_id_echoed_as_sent(server, rid):
    async def main():
        c = await Client.open(server.url(PATH))
        check_pong(await c.request({"type": "ping", "request_id": rid}), rid)
        m = await c.request({"type": "echo", "data": {"x": 1}, "request_id": rid})
        check_reply(m, "echo", rid, {"x": 1})
        m = await c.request({"type": "subscribe", "data": {"channels": ["rid-test"]}, "request_id": rid})
        check_reply(m, "subscribed", rid, {"channels": ["rid-test"]})
        # errors echo it too
        check_error(await c.request({"type": "no_such_type", "request_id": rid}), "UNKNOWN_TYPE", rid,
                    {"route": "no_such_type"})
        await c.close()
    run(main())


NUMBERS = ["12345678901234567890", "18446744073709551615", "-9223372036854775808", "9007199254740993",
           "1.50", "-0", "1e3", "2.5E-3", "0.30000000000000004", "1e300", "-1.5e-300", "5e-324",
           "1.7976931348623157e308", "100000000000000000000000000000.0"]


@pytest.mark.parametrize("raw", NUMBERS)
def test_request_id_number_comes_back_as_the_same_number(server, raw):
    # "a number as the same number (1.50 comes back as 1.5)"
    async def main():
        c = await Client.open(server.url(PATH))
        await c.send('{"type":"ping","request_id":' + raw + '}')
        m = await c.recv()
        assert m["type"] == "pong", m
        got, sent = m["request_id"], json.loads(raw)
        assert isinstance(got, (int, float)) and not isinstance(got, bool), m
        assert got == sent, f"sent {raw} ({sent!r}), got back {got!r}"
        await c.close()
    run(main())


@pytest.mark.parametrize("rid", [True, False, {}, {"a": 1}, [], ["r1"]],
                         ids=["true", "false", "empty_object", "object", "empty_array", "array"])
def test_request_id_of_another_type_is_invalid_field(server, rid):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"type": "ping", "request_id": rid})
        det = check_error(m, "INVALID_FIELD", None)
        assert det.get("field") == "request_id", m
        await c.ping()
        await c.close()
    run(main())


def test_subscribe_and_unsubscribe_replies(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"type": "subscribe", "data": {"channels": ["uploads", "search_results", "system_status"]},
                             "request_id": "req_1"})
        check_reply(m, "subscribed", "req_1", {"channels": ["uploads", "search_results", "system_status"]})
        m = await c.request({"type": "unsubscribe", "data": {"channels": ["uploads"]}, "request_id": "req_2"})
        check_reply(m, "unsubscribed", "req_2", {"channels": ["uploads"]})
        await c.close()
    run(main())


def test_resubscribe_and_unsubscribe_unknown_are_not_errors(server):
    async def main():
        c = await Client.open(server.url(PATH))
        await c.subscribe(["a", "b"], "s1")
        # the reply lists the channels of the request, not the whole set
        await c.subscribe(["b", "c"], "s2")
        await c.subscribe(["a"], "s3")
        await c.unsubscribe(["never-subscribed"], "u1")
        await c.unsubscribe(["c"], "u2")
        await c.unsubscribe(["c"], "u3")
        await c.ping()
        await c.close()
    run(main())


def test_subscribing_twice_delivers_once(server):
    ch = uniq("twice")

    async def main():
        sub = await Client.open(server.url(PATH))
        pub = await Client.open(server.url(PATH))
        await sub.subscribe([ch], "s1")
        await sub.subscribe([ch], "s2")
        await pub.publish(ch, "n", {"i": 1}, "p1")
        await pub.publish(ch, "n", {"i": 2}, "p2")
        got = [await sub.recv(), await sub.recv()]
        assert [g["data"] for g in got] == [{"i": 1}, {"i": 2}], got
        await sub.ping()  # nothing else queued before the pong
        await sub.close()
        await pub.close()
    run(main())


ECHO_DATA = {
    "empty": {},
    "nested": {"a": [1, 2.5, {"b": None, "c": True}], "s": "é\n\"q\"\\", "n": -1e-3},
    "unicode": {"text": "日本語 🎉 \u2028", "k\u00e9y": "v"},
    "big": {"blob": "x" * 30000},
}


@pytest.mark.parametrize("data", list(ECHO_DATA.values()), ids=list(ECHO_DATA.keys()))
def test_echo(server, data):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"type": "echo", "data": data, "request_id": "r4"})
        check_reply(m, "echo", "r4", data)
        await c.close()
    run(main())


def test_published_reply(server):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"type": "publish", "data": {"channel": "uploads", "type": "upload_progress",
                                                          "data": {"progress": 1}}, "request_id": "r3"})
        check_reply(m, "published", "r3", {"channel": "uploads"})
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# pub/sub
# --------------------------------------------------------------------------

SEED_MESSAGES = {
    "upload_progress": {"upload_id": "upload_123", "status": "processing", "progress": 45,
                        "emails_processed": 4500, "total_emails": 10000, "current_operation": "indexing_emails"},
    "search_result": {"email_id": "email_123", "subject": "Urgent: Action Required", "score": 0.95},
    "system_notification": {"level": "info", "message": "System maintenance scheduled for 2026-01-15",
                            "action_required": False},
    "new_emails": {"count": 150, "upload_id": "upload_123"},
}


@pytest.mark.parametrize("type_", list(SEED_MESSAGES), ids=list(SEED_MESSAGES))
def test_published_message_reaches_subscribers(server, type_):
    ch = uniq("uploads")
    data = SEED_MESSAGES[type_]

    async def main():
        subs = [await Client.open(server.url(PATH)) for _ in range(6)]  # both reactors, very likely
        for i, s in enumerate(subs):
            await s.subscribe([ch, uniq("other")], f"s{i}")
        pub = await Client.open(server.url(PATH))
        await pub.publish(ch, type_, data, "r3")
        for s in subs:
            check_delivery(await s.recv(), type_, data, ch)
        for s in subs + [pub]:
            await s.ping()  # nothing more (e.g. a duplicate) before the pong
            await s.close()
    run(main())


def test_publish_defaults_type_message_and_empty_data(server):
    ch = uniq("defaults")

    async def main():
        sub = await Client.open(server.url(PATH))
        await sub.subscribe([ch])
        pub = await Client.open(server.url(PATH))
        await pub.publish(ch, rid="d1")
        check_delivery(await sub.recv(), "message", {}, ch)
        await pub.publish(ch, type_="only_type", rid="d2")
        check_delivery(await sub.recv(), "only_type", {}, ch)
        await pub.publish(ch, data={"only": "data"}, rid="d3")
        check_delivery(await sub.recv(), "message", {"only": "data"}, ch)
        await sub.close()
        await pub.close()
    run(main())


def test_publisher_receives_its_own_message_when_subscribed(server):
    ch = uniq("self")

    async def main():
        c = await Client.open(server.url(PATH))
        await c.subscribe([ch])
        await c.send({"type": "publish", "data": {"channel": ch, "type": "new_emails",
                                                  "data": SEED_MESSAGES["new_emails"]}, "request_id": "own"})
        got = [await c.recv(), await c.recv()]
        got.sort(key=lambda m: m["type"])
        check_delivery(got[0], "new_emails", SEED_MESSAGES["new_emails"], ch)
        check_reply(got[1], "published", "own", {"channel": ch})
        await c.ping()
        await c.close()
    run(main())


def test_non_subscribers_receive_nothing(server):
    ch = uniq("private")

    async def main():
        sub = await Client.open(server.url(PATH))
        await sub.subscribe([ch])
        bystanders = [await Client.open(server.url(PATH)) for _ in range(4)]
        for b in bystanders[:2]:
            await b.subscribe([ch + "-x", "x-" + ch])  # similar names, other channels
        pub = await Client.open(server.url(PATH))
        for i in range(5):
            await pub.publish(ch, "m", {"i": i}, f"p{i}")
        for i in range(5):
            check_delivery(await sub.recv(), "m", {"i": i}, ch)
        # anything a bystander received would come before its pong
        for b in bystanders:
            await b.ping()
            await b.close()
        await sub.close()
        await pub.close()
    run(main())


def test_messages_from_one_publisher_arrive_in_order(server):
    ch = uniq("order")
    n = 90  # within the default 100-per-minute limit of the publisher

    async def main():
        subs = [await Client.open(server.url(PATH)) for _ in range(4)]
        for s in subs:
            await s.subscribe([ch])
        pub = await Client.open(server.url(PATH))
        for i in range(n):
            await pub.send({"type": "publish", "data": {"channel": ch, "data": {"seq": i}}, "request_id": i})
        for i in range(n):
            check_reply(await pub.recv(), "published", i, {"channel": ch})
        for s in subs:
            for i in range(n):
                check_delivery(await s.recv(), "message", {"seq": i}, ch)
            await s.close()
        await pub.close()
    run(main())


def test_unsubscribe_stops_delivery(server):
    ch, keep = uniq("gone"), uniq("kept")

    async def main():
        sub = await Client.open(server.url(PATH))
        await sub.subscribe([ch, keep])
        pub = await Client.open(server.url(PATH))
        await pub.publish(ch, "before", {"n": 0}, "b0")
        check_delivery(await sub.recv(), "before", {"n": 0}, ch)
        await sub.unsubscribe([ch])
        for i in range(5):
            await pub.publish(ch, "after", {"n": i}, f"a{i}")
        await pub.publish(keep, "sentinel", {}, "s")
        check_delivery(await sub.recv(), "sentinel", {}, keep)
        await sub.ping()
        # resubscribing works again
        await sub.subscribe([ch])
        await pub.publish(ch, "again", {"n": 1}, "g")
        check_delivery(await sub.recv(), "again", {"n": 1}, ch)
        await sub.close()
        await pub.close()
    run(main())


def test_disconnected_subscriber_does_not_disturb_others(server):
    ch = uniq("drop")

    async def main():
        subs = [await Client.open(server.url(PATH)) for _ in range(4)]
        for s in subs:
            await s.subscribe([ch])
        subs[0].ws.transport.abort()  # vanish without a close frame
        await subs[1].close()
        pub = await Client.open(server.url(PATH))
        for i in range(3):
            await pub.publish(ch, "m", {"i": i}, f"p{i}")
        for s in subs[2:]:
            for i in range(3):
                check_delivery(await s.recv(), "m", {"i": i}, ch)
            await s.close()
        await pub.close()
    run(main())


def test_server_pushes_do_not_count_towards_rate_limit(server):
    ch = uniq("pushes")

    async def main():
        sub = await Client.open(server.url(PATH))
        await sub.subscribe([ch])  # 1 of its 100 tokens
        pubs = [await Client.open(server.url(PATH)) for _ in range(2)]
        for p, pub in enumerate(pubs):
            for i in range(60):
                await pub.send({"type": "publish", "data": {"channel": ch, "data": {"p": p, "i": i}},
                                "request_id": i})
        for pub in pubs:
            for i in range(60):
                check_reply(await pub.recv(), "published", i, {"channel": ch})
        seen = {0: [], 1: []}
        for _ in range(120):
            m = await sub.recv()
            assert m["type"] == "message", m
            seen[m["data"]["p"]].append(m["data"]["i"])
        assert seen == {0: list(range(60)), 1: list(range(60))}
        # 120 pushes received, 2 messages sent: not rate limited
        await sub.ping("after-pushes")
        await sub.close()
        for pub in pubs:
            await pub.close()
    run(main())


# --------------------------------------------------------------------------
# errors: each one reachable, one reply each, connection still usable
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '{"type": "ping",',
    'not json',
    '{"type":"ping"} trailing',
    '',
    "{'type':'ping'}",
    '{"type":"ping",}',
    '{"type":"ping" "request_id":"x"}',
], ids=["truncated", "bare_word", "trailing", "empty", "single_quotes", "trailing_comma", "missing_comma"])
def test_invalid_json(server, text):
    async def main():
        c = await Client.open(server.url(PATH))
        det = check_error(await c.request(text), "INVALID_JSON", None)
        assert set(det) <= {"offset"}, det
        if "offset" in det:
            assert isinstance(det["offset"], int) and 0 <= det["offset"] <= len(text.encode()), det
        await c.ping()
        await c.close()
    run(main())


@pytest.mark.parametrize("text", ['[{"type":"ping"}]', '"ping"', '42', 'null', 'true', '[]'],
                         ids=["array", "string", "number", "null", "true", "empty_array"])
def test_invalid_message(server, text):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request(text), "INVALID_MESSAGE", None, None)
        await c.ping()
        await c.close()
    run(main())


MISSING = {
    "no_type": ({"data": {}, "request_id": "m1"}, "type"),
    "empty_object": ({"request_id": "m1"}, "type"),
    "subscribe_no_data": ({"type": "subscribe", "request_id": "m1"}, "data.channels"),
    "subscribe_no_channels": ({"type": "subscribe", "data": {}, "request_id": "m1"}, "data.channels"),
    "unsubscribe_no_channels": ({"type": "unsubscribe", "data": {"channel": "x"}, "request_id": "m1"},
                                "data.channels"),
    "publish_no_channel": ({"type": "publish", "data": {"type": "t", "data": {}}, "request_id": "m1"},
                           "data.channel"),
}


@pytest.mark.parametrize("msg,field", list(MISSING.values()), ids=list(MISSING.keys()))
def test_missing_field(server, msg, field):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request(msg), "MISSING_FIELD", "m1", {"field": field})
        await c.ping()
        await c.close()
    run(main())


def test_missing_field_message_text(server):
    # the example in docs/PROTOCOLS.md, byte for byte where it is fixed
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"type": "subscribe", "data": {}, "request_id": "r1"})
        check_error(m, "MISSING_FIELD", "r1", {"field": "data.channels"}, message="data.channels is required")
        await c.close()
    run(main())


INVALID = {
    "type_number": ({"type": 5, "request_id": "f1"}, "type", "string"),
    "type_null": ({"type": None, "request_id": "f1"}, "type", "string"),
    "type_object": ({"type": {"t": "ping"}, "request_id": "f1"}, "type", "string"),
    "data_array": ({"type": "echo", "data": [1, 2], "request_id": "f1"}, "data", None),
    "data_string": ({"type": "ping", "data": "x", "request_id": "f1"}, "data", None),
    "channels_string": ({"type": "subscribe", "data": {"channels": "uploads"}, "request_id": "f1"},
                        "data.channels", None),
    "channels_object": ({"type": "unsubscribe", "data": {"channels": {"a": 1}}, "request_id": "f1"},
                        "data.channels", None),
    "publish_channel_number": ({"type": "publish", "data": {"channel": 7}, "request_id": "f1"},
                               "data.channel", "string"),
}


@pytest.mark.parametrize("msg,field,expected", list(INVALID.values()), ids=list(INVALID.keys()))
def test_invalid_field(server, msg, field, expected):
    async def main():
        c = await Client.open(server.url(PATH))
        det = check_error(await c.request(msg), "INVALID_FIELD", "f1")
        assert set(det) == {"field", "expected"}, det
        assert det["field"] == field, det
        assert isinstance(det["expected"], str) and det["expected"], det
        if expected is not None:
            assert det["expected"] == expected, det
        await c.ping()
        await c.close()
    run(main())


@pytest.mark.parametrize("route", ["stream_search", "chat_message", "PING", "ping ", ""],
                         ids=["stream_search", "chat_message", "case", "trailing_space", "empty"])
def test_unknown_type(server, route):
    async def main():
        c = await Client.open(server.url(PATH))
        m = await c.request({"type": route, "data": {"query": "Find urgent emails", "limit": 50},
                             "request_id": "search_1"})
        check_error(m, "UNKNOWN_TYPE", "search_1", {"route": route})
        await c.ping()
        await c.close()
    run(main())


def _echo_of_size(n: int) -> str:
    base = dumps({"type": "echo", "data": {"pad": ""}})
    text = base.replace('"pad":""', '"pad":"' + "p" * (n - len(base)) + '"')
    assert len(text.encode()) == n
    return text


def test_message_too_large(server):
    async def main():
        c = await Client.open(server.url(PATH))
        # exactly the limit is fine
        m = await c.request(_echo_of_size(65536), 10)
        assert m["type"] == "echo" and len(m["data"]["pad"]) > 65000, str(m)[:200]
        # one byte more is not
        check_error(await c.request(_echo_of_size(65537), 10), "MESSAGE_TOO_LARGE", None, {"limit": 65536})
        # far more (but under the frame limit) is not either, and it does not close
        check_error(await c.request(_echo_of_size(1 << 20), 10), "MESSAGE_TOO_LARGE", None, {"limit": 65536})
        await c.ping()
        await c.close()
    run(main())


def test_configured_envelope_and_frame_limits(limits_server):
    async def main():
        c = await Client.open(limits_server.url("/envs"))
        m = await c.request(_echo_of_size(1000))
        assert m["type"] == "echo", m
        check_error(await c.request(_echo_of_size(1001)), "MESSAGE_TOO_LARGE", None, {"limit": 1000})
        check_error(await c.request(_echo_of_size(100_000)), "MESSAGE_TOO_LARGE", None, {"limit": 1000})
        await c.ping()
        # over max_message_bytes (the frame-level limit) is still close 1009
        await c.send(_echo_of_size(100_001))
        await expect_close(c.ws, 1009)
    run(main())


def test_configured_max_subscriptions(limits_server):
    async def main():
        c = await Client.open(limits_server.url("/envs"))
        await c.subscribe(["a", "b", "c"], 1)
        check_error(await c.request({"type": "subscribe", "data": {"channels": ["d"]}, "request_id": 2}),
                    "TOO_MANY_SUBSCRIPTIONS", 2, {"limit": 3})
        await c.subscribe(["c", "a"], 3)
        await c.close()
    run(main())


def test_message_too_large_fragmented(server):
    async def main():
        c = await Client.open(server.url(PATH))
        text = _echo_of_size(100_000)
        await c.send([text[i:i + 10_000] for i in range(0, len(text), 10_000)])
        check_error(await c.recv(10), "MESSAGE_TOO_LARGE", None, {"limit": 65536})
        await c.ping()
        await c.close()
    run(main())


def test_binary_not_supported(server):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request(b'{"type":"ping","request_id":"b"}'), "BINARY_NOT_SUPPORTED", None, None)
        check_error(await c.request(b"\x00\xff"), "BINARY_NOT_SUPPORTED", None, None)
        await c.ping()
        await c.close()
    run(main())


BAD_CHANNELS = {
    "empty": ("", True),  # vacuously printable ASCII of at most 256 bytes
    "too_long": ("a" * 129, True),
    "printable_256": ("!" * 256, True),
    "too_long_257": ("a" * 257, False),
    "space": ("bad channel", True),
    "bang": ("news!", True),
    "star": ("a*", True),
    "hash": ("#general", True),
    "percent": ("50%", True),
    "comma": ("a,b", True),
    "quote": ('say"hi', True),
    "backslash": ("a\\b", True),
    "tab": ("a\tb", False),
    "nul": ("a\x00b", False),
    "newline": ("line\n", False),
    "non_ascii": ("café", False),
    "emoji": ("🎉", False),
    "del": ("a\x7fb", False),
}


@pytest.mark.parametrize("name,printable", list(BAD_CHANNELS.values()), ids=list(BAD_CHANNELS.keys()))
@pytest.mark.parametrize("op", ["subscribe", "unsubscribe", "publish"])
def test_invalid_channel(server, op, name, printable):
    async def main():
        c = await Client.open(server.url(PATH))
        if op == "publish":
            msg = {"type": "publish", "data": {"channel": name, "data": {}}, "request_id": "c1"}
        else:
            msg = {"type": op, "data": {"channels": ["fine", name]}, "request_id": "c1"}
        det = check_error(await c.request(msg), "INVALID_CHANNEL", "c1")
        # {"channel": ...} "when the name is printable ASCII of at most 256 bytes"
        if printable is True:
            assert det == {"channel": name}, det
        elif printable is False:
            assert det == {}, det
        else:
            assert set(det) <= {"channel"}, det
            if "channel" in det:
                assert det["channel"] == name, det
        await c.ping()
        await c.close()
    run(main())


def test_valid_channel_names(server):
    names = ["a", "Az09._-:/@", "x" * 128, "tenant-1/agent_2:room.3@eu", "UPPER", "0"]

    async def main():
        c = await Client.open(server.url(PATH))
        await c.subscribe(names, "ok")
        pub = await Client.open(server.url(PATH))
        for n in names:
            await pub.publish(n, "t", {"n": n}, "p")
            check_delivery(await c.recv(), "t", {"n": n}, n)
        await c.unsubscribe(names, "ok2")
        await c.close()
        await pub.close()
    run(main())


def test_too_many_subscriptions(server):
    async def main():
        c = await Client.open(server.url(PATH))
        first = [f"ch{i}" for i in range(256)]
        await c.subscribe(first, "all256")
        check_error(await c.request({"type": "subscribe", "data": {"channels": ["ch256"]}, "request_id": "one-more"}),
                    "TOO_MANY_SUBSCRIPTIONS", "one-more", {"limit": 256})
        # at the limit, an existing channel is not "more"
        await c.subscribe(["ch0", "ch255"], "again")
        # making room allows a new one
        await c.unsubscribe(["ch0"], "room")
        await c.subscribe(["ch256"], "fits")
        await c.ping()
        await c.close()
    run(main())


def test_too_many_subscriptions_in_one_request(server):
    async def main():
        c = await Client.open(server.url(PATH))
        check_error(await c.request({"type": "subscribe", "data": {"channels": [f"x{i}" for i in range(257)]},
                                     "request_id": 257}), "TOO_MANY_SUBSCRIPTIONS", 257, {"limit": 256})
        await c.ping()
        await c.close()
    run(main())


def test_rate_limited_after_100_quick_messages(server):
    n = 115  # 15 RATE_LIMITED replies: more than max_errors (10), which they must not count towards

    async def main():
        c = await Client.open(server.url(PATH))
        t0 = time.monotonic()
        for i in range(n):
            await c.send({"type": "ping", "request_id": f"p{i}"})
        replies = [await c.recv(10) for _ in range(n)]
        elapsed = time.monotonic() - t0
        by_rid = {}
        for m in replies:
            by_rid[m["request_id"]] = m
        assert sorted(by_rid) == sorted(f"p{i}" for i in range(n)), [m.get("request_id") for m in replies]
        for i in range(100):
            check_pong(by_rid[f"p{i}"], f"p{i}")
        limited = []
        for i in range(100, n):
            m = by_rid[f"p{i}"]
            if m["type"] == "pong":
                check_pong(m, f"p{i}")
                continue
            det = check_error(m, "RATE_LIMITED", f"p{i}")
            assert set(det) == {"retry_after_ms"}, m
            ra = det["retry_after_ms"]
            assert isinstance(ra, int) and 0 < ra <= 650, f"100/min refills one every 600 ms: {m}"
            limited.append(ra)
        refilled = (n - 100) - len(limited)
        assert refilled <= elapsed * 100 / 60 + 1, (f"{refilled} extra pongs in {elapsed:.2f}s at 100/min", replies)
        assert limited, "no RATE_LIMITED after 115 quick messages"
        # the connection is still open (RATE_LIMITED does not count as abuse)
        # and a token is back after retry_after_ms
        await asyncio.sleep(max(limited[-1], 1) / 1000 + 0.05)
        check_pong(await c.request({"type": "ping", "request_id": "later"}), "later")
        await c.close()
    run(main())


def test_rate_limit_burst(limits_server):
    async def main():
        c = await Client.open(limits_server.url("/envr"))
        for i in range(8):
            await c.send({"type": "ping", "request_id": i})
        replies = [await c.recv() for _ in range(8)]
        for i in range(5):
            check_pong(replies[i], i)
        for i in range(5, 8):
            m = replies[i]
            if m["type"] == "pong":  # one token a second (60/min) may have come back
                continue
            det = check_error(m, "RATE_LIMITED", i)
            assert isinstance(det.get("retry_after_ms"), int) and 0 < det["retry_after_ms"] <= 1050, m
        assert sum(m["type"] == "error" for m in replies) >= 2, replies
        # max_errors = 2 here, and 3 RATE_LIMITED did not close the connection
        assert c.ws.close_code is None
        await c.close()
    run(main())


ERROR_MAKERS = {
    "INVALID_JSON": "{",
    "INVALID_MESSAGE": "[]",
    "MISSING_FIELD": dumps({"data": {}}),
    "INVALID_FIELD": dumps({"type": 1}),
    "UNKNOWN_TYPE": dumps({"type": "nope"}),
    "BINARY_NOT_SUPPORTED": b"\x01",
    "INVALID_CHANNEL": dumps({"type": "subscribe", "data": {"channels": ["no spaces"]}}),
}


@pytest.mark.parametrize("code", list(ERROR_MAKERS), ids=list(ERROR_MAKERS))
def test_abuse_limit_closes_1008(limits_server, code):
    bad = ERROR_MAKERS[code]

    async def main():
        c = await Client.open(limits_server.url("/env"))
        for i in range(3):  # max_errors = 3: three errors are answered, the connection stays
            m = await c.request(bad)
            assert m["type"] == "error" and m["data"]["error_code"] == code, m
            await c.ping(f"still-open-{i}")
        await c.send(bad)  # the fourth within the window closes
        before = await expect_close(c.ws, 1008, "too many invalid messages")
        assert len(before) <= 1, before  # at most the fourth error reply
        for raw in before:
            m = strict_json(raw)
            assert m["type"] == "error" and m["data"]["error_code"] == code, m
    run(main())


def test_abuse_limit_counts_mixed_errors(limits_server):
    async def main():
        c = await Client.open(limits_server.url("/env"))
        for bad in ("{", b"\x02", dumps({"type": "zz"})):
            m = await c.request(bad)
            assert m["type"] == "error", m
        await c.send(dumps({"type": "subscribe", "data": {}}))
        await expect_close(c.ws, 1008, "too many invalid messages")
    run(main())


def test_abuse_limit_is_per_connection(limits_server):
    async def main():
        a = await Client.open(limits_server.url("/env"))
        b = await Client.open(limits_server.url("/env"))
        for i in range(3):
            assert (await a.request("{"))["type"] == "error"
            assert (await b.request("{"))["type"] == "error"
        await a.send("{")
        await expect_close(a.ws, 1008, "too many invalid messages")
        await b.ping()
        await b.close()
    run(main())


def test_abuse_errors_outside_the_window_do_not_count(limits_server):
    async def main():
        c = await Client.open(limits_server.url("/envw"))  # max_errors 3 within 500 ms
        for _ in range(3):
            assert (await c.request("{"))["type"] == "error"
        await asyncio.sleep(T(0.8))  # the window passes (time is the subject here)
        for _ in range(3):
            assert (await c.request("{"))["type"] == "error"
        await c.ping()
        await c.close()
    run(main())


def test_default_abuse_limit_is_10(server):
    async def main():
        c = await Client.open(server.url(PATH))
        for i in range(10):
            check_error(await c.request({"type": "bogus", "request_id": i}), "UNKNOWN_TYPE", i, {"route": "bogus"})
        await c.ping()
        await c.send(dumps({"type": "bogus", "request_id": 10}))
        await expect_close(c.ws, 1008, "too many invalid messages")
    run(main())


# --------------------------------------------------------------------------
# graceful stop
# --------------------------------------------------------------------------

def _shutdown_check(srv, path, reason, delay, n=6):
    async def main():
        clients = [await Client.open(srv.url(path)) for _ in range(n)]
        for i, c in enumerate(clients):
            await c.subscribe([f"shutdown-{i}"])
        srv.signal(signal.SIGTERM)
        for c in clients:
            before = await expect_close(c.ws, 1001, timeout=10)
            assert len(before) == 1, f"expected exactly the disconnecting notice before close 1001, got {before}"
            m = strict_json(before[0])
            assert set(m) == {"type", "data", "timestamp"}, m
            assert m["type"] == "disconnecting", m
            assert m["data"] == {"reason": reason, "reconnect_delay_ms": delay}, m
            assert type(m["data"]["reconnect_delay_ms"]) is int, m
            check_timestamp(m["timestamp"])
    run(main(), 30)
    srv.wait(T(10))
    srv.stop()  # asserts exit 0 and no sanitizer report


def test_graceful_stop_sends_disconnecting_defaults(server_factory):
    srv = server_factory(threads=2)
    _shutdown_check(srv, PATH, "server_shutdown", 5000)


def test_graceful_stop_sends_configured_disconnecting(server_factory):
    srv = server_factory(threads=2, config=config(
        endpoint("/env", "envelope"), server={"reconnect_delay_ms": 1234, "shutdown_reason": "maintenance.window-2"}))
    _shutdown_check(srv, "/env", "maintenance.window-2", 1234)


def test_graceful_stop_by_sigint(server_factory):
    srv = server_factory(threads=2, config=config(endpoint("/env", "envelope"), server={"reconnect_delay_ms": 0}))

    async def main():
        c = await Client.open(srv.url("/env"))
        srv.signal(signal.SIGINT)
        before = await expect_close(c.ws, 1001, timeout=10)
        assert [strict_json(b)["data"] for b in before] == [{"reason": "server_shutdown", "reconnect_delay_ms": 0}]
    run(main())
    srv.wait(T(10))
    srv.stop()
