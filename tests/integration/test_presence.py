"""Direct messages and presence across reactors (--threads 4), envelope and
channel profiles: a direct message reaches every connection of the target
agent/user in the sender's tenant (RECIPIENT_OFFLINE when there is none),
presence lists each identity of a channel with its connection count, and
subscribers with presence get join/leave events ("offline" once the agent
has no connection left anywhere).

Presence is eventually consistent across reactors: counts are polled with a
deadline. Direct-message inboxes are settled with probe messages (type
"probe", filtered out of every later read) before a test relies on them."""

from __future__ import annotations

import asyncio
import time

import pytest

import jwtutil as J
from conftest import Server, T, run
from wsutil import check_timestamp, endpoint, uniq

SECRET = J.new_secret("presence")
ENV = "/api/v1/ws"
CHAN = "/v1/ws"
TENANT = "tp"

CONFIG = J.jwt_config(
    endpoint(ENV, "envelope", auth="jwt", rate_limit_per_minute=0, max_errors=100000, idle_ping_ms=0),
    endpoint(CHAN, "channel", auth="jwt", max_errors=100000, idle_ping_ms=0),
    keys=[J.key_entry("HS256", secret=SECRET)])


def tok(user, agent, tenant=TENANT, channels=None) -> str:
    return J.sign(J.claims(user, tenant=tenant, agent=agent, channels=channels), SECRET, "HS256")


@pytest.fixture(scope="module")
def _pres_server(tmp_path_factory):
    s = Server(config=CONFIG, threads=4, tmpdir=tmp_path_factory.mktemp("presence"))
    yield s
    if not s.checked:
        s.stop()


@pytest.fixture
def srv(_pres_server):
    _pres_server.assert_healthy()
    yield _pres_server
    time.sleep(0.02)
    _pres_server.assert_healthy()


async def env(srv, user, agent, tenant=TENANT, channels=None) -> J.EnvClient:
    return await J.EnvClient.open(srv, ENV, tok(user, agent, tenant, channels), user, agent)


async def fleet(srv, spec, tenant=TENANT) -> dict:
    """{(user, agent): [EnvClient x n]} for spec [(user, agent, n)], asserting
    that the connections landed on more than one reactor."""
    out = {}
    for user, agent, n in spec:
        out[(user, agent)] = [await env(srv, user, agent, tenant) for _ in range(n)]
    reactors = {c.reactor for cs in out.values() for c in cs}
    assert len(reactors) >= 2, f"all connections on reactor(s) {reactors}"
    return out


def check_direct(m: dict, type_: str, data, from_user: str, from_agent: str) -> None:
    assert set(m) == {"type", "data", "from", "timestamp"}, m
    assert m["type"] == type_, m
    assert m["data"] == data, m
    assert m["from"] == {"user_id": from_user, "agent_id": from_agent}, m
    check_timestamp(m["timestamp"])


def member(user, agent, n) -> dict:
    return {"user_id": user, "agent_id": agent, "connections": n}


def _key(d):
    return str(d.get("user_id")), str(d.get("agent_id"))


async def poll_presence(client: J.EnvClient, channel: str, want: list, timeout: float = 5) -> dict:
    """presence requests until the members (in any order) equal `want`."""
    want = sorted(want, key=_key)
    deadline = time.monotonic() + T(timeout)
    i = 0
    while True:
        i += 1
        rid = f"pp-{i}"
        m = await client.presence(channel, rid)
        J.check_reply(m, "presence", rid)
        assert set(m["data"]) == {"channel", "members"}, m
        assert m["data"]["channel"] == channel, m
        members = m["data"]["members"]
        assert isinstance(members, list), m
        for e in members:
            assert set(e) == {"user_id", "agent_id", "connections"}, m
            assert type(e["connections"]) is int and e["connections"] > 0, m
        got = sorted(members, key=_key)
        assert len({_key(e) for e in got}) == len(got), f"an identity listed twice: {m}"
        if got == want:
            return m
        assert time.monotonic() < deadline, f"presence of {channel} is still {got}, want {want}"
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------
# direct messages (envelope)
# --------------------------------------------------------------------------

