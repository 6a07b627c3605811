"""Tenancy: a token's tenant_id is a namespace. Two tenants using the same
channel names, user ids and agent ids never see each other's publishes,
channel messages, direct messages or presence; the `channels` claim limits
what a connection may subscribe to and publish on (FORBIDDEN, no
subscription) and which rooms it may join at the upgrade (403); the
path-bound endpoint checks its {tenant_id}/{agent_id} against the token;
forwarded seed-003 messages carry the sender's tenant_id/agent_id.

One server (--threads 4) is shared by the module so that tenants' clients
sit on different reactors. "Nothing arrives" is checked after a message that
must arrive (a ping, a delivery of the own tenant) plus a short quiet wait."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from websockets.exceptions import InvalidStatusCode

import jwtutil as J
from conftest import Server, T, run
from wsutil import check_delivery, check_timestamp, connect, endpoint, uniq

SECRET = J.new_secret("tenancy")
ENV = "/api/v1/ws"
CHAN = "/v1/ws"
ACT = "/v1"
PATH_BOUND = "/v1/ws/tenant/{tenant_id}/agent/{agent_id}/channel/{channel_id}"

CONFIG = J.jwt_config(
    endpoint(ENV, "envelope", auth="jwt", rate_limit_per_minute=0, max_errors=100000,
             max_output_bytes=16 << 20, idle_ping_ms=0),
    endpoint(CHAN, "channel", auth="jwt", max_errors=100000, idle_ping_ms=0),
    endpoint(PATH_BOUND, "channel", auth="jwt", max_errors=100000, idle_ping_ms=0),
    endpoint(ACT, "action", auth="jwt", max_errors=100000, idle_ping_ms=0),
    keys=[J.key_entry("HS256", secret=SECRET)])


def tok(sub, tenant, agent=None, channels=None, **kw) -> str:
    return J.sign(J.claims(sub, tenant=tenant, agent=agent, channels=channels, **kw), SECRET, "HS256")


@pytest.fixture(scope="module")
def _ten_server(tmp_path_factory):
    s = Server(config=CONFIG, threads=4, tmpdir=tmp_path_factory.mktemp("tenancy"))
    yield s
    if not s.checked:
        s.stop()


@pytest.fixture
def ten(_ten_server):
    _ten_server.assert_healthy()
    yield _ten_server
    time.sleep(0.02)
    _ten_server.assert_healthy()


async def env(srv, sub, tenant, agent=None, channels=None) -> J.EnvClient:
    return await J.EnvClient.open(srv, ENV, tok(sub, tenant, agent, channels), sub, agent)


async def chan(srv, sub, tenant, agent=None, room=None, channels=None, path=CHAN, **params) -> J.ChanClient:
    return await J.ChanClient.open(srv, path, tok(sub, tenant, agent, channels), user=sub, agent=agent,
                                   room=room, **params)


def path_bound(tenant, agent, room) -> str:
    return f"/v1/ws/tenant/{tenant}/agent/{agent}/channel/{room}"


async def open_path_bound(srv, token, tenant, agent, room, sub=None) -> J.ChanClient:
    url, kw = J.ws_url(srv, path_bound(tenant, agent, room), token)
    return J.ChanClient(await connect(url, **kw), sub, agent, room)


# --------------------------------------------------------------------------
# envelope pub/sub
# --------------------------------------------------------------------------

def test_same_channel_name_isolated_between_tenants(ten):
    ch = uniq("news")

    async def main():
        subs = {t: [await env(ten, f"sub-{t}-{i}", t) for i in range(4)] for t in ("ta", "tb")}
        pubs = {t: await env(ten, f"pub-{t}", t) for t in ("ta", "tb")}
        for t in subs:
            for i, s in enumerate(subs[t]):
                await s.subscribe([ch], rid=f"s{i}")
        for t in ("ta", "tb", "ta"):
            await pubs[t].publish(ch, f"from-{t}", {"tenant": t})
            for s in subs[t]:
                check_delivery(await s.recv(), f"from-{t}", {"tenant": t}, ch)
        await asyncio.gather(*(s.quiet(0.3) for t in subs for s in subs[t]))
        for c in [s for t in subs for s in subs[t]] + list(pubs.values()):
            await c.close()
    run(main())


def test_no_tenant_is_its_own_namespace(ten):
    """A token without tenant_id is neither tenant "" nor anyone else's."""
    ch = uniq("global")

    async def main():
        none_sub = await J.EnvClient.open(ten, ENV, J.sign(J.claims("n1", tenant=None), SECRET, "HS256"), "n1")
        none_pub = await J.EnvClient.open(ten, ENV, J.sign(J.claims("n2", tenant=None), SECRET, "HS256"), "n2")
        a_sub = await env(ten, "a1", "ta")
        a_pub = await env(ten, "a2", "ta")
        await none_sub.subscribe([ch])
        await a_sub.subscribe([ch])
        await none_pub.publish(ch, "none", {"n": 1})
        check_delivery(await none_sub.recv(), "none", {"n": 1}, ch)
        await a_pub.publish(ch, "ta", {"a": 1})
        check_delivery(await a_sub.recv(), "ta", {"a": 1}, ch)
        await asyncio.gather(none_sub.quiet(), a_sub.quiet())
        for c in (none_sub, none_pub, a_sub, a_pub):
            await c.close()
    run(main())


