"""/v1/ws (seed 003, `channel` profile): `?channel_id=ROOM` joins ROOM; a
message goes to every *other* connection in the room with `channel_id` and
`timestamp` set by the server; the sender gets ACK; failures are ERROR
messages; a bad channel name is refused with HTTP 400 at the upgrade.

Joining a room has no acknowledgement in docs/PROTOCOLS.md, so `Room.join`
first makes sure every member's membership is in effect everywhere by
exchanging probe messages (ids starting with "probe-") until each member has
received one from every other; probe traffic is filtered out of every read
afterwards."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote

import pytest
from websockets.exceptions import InvalidStatusCode

import rawws
from conftest import T, run
from wsutil import (ABSENT, JsonClient, check_flat_error, check_pong, check_timestamp, config, connect, endpoint,
                    expect_close, offset_details, strict_json, uniq)

PATH = "/v1/ws"
PROBE = "probe-"


def room_name(prefix="room") -> str:
    return uniq(prefix)


def _is_probe(m: dict) -> bool:
    mid = m.get("id") if m.get("type") == "message" else m.get("message_id") if m.get("type") == "ACK" else None
    return isinstance(mid, str) and mid.startswith(PROBE)


class Member(JsonClient):
    def __init__(self, ws, room: str | None):
        super().__init__(ws)
        self.room = room
        self.probes: set[str] = set()  # probe ids received

    @classmethod
    async def open(cls, url_base: str, room: str | None, param="channel_id") -> "Member":
        url = url_base + PATH + (f"?{param}={quote(room, safe=':/@')}" if room is not None else "")
        return cls(await connect(url), room)

    async def recv(self, timeout: float = 5) -> dict:
        """The next message that is not probe traffic."""
        while True:
            m = await super().recv(timeout)
            if _is_probe(m):
                if m["type"] == "message":
                    self.probes.add(m["id"])
                continue
            return m

    async def ping(self) -> None:
        """Nothing but probe traffic is pending: the next message is the pong."""
        check_pong(await self.request({"type": "ping"}))


class Room:
    @staticmethod
    async def join(url_base: str, room: str, n: int) -> list[Member]:
        members = [await Member.open(url_base, room) for _ in range(n)]
        await Room.settle(members)
        return members

    @staticmethod
    async def settle(members: list[Member], rounds: int = 50) -> None:
        """Each member sends probes until every other member has one from it."""
        for i, sender in enumerate(members):
            others = [m for m in members if m is not sender]
            for k in range(rounds):
                pid = f"{PROBE}{i}-{k}-{uuid.uuid4().hex[:6]}"
                await sender.send({"id": pid, "type": "message", "content": "probe"})
                pending = list(others)
                deadline = asyncio.get_running_loop().time() + T(0.3)
                while pending:
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    got = []
                    for o in pending:
                        if any(p.startswith(f"{PROBE}{i}-") for p in o.probes):
                            got.append(o)
                            continue
                        try:
                            m = await asyncio.wait_for(o.ws.recv(), min(left, 0.05))
                        except asyncio.TimeoutError:
                            continue
                        m = strict_json(m)
                        assert _is_probe(m), f"unexpected message while settling the room: {m}"
                        if m["type"] == "message":
                            o.probes.add(m["id"])
                    pending = [o for o in pending if o not in got]
                if not pending:
                    break
            else:
                raise AssertionError(f"member {i}'s probes never reached all others in {rounds} rounds")
        # drain the probes' ACKs and late probes: a ping's pong comes after
        # everything already queued for that connection
        for m in members:
            await m.ping()


def check_ack(m: dict, mid: str, rid=None) -> None:
    keys = {"type", "message_id", "timestamp"} | ({"request_id"} if rid is not None else set())
    assert set(m) == keys, m
    assert m["type"] == "ACK", m
    assert m["message_id"] == mid, m
    if rid is not None:
        assert m["request_id"] == rid, m
    check_timestamp(m["timestamp"])


def check_forwarded(m: dict, sent: dict, room: str) -> None:
    # tenant_id and agent_id belong to the server (from the sender's token);
    # on this unauthenticated endpoint a client's values are dropped.
    expected = {k: v for k, v in sent.items() if k not in ("tenant_id", "agent_id")}
    expected["channel_id"] = room
    ts = m.get("timestamp")
    expected["timestamp"] = ts
    assert m == expected, f"forwarded {m} for sent {sent}"
    check_timestamp(ts)


def check_error(m: dict, code: str, message_id=None, rid=None, details=ABSENT) -> None:
    """An ERROR; `details` is the exact expected value, ABSENT for none (the
    codes without details in the table), or a callable that checks it."""
    fields = {"message_id": message_id} | ({"request_id": rid} if rid is not None else {})
    check_flat_error(m, "ERROR", "error", code, fields, details, timestamp=True)


# The seed-003 formats without authentication (the default config's /v1/ws
# requires a JWT; test_auth.py and test_tenancy.py cover that side).
OPEN_CHANNEL_CONFIG = config(endpoint("/v1/ws", "channel", auth="none"))


@pytest.fixture(scope="module")
def _channel_server(tmp_path_factory):
    from conftest import Server
    s = Server(config=OPEN_CHANNEL_CONFIG, threads=2, tmpdir=tmp_path_factory.mktemp("channel"))
    yield s
    if not s.checked:
        s.stop()


@pytest.fixture
def server(_channel_server):
    _channel_server.assert_healthy()
    yield _channel_server


def base(server) -> str:
    return f"ws://{server.host}:{server.port}"


# --------------------------------------------------------------------------
# forwarding
# --------------------------------------------------------------------------

def test_message_goes_to_others_with_channel_id_and_timestamp(server):
    room = room_name()

    async def main():
        a, b, c = await Room.join(base(server), room, 3)
        sent = {"id": "m-1", "type": "message", "content": "Hello", "metadata": {"k": "v"}}
        check_ack(await a.request(sent), "m-1")
        check_forwarded(await b.recv(), sent, room)
        check_forwarded(await c.recv(), sent, room)
        for m in (a, b, c):
            await m.ping()  # the sender got no copy; nobody got two
            await m.close()
    run(main())


def test_two_clients_talk_both_ways(server):
    room = room_name()

    async def main():
        a, b = await Room.join(base(server), room, 2)
        m1 = {"id": "a-1", "type": "message", "content": "from a"}
        m2 = {"id": "b-1", "type": "message", "content": "from b"}
        check_ack(await a.request(m1), "a-1")
        check_forwarded(await b.recv(), m1, room)
        check_ack(await b.request(m2), "b-1")
        check_forwarded(await a.recv(), m2, room)
        await a.ping()
        await b.ping()
        await a.close()
        await b.close()
    run(main())


def test_client_sent_channel_id_and_timestamp_are_replaced(server):
    room = room_name()

    async def main():
        a, b = await Room.join(base(server), room, 2)
        sent = {"id": "m-2", "type": "message", "content": "spoof", "channel_id": "someone-else",
                "timestamp": "1999-01-01T00:00:00.000Z"}
        check_ack(await a.request(sent), "m-2")
        m = await b.recv()  # strict_json: exactly one channel_id and one timestamp
        assert m["channel_id"] == room, m
        assert m["timestamp"] != "1999-01-01T00:00:00.000Z", m
        check_forwarded(m, {"id": "m-2", "type": "message", "content": "spoof"}, room)
        # other types for the fields are replaced too
        sent = {"id": "m-3", "type": "message", "channel_id": {"x": 1}, "timestamp": 5}
        check_ack(await a.request(sent), "m-3")
        check_forwarded(await b.recv(), {"id": "m-3", "type": "message"}, room)
        await a.close()
        await b.close()
    run(main())


CONTENTS = {
    "string": "Hello, world!",
    "empty_string": "",
    "escapes": "q\"uote\\ \n\t \u0001 </script>",
    "unicode": "日本語 🎉 \u2028",
    "number": 3.5,
    "int": -12,
    "null": None,
    "true": True,
    "object": {"a": [1, {"b": None}], "c": "d"},
    "array": [1, "two", [3], {}],
    "big": "y" * 40000,
}


@pytest.mark.parametrize("content", list(CONTENTS.values()), ids=list(CONTENTS.keys()))
def test_content_any_json_value_forwarded_as_sent(server, content):
    room = room_name()

    async def main():
        a, b = await Room.join(base(server), room, 2)
        sent = {"id": "c-1", "type": "message", "content": content, "metadata": {"importance": "high"}}
        check_ack(await a.request(sent), "c-1")
        check_forwarded(await b.recv(), sent, room)
        await a.close()
        await b.close()
    run(main())


def test_optional_and_extra_fields_forwarded(server):
    room = room_name()

    async def main():
        a, b = await Room.join(base(server), room, 2)
        for sent in ({"id": "o-1", "type": "message"},
                     {"type": "message", "id": "o-2", "tenant_id": "t", "agent_id": "ag", "extra": {"deep": [1, 2]}},
                     {"id": "o-3", "type": "message", "content": "é", "request_id": "rq"}):
            ack = await a.request(sent)
            check_ack(ack, sent["id"], sent.get("request_id"))
            check_forwarded(await b.recv(), sent, room)
        await a.close()
        await b.close()
    run(main())


def test_many_messages_in_order(server):
    room = room_name()
    n = 300

    async def main():
        a, b, c = await Room.join(base(server), room, 3)
        sent = [{"id": f"seq-{i}", "type": "message", "content": {"i": i}} for i in range(n)]
        for s in sent:
            await a.send(s)
        for s in sent:
            check_ack(await a.recv(), s["id"])
        for r in (b, c):
            for s in sent:
                check_forwarded(await r.recv(), s, room)
        for m in (a, b, c):
            await m.close()
    run(main(), 60)


def test_sender_alone_in_room_gets_ack(server):
    async def main():
        a = await Member.open(base(server), room_name())
        check_ack(await a.request({"id": "solo", "type": "message", "content": "anyone?"}), "solo")
        await a.ping()
        await a.close()
    run(main())


def test_rooms_are_isolated(server):
    r1, r2 = room_name("iso1"), room_name("iso2")

    async def main():
        a, b = await Room.join(base(server), r1, 2)
        c, d = await Room.join(base(server), r2, 2)
        m1 = {"id": "r1-msg", "type": "message", "content": "for room 1"}
        m2 = {"id": "r2-msg", "type": "message", "content": "for room 2"}
        check_ack(await a.request(m1), "r1-msg")
        check_ack(await c.request(m2), "r2-msg")
        check_forwarded(await b.recv(), m1, r1)
        check_forwarded(await d.recv(), m2, r2)
        for m in (a, b, c, d):
            await m.ping()  # nothing from the other room queued
            await m.close()
    run(main())


def test_similar_room_names_are_different_rooms(server):
    r = room_name("sim")

    async def main():
        a, b = await Room.join(base(server), r, 2)
        others = [await Member.open(base(server), name) for name in (r.upper(), r + "x", r[:-1], r + "/")]
        msg = {"id": "s-1", "type": "message", "content": 1}
        check_ack(await a.request(msg), "s-1")
        check_forwarded(await b.recv(), msg, r)
        for o in others:
            await o.ping()
            await o.close()
        await a.close()
        await b.close()
    run(main())


def test_member_leaving_does_not_disturb_the_room(server):
    room = room_name()

    async def main():
        a, b, c, d = await Room.join(base(server), room, 4)
        c.ws.transport.abort()  # gone without a close frame
        await d.close()
        msg = {"id": "after-leave", "type": "message", "content": "still here?"}
        check_ack(await a.request(msg), "after-leave")
        check_forwarded(await b.recv(), msg, room)
        await a.close()
        await b.close()
    run(main())


def test_ping_pong(server):
    async def main():
        a = await Member.open(base(server), room_name())
        check_pong(await a.request({"type": "ping"}))
        check_pong(await a.request({"type": "ping", "request_id": "hb-1"}), "hb-1")
        await a.close()
        # also without a channel
        n = await Member.open(base(server), None)
        check_pong(await n.request({"type": "ping"}))
        await n.close()
    run(main())


def test_nothing_is_sent_on_open(server):
    async def main():
        a = await Member.open(base(server), room_name())
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(a.ws.recv(), 0.3)
        await a.close()
    run(main())


def test_cross_reactor_rooms(server_factory):
    """20 members over 4 reactors; every message reaches the 19 others."""
    srv = server_factory(threads=4, config=OPEN_CHANNEL_CONFIG)
    room = room_name("x")

    async def main():
        members = await Room.join(base(srv), room, 20)
        for i, m in enumerate(members[:5]):
            msg = {"id": f"x-{i}", "type": "message", "content": i}
            check_ack(await m.request(msg), f"x-{i}")
            for o in members:
                if o is not m:
                    check_forwarded(await o.recv(), msg, room)
        for m in members:
            await m.ping()
            await m.close()
    run(main(), 60)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

def test_missing_id(server):
    async def main():
        a, b = await Room.join(base(server), room_name(), 2)
        m = await a.request({"type": "message", "content": "no id"})
        check_error(m, "MISSING_FIELD", None, details={"field": "id"})
        assert m["error"] == "id is required", m
        await a.ping()
        await b.ping()  # not forwarded
        await a.close()
        await b.close()
    run(main())


def test_missing_type(server):
    async def main():
        a, b = await Room.join(base(server), room_name(), 2)
        m = await a.request({"id": "m-7", "content": "no type"})
        check_error(m, "MISSING_FIELD", "m-7", details={"field": "type"})
        assert "type" in m["error"], m
        await a.ping()
        await b.ping()
        await a.close()
        await b.close()
    run(main())


@pytest.mark.parametrize("bad_id", [5, {"x": 1}, ["m"], True], ids=["number", "object", "array", "true"])
def test_id_not_a_string(server, bad_id):
    async def main():
        a = await Member.open(base(server), room_name())
        m = await a.request({"id": bad_id, "type": "message", "content": "x"})
        check_error(m, "INVALID_FIELD", m.get("message_id"), details={"field": "id", "expected": "string"})
        assert m["message_id"] in (None, bad_id), m
        await a.ping()
        await a.close()
    run(main())


@pytest.mark.parametrize("text", ['{"id":"m-1","type":"message"', "hello", "", '{"id":"m-1"} x'],
                         ids=["truncated", "word", "empty", "trailing"])
def test_bad_json(server, text):
    async def main():
        a = await Member.open(base(server), room_name())
        check_error(await a.request(text), "INVALID_JSON", None, details=offset_details(text))
        await a.ping()
        await a.close()
    run(main())


@pytest.mark.parametrize("text", ["[]", '["id","m-1"]', "1", '"message"', "null"])
def test_not_an_object(server, text):
    async def main():
        a = await Member.open(base(server), room_name())
        check_error(await a.request(text), "INVALID_MESSAGE", None)
        await a.ping()
        await a.close()
    run(main())


def test_unknown_type(server):
    async def main():
        a, b = await Room.join(base(server), room_name(), 2)
        check_error(await a.request({"id": "u-1", "type": "subscribe", "content": "x"}), "UNKNOWN_TYPE", "u-1",
                    details={"route": "subscribe"})
        check_error(await a.request({"id": "u-2", "type": "MESSAGE"}), "UNKNOWN_TYPE", "u-2",
                    details={"route": "MESSAGE"})
        check_error(await a.request({"id": "u-3", "type": "ACK"}), "UNKNOWN_TYPE", "u-3", details={"route": "ACK"})
        check_error(await a.request({"id": "u-4", "type": "zz", "request_id": 9}), "UNKNOWN_TYPE", "u-4", 9,
                    details={"route": "zz"})
        await a.ping()
        await b.ping()  # none of them was forwarded
        await a.close()
        await b.close()
    run(main())


def test_binary_not_supported(server):
    async def main():
        a, b = await Room.join(base(server), room_name(), 2)
        check_error(await a.request(b'{"id":"b-1","type":"message"}'), "BINARY_NOT_SUPPORTED", None)
        await a.ping()
        await b.ping()
        await a.close()
        await b.close()
    run(main())


def test_no_channel(server):
    async def main():
        a = await Member.open(base(server), None)
        m = await a.request({"id": "m-1", "type": "message", "content": "Hello"})
        check_error(m, "NO_CHANNEL", "m-1")
        await a.ping()
        await a.close()
    run(main())


def test_error_request_id_echoed(server):
    async def main():
        a = await Member.open(base(server), None)
        check_error(await a.request({"id": "m-1", "type": "message", "request_id": "r-5"}), "NO_CHANNEL", "m-1", "r-5")
        await a.close()
        b = await Member.open(base(server), room_name())
        check_error(await b.request({"type": "message", "request_id": 77}), "MISSING_FIELD", None, 77,
                    details={"field": "id"})
        check_error(await b.request({"id": "e-1", "type": "nope", "request_id": "r-6"}), "UNKNOWN_TYPE", "e-1", "r-6",
                    details={"route": "nope"})
        await b.close()
    run(main())


def test_abuse_limit_closes_1008(server):
    # default max_errors (10) within error_window_ms
    async def main():
        a = await Member.open(base(server), room_name())
        for i in range(10):
            check_error(await a.request({"type": "message", "content": i}), "MISSING_FIELD", None,
                        details={"field": "id"})
        await a.ping()
        await a.send({"type": "message"})
        before = await expect_close(a.ws, 1008, "too many invalid messages")
        assert len(before) <= 1, before
    run(main())


# --------------------------------------------------------------------------
# the upgrade: channel names
# --------------------------------------------------------------------------

BAD_ROOMS = {
    "empty": "channel_id=",
    "space_encoded": "channel_id=bad%20room",
    "bang": "channel_id=room!",
    "star": "channel_id=a*b",
    "too_long": "channel_id=" + "a" * 129,
    "control_encoded": "channel_id=a%01b",
    "hash_encoded": "channel_id=%23general",
    "dollar": "channel_id=$room",
    "quote_encoded": "channel_id=a%22b",
}


@pytest.mark.parametrize("query", list(BAD_ROOMS.values()), ids=list(BAD_ROOMS.keys()))
def test_bad_channel_id_is_http_400(server, query):
    with rawws.RawConn(server.host, server.port, T(5)) as c:
        c.send(rawws.build_request("GET", f"{PATH}?{query}", rawws.upgrade_headers(server.hostport)))
        resp = c.read_http_response(T(5))
        assert resp.status == 400, resp
        assert resp.header("Sec-WebSocket-Accept") is None, resp


def test_bad_channel_id_with_websockets_client(server):
    async def main():
        with pytest.raises(InvalidStatusCode) as ei:
            async with connect(base(server) + PATH + "?channel_id=not%20valid"):
                pass
        assert ei.value.status_code == 400
    run(main())


GOOD_ROOMS = {
    "simple": "room-1",
    "all_classes": "Az09._-:/@",
    "max_len": "r" * 128,
    "one_char": "x",
    "path_like": "tenant-1/agent:2@eu.west_1",
}


@pytest.mark.parametrize("room", list(GOOD_ROOMS.values()), ids=list(GOOD_ROOMS.keys()))
def test_good_channel_ids(server, room):
    room = room[:-10] + uuid.uuid4().hex[:10] if len(room) == 128 else room + "-" + uuid.uuid4().hex[:6]

    async def main():
        a, b = await Room.join(base(server), room, 2)
        msg = {"id": "g-1", "type": "message", "content": "ok"}
        check_ack(await a.request(msg), "g-1")
        check_forwarded(await b.recv(), msg, room)
        await a.close()
        await b.close()
    run(main())


def test_channel_id_among_other_query_parameters(server):
    room = room_name("q")

    async def main():
        a = Member(await connect(base(server) + PATH + f"?token=your_jwt_token&channel_id={room}&x=1"), room)
        b = Member(await connect(base(server) + PATH + f"?channel_id={room}&token=t"), room)
        await Room.settle([a, b])
        msg = {"id": "q-1", "type": "message", "content": "with token"}
        check_ack(await a.request(msg), "q-1")
        check_forwarded(await b.recv(), msg, room)
        await a.close()
        await b.close()
    run(main())


def test_custom_channel_param(server_factory):
    srv = server_factory(threads=2, config=config(endpoint("/v1/ws", "channel", channel_param="room")))
    room = room_name("cp")

    async def main():
        a = await Member.open(base(srv), room, param="room")
        b = await Member.open(base(srv), room, param="room")
        await Room.settle([a, b])
        msg = {"id": "cp-1", "type": "message"}
        check_ack(await a.request(msg), "cp-1")
        check_forwarded(await b.recv(), msg, room)
        # channel_id is just another parameter here: no channel
        n = await Member.open(base(srv), room, param="channel_id")
        check_error(await n.request({"id": "cp-2", "type": "message"}), "NO_CHANNEL", "cp-2")
        for m in (a, b, n):
            await m.close()
    run(main())