def test_direct_reaches_every_connection_of_the_agent_and_user(srv):
    async def main():
        f = await fleet(srv, [("u1", "ag-1", 3), ("u2", "ag-2", 3), ("u3", "ag-3", 2)])
        u1, u2, u3 = f[("u1", "ag-1")], f[("u2", "ag-2")], f[("u3", "ag-3")]
        await J.settle_direct(u3[0], u1, by="agent")
        await J.settle_direct(u3[0], u2, by="user")
        await J.settle_direct(u1[0], u3, by="agent")

        m = await u3[0].direct("d1", to_agent="ag-1", type_="task", data={"job": 7, "s": "é✓"})
        J.check_reply(m, "sent", "d1", {"to_agent_id": "ag-1"})
        for c in u1:
            check_direct(await c.recv(), "task", {"job": 7, "s": "é✓"}, "u3", "ag-3")

        m = await u1[1].direct("d2", to_user="u2", type_="chat", data={"text": "hi"})
        J.check_reply(m, "sent", "d2", {"to_user_id": "u2"})
        for c in u2:
            check_direct(await c.recv(), "chat", {"text": "hi"}, "u1", "ag-1")

        # from the other agent's second connection to both of u3's
        m = await u2[2].direct("d3", to_agent="ag-3", type_="x", data={})
        J.check_reply(m, "sent", "d3", {"to_agent_id": "ag-3"})
        for c in u3:
            check_direct(await c.recv(), "x", {}, "u2", "ag-2")

        # order is kept for one sender and one target
        for i in range(30):
            await u3[1].send({"type": "direct", "data": {"to_agent_id": "ag-2", "type": "seq", "data": {"i": i}},
                              "request_id": f"q{i}"})
        for i in range(30):
            J.check_reply(await u3[1].recv(), "sent", f"q{i}", {"to_agent_id": "ag-2"})
        for c in u2:
            for i in range(30):
                check_direct(await c.recv(), "seq", {"i": i}, "u3", "ag-3")

        await asyncio.gather(*(c.quiet(0.3) for cs in f.values() for c in cs))
        for cs in f.values():
            for c in cs:
                await c.close()
    run(main(), 60)


def test_direct_to_nobody_is_recipient_offline(srv):
    async def main():
        c = await env(srv, "lonely", "ag-lonely")
        for rid, kw in (("o1", {"to_user": "nobody-" + uniq("u")}), ("o2", {"to_agent": "nobody-" + uniq("a")})):
            m = await c.direct(rid, **kw, data={"x": 1})
            J.check_error(m, "RECIPIENT_OFFLINE", rid)
        await c.ping()
        await c.close()
    run(main())


def test_direct_after_the_last_connection_closes(srv):
    agent = uniq("ag-gone")

    async def main():
        sender = await env(srv, "snd", "ag-snd")
        t = [await env(srv, "gone", agent) for _ in range(3)]
        await J.settle_direct(sender, t, by="agent")
        await t[0].close()
        await t[1].close()
        # the remaining connection still gets them (eventually only it)
        m = await sender.direct("a1", to_agent=agent, type_="still", data={})
        J.check_reply(m, "sent", "a1", {"to_agent_id": agent})
        check_direct(await t[2].recv(), "still", {}, "snd", "ag-snd")
        await t[2].close()
        deadline = time.monotonic() + T(5)
        i = 0
        while True:
            i += 1
            m = await sender.direct(f"b{i}", to_agent=agent, type_="late", data={})
            if m["type"] == "error":
                J.check_error(m, "RECIPIENT_OFFLINE", f"b{i}")
                break
            J.check_reply(m, "sent", f"b{i}", {"to_agent_id": agent})
            assert time.monotonic() < deadline, "direct messages still 'sent' after every connection closed"
            await asyncio.sleep(0.05)
        await sender.close()
    run(main())