def test_tenant_names_that_look_alike_are_different(ten):
    ch = uniq("alike")
    tenants = ["acme", "ACME", "acm", "acme2", "acme/x", "acme:x", "acme.x", "acme@x"]

    async def main():
        subs = [await env(ten, f"s{i}", t) for i, t in enumerate(tenants)]
        for s in subs:
            await s.subscribe([ch])
        for i, t in enumerate(tenants):
            p = await env(ten, f"p{i}", t)
            await p.publish(ch, "hello", {"t": t})
            check_delivery(await subs[i].recv(), "hello", {"t": t}, ch)
            await p.close()
        await asyncio.gather(*(s.quiet() for s in subs))
        for s in subs:
            await s.close()
    run(main())


# --------------------------------------------------------------------------
# the channels claim
# --------------------------------------------------------------------------

PATTERNS = {
    "exact": (["news"], ["news"], ["news2", "new", "NEWS", "xnews", "news/x"]),
    "prefix": (["team-*"], ["team-1", "team-a/b", "team-x:y@z"], ["team", "teams", "xteam-1", "TEAM-1"]),
    "two": (["news", "team-*"], ["news", "team-9"], ["sports", "new"]),
    "star": (["*"], ["anything", "x", "a/b:c"], []),
    "absent": (None, ["anything", "y"], []),
    "empty_list": ([], [], ["anything", "news"]),
}


@pytest.mark.parametrize("claim,allowed,denied", list(PATTERNS.values()), ids=list(PATTERNS))
def test_channels_claim_patterns(ten, claim, allowed, denied):
    async def main():
        c = await env(ten, "pat", "tp", channels=claim)
        for i, name in enumerate(allowed):
            await c.subscribe([name], rid=f"ok{i}")
            await c.send({"type": "publish", "data": {"channel": name, "type": "t", "data": {"i": i}},
                          "request_id": f"okp{i}"})
            # subscribed: its own publish comes back (in either order with the reply)
            got = sorted([await c.recv(), await c.recv()], key=lambda m: m["type"])
            J.check_reply(got[0], "published", f"okp{i}", {"channel": name})
            check_delivery(got[1], "t", {"i": i}, name)
        for i, name in enumerate(denied):
            m = await c.request({"type": "subscribe", "data": {"channels": [name]}, "request_id": f"no{i}"})
            J.check_error(m, "FORBIDDEN", f"no{i}", {"channel": name})
            m = await c.request({"type": "publish", "data": {"channel": name, "data": {}}, "request_id": f"nop{i}"})
            J.check_error(m, "FORBIDDEN", f"nop{i}", {"channel": name})
        await c.ping()
        await c.close()
    run(main())