# --------------------------------------------------------------------------
# presence (envelope)
# --------------------------------------------------------------------------

def test_presence_lists_members_with_connection_counts(srv):
    ch = uniq("room")

    async def main():
        f = await fleet(srv, [("u1", "ag-1", 3), ("u2", "ag-2", 3), ("u3", "ag-3", 2)])
        # one user with two agents: two members
        f[("u1", "ag-1b")] = [await env(srv, "u1", "ag-1b")]
        obs = await env(srv, "observer", "ag-obs")  # not subscribed: not a member
        for cs in f.values():
            for i, c in enumerate(cs):
                await c.subscribe([ch], rid=f"s{i}")
        await poll_presence(obs, ch, [member("u1", "ag-1", 3), member("u2", "ag-2", 3), member("u3", "ag-3", 2),
                                      member("u1", "ag-1b", 1)])
        # every member sees the same list
        for cs in f.values():
            await poll_presence(cs[-1], ch, [member("u1", "ag-1", 3), member("u2", "ag-2", 3),
                                             member("u3", "ag-3", 2), member("u1", "ag-1b", 1)])
        await f[("u1", "ag-1")][0].close()                 # a connection goes
        await f[("u2", "ag-2")][1].unsubscribe([ch])       # a connection leaves the channel, stays connected
        for c in f[("u3", "ag-3")]:                         # an agent goes entirely
            await c.close()
        await f[("u1", "ag-1b")][0].unsubscribe([ch])
        await poll_presence(obs, ch, [member("u1", "ag-1", 2), member("u2", "ag-2", 2)])
        # subscribing twice does not count twice
        await f[("u2", "ag-2")][0].subscribe([ch], rid="again")
        await asyncio.sleep(T(0.1))
        await poll_presence(obs, ch, [member("u1", "ag-1", 2), member("u2", "ag-2", 2)])
        # an unknown channel has no members
        await poll_presence(obs, uniq("empty"), [])
        for cs in f.values():
            for c in cs:
                await c.close()  # a no-op for those already closed
        await poll_presence(obs, ch, [])
        await obs.close()
    run(main(), 60)


def test_presence_of_a_forbidden_or_invalid_channel(srv):
    async def main():
        c = await env(srv, "restricted", "ag-r", channels=["pub-*"])
        m = await c.presence("secret", "p1")
        J.check_error(m, "FORBIDDEN", "p1", {"channel": "secret"})
        m = await c.presence("bad name", "p2")
        J.check_error(m, "INVALID_CHANNEL", "p2", {"channel": "bad name"})
        m = await c.request({"type": "presence", "data": {}, "request_id": "p3"})
        J.check_error(m, "MISSING_FIELD", "p3")
        m = await c.presence("pub-1", "p4")
        J.check_reply(m, "presence", "p4", {"channel": "pub-1", "members": []})
        m = await c.request({"type": "subscribe", "data": {"channels": ["secret"], "presence": True},
                             "request_id": "p5"})
        J.check_error(m, "FORBIDDEN", "p5", {"channel": "secret"})
        await c.close()
    run(main())


def check_event(m: dict, kind: str, ch: str, user: str, agent: str, status: str) -> None:
    assert set(m) == {"type", "data", "channel", "timestamp"}, m
    assert m["type"] == f"presence_{kind}", f"expected presence_{kind} of {user}/{agent} ({status}), got {m}"
    assert m["data"] == {"channel": ch, "user_id": user, "agent_id": agent, "status": status}, m
    assert m["channel"] == ch, m
    check_timestamp(m["timestamp"])


class Watcher:
    """An envelope connection subscribed with presence; reads events,
    skipping its own identity's."""

    def __init__(self, c: J.EnvClient, ch: str):
        self.c, self.ch = c, ch

    async def expect(self, kind, user, agent, status, timeout=5):
        while True:
            m = await self.c.recv(timeout)
            if m.get("type", "").startswith("presence_") and m.get("data", {}).get("user_id") == self.c.user:
                continue
            check_event(m, kind, self.ch, user, agent, status)
            return

    async def quiet(self, seconds=0.3):
        deadline = time.monotonic() + T(seconds)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                m = await self.c.recv(left / max(1.0, T(1)))
            except asyncio.TimeoutError:
                return
            if m.get("type", "").startswith("presence_") and m.get("data", {}).get("user_id") == self.c.user:
                continue
            raise AssertionError(f"unexpected presence message: {m}")


def test_presence_join_and_leave_events(srv):
    ch = uniq("ev")
    x_agent, y_agent = uniq("ag-x"), uniq("ag-y")

    async def main():
        wc = await env(srv, "watcher", "ag-w")
        await wc.subscribe([ch], presence=True)
        w = Watcher(wc, ch)
        obs = await env(srv, "observer", "ag-obs")

        async def settle(want):
            await poll_presence(obs, ch, want)
            await asyncio.sleep(T(0.05))

        me = member("watcher", "ag-w", 1)
        x1 = await env(srv, "ux", x_agent)
        x2 = await env(srv, "ux", x_agent)
        await x1.subscribe([ch])
        await w.expect("join", "ux", x_agent, "online")
        await settle([me, member("ux", x_agent, 1)])
        await x2.subscribe([ch])                              # second connection: no event
        await settle([me, member("ux", x_agent, 2)])
        await x1.unsubscribe([ch])                            # not the last: no event
        await settle([me, member("ux", x_agent, 1)])
        await w.quiet()
        await x2.unsubscribe([ch])                            # the last leaves, both still connected
        await w.expect("leave", "ux", x_agent, "online")
        await settle([me])
        await x1.subscribe([ch])
        await w.expect("join", "ux", x_agent, "online")
        await settle([me, member("ux", x_agent, 1)])
        await x1.close()                                      # x2 is still connected (not in ch)
        await w.expect("leave", "ux", x_agent, "online")
        await settle([me])
        await x2.subscribe([ch])
        await w.expect("join", "ux", x_agent, "online")
        await x2.close()                                      # no connection of the agent left
        await w.expect("leave", "ux", x_agent, "offline")

        # three connections (on whatever reactors) of one agent: one join, one leave
        ys = [await env(srv, "uy", y_agent) for _ in range(3)]
        for i, y in enumerate(ys):
            await y.subscribe([ch], rid=f"y{i}")
        await w.expect("join", "uy", y_agent, "online")
        await settle([me, member("uy", y_agent, 3)])
        await ys[0].close()
        ys[1].ws.transport.abort()  # gone without a close frame
        await settle([me, member("uy", y_agent, 1)])
        await w.quiet()
        await ys[2].close()
        await w.expect("leave", "uy", y_agent, "offline")
        await w.quiet()
        await wc.close()
        await obs.close()
    run(main(), 60)


def test_presence_events_only_with_presence_flag(srv):
    ch = uniq("noflag")

    async def main():
        plain = await env(srv, "plain", "ag-plain")
        await plain.subscribe([ch])
        # plain's join is decided before the flagged subscriber arrives
        await poll_presence(plain, ch, [member("plain", "ag-plain", 1)])
        await asyncio.sleep(T(0.05))
        flagged = await env(srv, "flagged", "ag-flagged")
        await flagged.subscribe([ch], presence=True)
        z = await env(srv, "uz", uniq("ag-z"))
        await z.subscribe([ch])
        await Watcher(flagged, ch).expect("join", "uz", z.agent, "online")
        await z.close()
        await Watcher(flagged, ch).expect("leave", "uz", z.agent, "offline")
        # the plain subscriber got no presence events at all (its own
        # channel traffic: nothing was published)
        await plain.quiet(0.3)
        # presence: false is the same as no flag
        await plain.subscribe([ch], rid="again", presence=False)
        z2 = await env(srv, "uz2", "ag-z2")
        await z2.subscribe([ch])
        await Watcher(flagged, ch).expect("join", "uz2", "ag-z2", "online")
        await plain.quiet(0.3)
        for c in (plain, flagged, z2):
            await c.close()
    run(main())