def test_forbidden_subscribe_makes_no_subscription(ten):
    secret_ch, ok_ch = uniq("secret"), uniq("ok")

    async def main():
        r = await env(ten, "restricted", "tf", channels=[ok_ch[:3] + "*"])
        full = await env(ten, "full", "tf")
        m = await r.request({"type": "subscribe", "data": {"channels": [secret_ch]}, "request_id": "s1"})
        J.check_error(m, "FORBIDDEN", "s1", {"channel": secret_ch})
        # a list with one forbidden channel is refused as a whole
        m = await r.request({"type": "subscribe", "data": {"channels": [ok_ch, secret_ch]}, "request_id": "s2"})
        J.check_error(m, "FORBIDDEN", "s2", {"channel": secret_ch})
        await full.publish(secret_ch, "leak", {"x": 1})
        await full.publish(ok_ch, "early", {"x": 2})
        await r.quiet(0.3)
        # the allowed channel alone works
        await r.subscribe([ok_ch])
        await full.publish(ok_ch, "late", {"x": 3})
        check_delivery(await r.recv(), "late", {"x": 3}, ok_ch)
        await full.publish(secret_ch, "leak", {"x": 4})
        await r.quiet(0.3)
        await r.close()
        await full.close()
    run(main())


def test_forbidden_publish_reaches_nobody(ten):
    secret_ch = uniq("secret")

    async def main():
        sub = await env(ten, "watcher", "tf")
        await sub.subscribe([secret_ch])
        r = await env(ten, "restricted", "tf", channels=["public-*"])
        m = await r.request({"type": "publish", "data": {"channel": secret_ch, "type": "x", "data": {}},
                             "request_id": "p"})
        J.check_error(m, "FORBIDDEN", "p", {"channel": secret_ch})
        await sub.quiet(0.3)
        await r.close()
        await sub.close()
    run(main())


def test_action_profile_tenancy_and_forbidden(ten):
    ch = uniq("deals")

    async def open_act(sub, tenant, channels=None):
        url, kw = J.ws_url(ten, ACT, tok(sub, tenant, channels=channels))
        return J.JsonClient(await connect(url, **kw))

    async def main():
        a_sub, a_pub = await open_act("as", "ta"), await open_act("ap", "ta")
        b_pub = await open_act("bp", "tb")
        m = await a_sub.request({"action": "subscribe", "channels": [ch]})
        assert m == {"type": "subscribed", "channels": [ch]}, m
        m = await b_pub.request({"action": "publish", "channel": ch, "data": {"from": "tb"}})
        assert m.get("type") == "published", m
        m = await a_pub.request({"action": "publish", "channel": ch, "data": {"from": "ta"}})
        assert m.get("type") == "published", m
        m = await a_sub.recv()
        assert set(m) == {"type", "channel", "data", "timestamp"} and m["data"] == {"from": "ta"}, \
            f"expected tenant ta's message first and only: {m}"
        assert m["channel"] == ch and m["type"] == "message", m
        r = await open_act("ar", "ta", channels=["public-*"])
        m = await r.request({"action": "subscribe", "channels": [ch]})
        assert m.get("type") == "error" and m.get("error_code") == "FORBIDDEN", m
        assert m.get("details") == {"channel": ch}, m
        m = await r.request({"action": "publish", "channel": ch, "data": {}})
        assert m.get("type") == "error" and m.get("error_code") == "FORBIDDEN", m
        with pytest.raises(asyncio.TimeoutError):
            await a_sub.recv(0.3)
        for c in (a_sub, a_pub, b_pub, r):
            await c.close()
    run(main())


# --------------------------------------------------------------------------
# channel profile: rooms, 403s, the path-bound endpoint, stamping
# --------------------------------------------------------------------------

def test_channel_rooms_isolated_between_tenants(ten):
    room = uniq("room")

    async def main():
        a = [await chan(ten, f"a{i}", "ta", f"ag-a{i}", room) for i in range(2)]
        b = [await chan(ten, f"b{i}", "tb", f"ag-b{i}", room) for i in range(2)]
        await J.settle_room(a, tag="A")
        await J.settle_room(b, tag="B")
        sent = {"id": "m-a", "type": "message", "content": "for ta"}
        m = await a[0].request(sent)
        assert m["type"] == "ACK" and m["message_id"] == "m-a", m
        got = await a[1].recv()
        assert got["id"] == "m-a" and got["tenant_id"] == "ta" and got["channel_id"] == room, got
        sent = {"id": "m-b", "type": "message", "content": "for tb"}
        m = await b[0].request(sent)
        assert m["type"] == "ACK", m
        got = await b[1].recv()
        assert got["id"] == "m-b" and got["tenant_id"] == "tb", got
        await asyncio.gather(*(c.quiet(0.3) for c in a + b))
        for c in b:
            assert not any(p.startswith("probe-A") for p in c.probes), c.probes
        for c in a:
            assert not any(p.startswith("probe-B") for p in c.probes), c.probes
        for c in a + b:
            await c.close()
    run(main())


@pytest.mark.parametrize("claim,room,status", [
    (["room-*"], "secret", 403), (["room-*"], "room-1", 101), (["lobby"], "lobby", 101), (["lobby"], "lobby2", 403),
    (["*"], "anything", 101), (None, "anything", 101), ([], "anything", 403),
], ids=["prefix_denied", "prefix_ok", "exact_ok", "exact_denied", "star", "absent", "empty"])
def test_query_channel_must_be_allowed(ten, claim, room, status):
    t = tok("q", "tq", "ag-q", claim)
    path = J.with_query(CHAN, channel_id=room)
    if status == 403:
        J.expect_refused(ten, path, 403, t, material=[SECRET])
    else:
        c, _ = J.expect_upgraded(ten, path, t)
        c.close()


def test_no_channel_without_channel_id_is_allowed_for_restricted_tokens(ten):
    # /v1/ws without channel_id: only direct messages; nothing to check
    c, _ = J.expect_upgraded(ten, CHAN, tok("q", "tq", "ag-q", ["room-*"]))
    c.close()


def test_path_bound_must_match_the_token(ten):
    t = tok("pb", "ta", "ag-1", ["room-*"])
    c, _ = J.expect_upgraded(ten, path_bound("ta", "ag-1", "room-1"), t)
    c.close()
    for path in (path_bound("tb", "ag-1", "room-1"),     # other tenant
                 path_bound("ta", "ag-2", "room-1"),     # other agent
                 path_bound("TA", "ag-1", "room-1"),     # case matters
                 path_bound("ta", "ag-1", "secret"),     # channel not allowed
                 path_bound("ta", "ag-1x", "room-1")):
        J.expect_refused(ten, path, 403, t, material=[SECRET])
    # a token with no agent_id cannot match any {agent_id}
    J.expect_refused(ten, path_bound("ta", "ag-1", "room-1"), 403, tok("pb", "ta", None, ["room-*"]),
                     material=[SECRET])
    # nor one with no tenant_id any {tenant_id}
    J.expect_refused(ten, path_bound("ta", "ag-1", "room-1"), 403,
                     J.sign(J.claims("pb", tenant=None, agent="ag-1"), SECRET, "HS256"), material=[SECRET])


def test_path_bound_rooms_are_per_tenant(ten):
    room = uniq("pbroom")

    async def main():
        a1 = await open_path_bound(ten, tok("u1", "ta", "ag-1"), "ta", "ag-1", room, "u1")
        a2 = await open_path_bound(ten, tok("u2", "ta", "ag-2"), "ta", "ag-2", room, "u2")
        # the same room joined through ?channel_id= is the same room
        a3 = await chan(ten, "u3", "ta", "ag-3", room)
        b1 = await open_path_bound(ten, tok("u1", "tb", "ag-1"), "tb", "ag-1", room, "u1")
        b2 = await open_path_bound(ten, tok("u2", "tb", "ag-2"), "tb", "ag-2", room, "u2")
        await J.settle_room([a1, a2, a3], tag="A")
        await J.settle_room([b1, b2], tag="B")
        sent = {"id": "pb-1", "type": "message", "content": "hi"}
        m = await a1.request(sent)
        assert m["type"] == "ACK", m
        for r in (a2, a3):
            got = await r.recv()
            assert got == {**sent, "tenant_id": "ta", "agent_id": "ag-1", "channel_id": room,
                           "timestamp": got.get("timestamp")}, got
            check_timestamp(got["timestamp"])
        await asyncio.gather(*(c.quiet(0.3) for c in (a1, b1, b2)))
        for c in (b1, b2):
            assert not any(p.startswith("probe-A") for p in c.probes), c.probes
        for c in (a1, a2, a3, b1, b2):
            await c.close()
    run(main())


STAMP_FIELDS = {"tenant_id": "evil-tenant", "agent_id": "evil-agent", "channel_id": "evil-room",
                "timestamp": "1999-01-01T00:00:00.000Z"}