# --------------------------------------------------------------------------
# channel profile
# --------------------------------------------------------------------------

async def chan(srv, user, agent, room=None, **params) -> J.ChanClient:
    return await J.ChanClient.open(srv, CHAN, tok(user, agent), user=user, agent=agent, room=room, **params)


async def chan_presence(c: J.ChanClient, room: str, want: list, timeout: float = 5) -> None:
    """{"type":"presence"} until the members equal `want`; events that come
    in between (a presence=true connection) are skipped."""
    want = sorted(want, key=_key)
    deadline = time.monotonic() + T(timeout)
    while True:
        await c.send({"type": "presence"})
        while True:
            m = await c.recv()
            if m.get("type") == "presence" and "event" in m:
                continue
            break
        assert set(m) == {"type", "channel_id", "members", "timestamp"}, m
        assert m["type"] == "presence" and m["channel_id"] == room, m
        check_timestamp(m["timestamp"])
        got = sorted(m["members"], key=_key)
        if got == want:
            return
        assert time.monotonic() < deadline, f"presence of {room} is still {got}, want {want}"
        await asyncio.sleep(0.05)


def check_chan_event(m: dict, event: str, room: str, user: str, agent: str, status: str) -> None:
    assert set(m) == {"type", "event", "user_id", "agent_id", "status", "channel_id", "timestamp"}, m
    assert m["type"] == "presence" and m["event"] == event, f"expected {event} of {user}/{agent}, got {m}"
    assert (m["user_id"], m["agent_id"], m["status"], m["channel_id"]) == (user, agent, status, room), m
    check_timestamp(m["timestamp"])


async def next_chan_event(w: J.ChanClient, timeout: float = 5) -> dict:
    while True:
        m = await w.recv(timeout)
        if m.get("type") == "presence" and "event" in m and m.get("user_id") == w.user:
            continue  # the watcher's own join
        return m


def test_channel_profile_presence(srv):
    room = uniq("croom")
    agent = uniq("ag-m")

    async def main():
        w = await chan(srv, "cw", "ag-cw", room, presence="true")
        m1 = await chan(srv, "cm", agent, room)
        check_chan_event(await next_chan_event(w), "join", room, "cm", agent, "online")
        m2 = await chan(srv, "cm", agent, room)
        other = await chan(srv, "co", "ag-co", room)
        check_chan_event(await next_chan_event(w), "join", room, "co", "ag-co", "online")
        await chan_presence(w, room, [member("cw", "ag-cw", 1), member("cm", agent, 2), member("co", "ag-co", 1)])
        await chan_presence(m1, room, [member("cw", "ag-cw", 1), member("cm", agent, 2), member("co", "ag-co", 1)])
        await m1.close()
        await chan_presence(other, room, [member("cw", "ag-cw", 1), member("cm", agent, 1), member("co", "ag-co", 1)])
        await m2.close()
        check_chan_event(await next_chan_event(w), "leave", room, "cm", agent, "offline")
        await other.close()
        check_chan_event(await next_chan_event(w), "leave", room, "co", "ag-co", "offline")
        with pytest.raises(asyncio.TimeoutError):
            await next_chan_event(w, 0.3)
        await w.close()
    run(main())


def test_channel_profile_presence_needs_a_channel(srv):
    async def main():
        c = await chan(srv, "nochan", "ag-nochan")
        m = await c.request({"type": "presence"})
        assert m.get("type") == "ERROR" and m.get("error_code") == "NO_CHANNEL", m
        await c.close()
    run(main())