@pytest.mark.parametrize("tenant,agent", [("ta", "ag-s"), ("ta", None), (None, "ag-s"), (None, None)],
                         ids=["tenant_agent", "tenant_only", "agent_only", "neither"])
def test_seed_003_stamping(ten, tenant, agent):
    room = uniq("stamp")

    async def main():
        st = J.sign(J.claims("sender", tenant=tenant, agent=agent), SECRET, "HS256")
        rt = J.sign(J.claims("receiver", tenant=tenant, agent="ag-r"), SECRET, "HS256")
        s = await J.ChanClient.open(ten, CHAN, st, room=room)
        r = await J.ChanClient.open(ten, CHAN, rt, room=room)
        await J.settle_room([s, r])
        for i, extra in enumerate([STAMP_FIELDS, {"tenant_id": 5, "agent_id": None}, {}]):
            sent = {"id": f"st-{i}", "type": "message", "content": {"k": i}, "metadata": {"m": 1}, **extra}
            m = await s.request(sent)
            assert m["type"] == "ACK" and m["message_id"] == f"st-{i}", m
            got = await r.recv()
            expected = {k: v for k, v in sent.items() if k not in STAMP_FIELDS}
            if tenant is not None:
                expected["tenant_id"] = tenant
            if agent is not None:
                expected["agent_id"] = agent
            expected["channel_id"] = room
            expected["timestamp"] = got.get("timestamp")
            assert got == expected, f"sent {sent}\ngot {got}\nexpected {expected}"
            check_timestamp(got["timestamp"])
        await s.close()
        await r.close()
    run(main())


# --------------------------------------------------------------------------
# direct messages and presence across tenants
# --------------------------------------------------------------------------

def test_direct_messages_stay_in_the_tenant(ten):
    async def main():
        a_sender = await env(ten, "alice", "ta", "ag-alice")
        b_sender = await env(ten, "bob", "tb", "ag-bob")
        a_carol = await env(ten, "carol", "ta", "ag-c")
        b_carol = await env(ten, "carol", "tb", "ag-c")
        await J.settle_direct(a_sender, [a_carol], tag="ta")
        await J.settle_direct(b_sender, [b_carol], tag="tb")
        # bob exists only in tb
        m = await a_sender.direct("d1", to_user="bob", data={"x": 1})
        J.check_error(m, "RECIPIENT_OFFLINE", "d1")
        m = await a_sender.direct("d2", to_agent="ag-bob")
        J.check_error(m, "RECIPIENT_OFFLINE", "d2")
        # carol/ag-c exists in both: only ta's gets ta's messages
        m = await a_sender.direct("d3", to_user="carol", type_="hello", data={"from": "ta"})
        J.check_reply(m, "sent", "d3", {"to_user_id": "carol"})
        got = await a_carol.recv()
        assert got["type"] == "hello" and got["data"] == {"from": "ta"}, got
        assert got["from"] == {"user_id": "alice", "agent_id": "ag-alice"}, got
        m = await a_sender.direct("d4", to_agent="ag-c", type_="hello2", data={"from": "ta"})
        assert m["type"] == "sent", m
        got = await a_carol.recv()
        assert got["type"] == "hello2", got
        m = await b_sender.direct("d5", to_agent="ag-c", type_="hello3", data={"from": "tb"})
        assert m["type"] == "sent", m
        got = await b_carol.recv()
        assert got["type"] == "hello3" and got["data"] == {"from": "tb"}, got
        assert got["from"] == {"user_id": "bob", "agent_id": "ag-bob"}, got
        await asyncio.gather(a_carol.quiet(0.3), b_carol.quiet(0.3))
        assert b_carol.probe_tags <= {"tb"}, f"tenant ta's probes reached tenant tb: {b_carol.probe_tags}"
        assert a_carol.probe_tags <= {"ta"}, f"tenant tb's probes reached tenant ta: {a_carol.probe_tags}"
        for c in (a_sender, b_sender, a_carol, b_carol):
            await c.close()
    run(main())