async def settle_chan_direct(sender: J.ChanClient, targets: list[J.ChanClient], agent: str,
                             timeout: float = 10) -> None:
    """Direct probe messages until every target connection got one."""
    deadline = time.monotonic() + T(timeout)
    k = 0
    while not all(t.probes for t in targets):
        assert time.monotonic() < deadline, f"direct probes to {agent} never reached every connection"
        k += 1
        await sender.send({"id": f"{J.PROBE}d{k}", "type": "message", "content": "probe", "to_agent_id": agent})
        end = time.monotonic() + T(0.2)
        while time.monotonic() < end and not all(t.probes for t in targets):
            for t in targets:
                if t.probes:
                    continue
                try:
                    m = J.strict_json(await asyncio.wait_for(t.ws.recv(), 0.02))
                except asyncio.TimeoutError:
                    continue
                mid = m.get("id")
                assert isinstance(mid, str) and mid.startswith(J.PROBE), f"unexpected while settling: {m}"
                t.probes.add(mid)
    for c in targets + [sender]:
        await c.ping()


def test_channel_profile_direct_messages(srv):
    room, room2 = uniq("dr"), uniq("dr2")

    async def main():
        s = await chan(srv, "cs", "ag-cs", room)
        bystander = await chan(srv, "cb", "ag-cb", room)
        t1 = await chan(srv, "ct", "ag-ct", room2)
        t2 = await chan(srv, "ct", "ag-ct")            # no channel: direct messages only
        t3 = await chan(srv, "ct", "ag-ct", room)      # also in the sender's room
        await J.settle_room([s, bystander, t3])
        await settle_chan_direct(s, [t1, t2, t3], "ag-ct")
        for i, key, target in ((1, "to_agent_id", "ag-ct"), (2, "to_user_id", "ct")):
            sent = {"id": f"dm-{i}", "type": "message", "content": {"secret": i}, key: target,
                    "tenant_id": "spoof", "agent_id": "spoof", "timestamp": "1999-01-01T00:00:00.000Z"}
            m = await s.request(sent)
            assert m.get("type") == "ACK" and m.get("message_id") == f"dm-{i}", m
            for t in (t1, t2, t3):
                got = await t.recv()  # exactly once each, t3 included (not also as a room message)
                assert got["id"] == f"dm-{i}" and got["type"] == "message" and got["content"] == {"secret": i}, got
                assert got["tenant_id"] == TENANT and got["agent_id"] == "ag-cs", got
                assert got.get("channel_id") in (None, room), got
                check_timestamp(got["timestamp"])
            await asyncio.gather(bystander.quiet(0.3), *(t.quiet(0.1) for t in (t1, t2, t3)))
        # nobody there
        m = await s.request({"id": "dm-x", "type": "message", "content": 1, "to_agent_id": uniq("nobody")})
        assert m.get("type") == "ERROR" and m.get("error_code") == "RECIPIENT_OFFLINE", m
        assert m.get("message_id") == "dm-x", m
        # a client without a channel can send direct messages too
        m = await t2.request({"id": "dm-back", "type": "message", "content": "back", "to_agent_id": "ag-cs"})
        assert m.get("type") == "ACK", m
        got = await s.recv()
        assert got["id"] == "dm-back" and got["agent_id"] == "ag-ct" and got["tenant_id"] == TENANT, got
        await bystander.quiet(0.2)
        assert not any(p.startswith(J.PROBE + "d") for p in bystander.probes), \
            f"direct probes reached a room member who is not the target: {bystander.probes}"
        for c in (s, bystander, t1, t2, t3):
            await c.close()
    run(main())


def test_channel_profile_presence_events_right_after_the_101(srv):
    """A `&presence=true` connection gets the join of a member who connects
    right after its 101 (like the room membership, the presence feed must be
    in effect on every reactor when the 101 is sent). Repeated, because a
    race here loses an event only now and then."""
    async def main():
        missed = []
        for i in range(60):
            room = uniq("race")
            w = await chan(srv, "rw", "ag-rw", room, presence="true")
            m = await chan(srv, "rm", f"ag-rm-{i}", room)
            try:
                check_chan_event(await next_chan_event(w, 2), "join", room, "rm", f"ag-rm-{i}", "online")
            except asyncio.TimeoutError:
                missed.append(i)
            await m.close()
            await w.close()
        assert not missed, f"{len(missed)} of 60 watchers missed the join that followed their 101"
    run(main(), 120)