async def poll_presence(client, channel, want, timeout=5) -> dict:
    """presence requests until members (sorted) == want, within T(timeout)."""
    deadline = time.monotonic() + T(timeout)
    key = lambda d: (str(d.get("user_id")), str(d.get("agent_id")))  # noqa: E731
    want = sorted(want, key=key)
    i = 0
    while True:
        i += 1
        m = await client.presence(channel, rid=f"pp{i}")
        J.check_reply(m, "presence", f"pp{i}")
        assert m["data"].get("channel") == channel, m
        got = sorted(m["data"].get("members", []), key=key)
        if got == want:
            return m
        assert time.monotonic() < deadline, f"presence of {channel}: {got}, want {want}"
        await asyncio.sleep(0.05)


def test_presence_stays_in_the_tenant(ten):
    ch = uniq("lobby")

    async def main():
        a1 = await env(ten, "u1", "ta", "ag-1")
        a2 = await env(ten, "u2", "ta", "ag-2")
        b1 = await env(ten, "u1", "tb", "ag-1")
        b9 = await env(ten, "u9", "tb", "ag-9")
        obs_a = await env(ten, "obs", "ta", "ag-obs")
        obs_b = await env(ten, "obs", "tb", "ag-obs")
        watch_a = await env(ten, "watch", "ta", "ag-watch")
        await watch_a.subscribe([ch], presence=True)
        for c in (a1, a2, b1, b9):
            await c.subscribe([ch])
        await poll_presence(obs_a, ch, [
            {"user_id": "u1", "agent_id": "ag-1", "connections": 1},
            {"user_id": "u2", "agent_id": "ag-2", "connections": 1},
            {"user_id": "watch", "agent_id": "ag-watch", "connections": 1}])
        await poll_presence(obs_b, ch, [
            {"user_id": "u1", "agent_id": "ag-1", "connections": 1},
            {"user_id": "u9", "agent_id": "ag-9", "connections": 1}])
        # tenant ta's watcher saw joins of ta's members only
        seen = set()
        deadline = time.monotonic() + T(3)
        while {"u1", "u2"} - seen and time.monotonic() < deadline:
            try:
                m = await watch_a.recv(0.5)
            except asyncio.TimeoutError:
                continue
            assert m["type"] == "presence_join", m
            if m["data"]["user_id"] == "watch":
                continue
            assert (m["data"]["user_id"], m["data"]["agent_id"]) in {("u1", "ag-1"), ("u2", "ag-2")}, \
                f"tenant ta saw a join from elsewhere: {m}"
            seen.add(m["data"]["user_id"])
        assert seen == {"u1", "u2"}, seen
        await b9.close()
        await obs_b.close()
        await poll_presence(await env(ten, "obs2", "tb", "ag-obs2"), ch, [
            {"user_id": "u1", "agent_id": "ag-1", "connections": 1}])
        await watch_a.quiet(0.3)  # tb's leave is not ta's business
        for c in (a1, a2, b1, obs_a, watch_a):
            await c.close()
    run(main())


def test_hostile_identity_strings_do_not_cross_namespaces(ten):
    """Tenant, user and agent ids are arbitrary token strings. Whatever the
    server does with ids containing separators (refuse them at the upgrade
    or keep them apart), one tenant's connection must never receive another
    tenant's direct messages or publishes."""
    ch = "room"

    async def maybe(coro):
        try:
            return await coro
        except InvalidStatusCode as e:
            assert e.status_code in (401, 403), e
            return None

    async def main():
        victims = [("t-h", "u-v", "ag|room"), ("t-h", "u|room", "ag-v"), ("t-h", "u-w", "ag>room"),
                   ("t-h", "u:room", "ag:room")]
        attackers = [("t-h|>a:ag", "x1", "ag-x1"), ("t-h|>u:u", "x2", "ag-x2"), ("t-h|", "x3", "ag-x3"),
                     ("t-h|>a:ag>", "x4", "ag-x4"), ("t-h|>", "x5", "ag-x5"), ("t-h>", "x6", "ag-x6")]
        sender = await env(ten, "sender", "t-h", "ag-sender")
        vs = [await maybe(env(ten, u, t, a)) for t, u, a in victims]
        xs = [await maybe(env(ten, u, t, a)) for t, u, a in attackers]
        for x in xs:
            if x is not None:
                m = await x.request({"type": "subscribe", "data": {"channels": [ch]}, "request_id": "s"})
                assert m["type"] in ("subscribed", "error"), m
        for v in vs:
            if v is not None:
                await J.settle_direct(sender, [v], tag="victim")
        for (t, u, a), v in zip(victims, vs):
            for kw in ({"to_agent": a}, {"to_user": u}):
                m = await sender.direct("dm", **kw, type_="private", data={"to": u})
                if v is None:
                    continue
                if m["type"] == "error":
                    assert m["data"]["error_code"] == "RECIPIENT_OFFLINE", m
                    continue
                assert m["type"] == "sent", m
                got = await v.recv()
                assert got["type"] == "private", got
        await asyncio.gather(*(x.quiet(0.5) for x in xs if x is not None))
        # and the attackers' publishes reach no victim
        for x in xs:
            if x is not None:
                await x.send({"type": "publish", "data": {"channel": ch, "type": "spoof", "data": {}},
                              "request_id": "p"})
        await asyncio.gather(*(v.quiet(0.5) for v in vs if v is not None))
        for x in xs:
            if x is not None:
                assert x.probes == 0, f"direct probes to victims reached {x.user} of another tenant"
        for c in [sender] + [c for c in vs + xs if c is not None]:
            await c.close()
    run(main())


# --------------------------------------------------------------------------
# mixed load
# --------------------------------------------------------------------------

def test_mixed_load_two_tenants_same_channel_names(ten):
    """2 tenants x 2 channels (the same names in both), 3 subscribers and one
    publisher per (tenant, channel), 2,500 messages per publisher: 10,000
    messages in all, published concurrently. Every subscriber gets exactly
    its own (tenant, channel)'s 2,500, in order, and nothing else."""
    n = 2500
    tenants = ["ta", "tb"]
    chans = [uniq("mix0"), uniq("mix1")]
    run_id = uuid.uuid4().hex[:6]

    async def main():
        subs = {}
        for t in tenants:
            for ch in chans:
                subs[(t, ch)] = []
                for i in range(3):
                    s = await env(ten, f"ls-{t}-{i}", t, f"ag-ls-{i}")
                    await s.subscribe([ch], rid=f"s-{i}")
                    subs[(t, ch)].append(s)
        pubs = {k: await env(ten, f"lp-{k[0]}", k[0], "ag-lp") for k in subs}
        everyone = [s for ss in subs.values() for s in ss] + list(pubs.values())
        reactors = {c.reactor for c in everyone}
        assert len(reactors) >= 2, f"all {len(everyone)} clients on reactor(s) {reactors}"

        async def publisher(key):
            t, ch = key
            c = pubs[key]

            async def replies():
                for i in range(n):
                    m = await c.recv(30)
                    assert m["type"] == "published" and m["request_id"] == i, f"{key} reply {i}: {m}"
            rt = asyncio.ensure_future(replies())
            try:
                for i in range(n):
                    await c.ws.send('{"type":"publish","data":{"channel":"%s","type":"load","data":'
                                    '{"t":"%s","c":"%s","r":"%s","seq":%d}},"request_id":%d}'
                                    % (ch, t, ch, run_id, i, i))
                    if i % 200 == 0:
                        await asyncio.sleep(0)
                        if rt.done():
                            rt.result()
                await asyncio.wait_for(rt, T(60))
            finally:
                rt.cancel()

        async def subscriber(key, s):
            t, ch = key
            for i in range(n):
                m = await s.recv(30)
                assert m.get("type") == "load", f"{key}: unexpected {m}"
                d = m["data"]
                assert d["t"] == t, f"TENANT LEAK: a {t} subscriber of {ch} got {m}"
                assert m["channel"] == ch and d["c"] == ch, f"{key}: wrong channel {m}"
                assert d["seq"] == i and d["r"] == run_id, f"{key}: expected seq {i}, got {m}"
            await s.quiet(0.3)

        t0 = time.monotonic()
        await asyncio.gather(*(publisher(k) for k in pubs),
                             *(subscriber(k, s) for k, ss in subs.items() for s in ss))
        print(f"mixed load: {len(pubs) * n} messages, {len(everyone)} clients on reactors {sorted(reactors)}, "
              f"{time.monotonic() - t0:.1f}s")
        for c in everyone:
            await c.close()
    run(main(), 120)
