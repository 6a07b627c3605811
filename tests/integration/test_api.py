"""The server HTTP API for backends ([api] listener): Bearer keys, publish and
broadcast to subscribers on every reactor, push to / inspect / close one
connection by its id, channel listings, /metrics that follow the traffic,
/healthz and /readyz (503 while draining), and the API's own errors (401,
404, 405, 410, 413, 400 naming the field).

Identities are null here (endpoints with auth = "none"); JWT identities and
users/{id}/disconnect with real users are the identity tests' business."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import time

import pytest

import rawws
from apiutil import API_KEY, attach_api, endpoint, gateway_config, new_api, poll, reactor_of, start_gateway
from conftest import Server, T, run
from test_seed_action import Client as ActionClient
from test_seed_envelope import Client as EnvClient
from test_seed_envelope import check_error as env_error
from wsutil import TS_RE, check_delivery, expect_close, strict_json, uniq

THREADS = 4
CLOSE_CODE = 4000   # [api] close_code: what DELETE /api/v1/connections/{id} closes with
MAX_BODY = 65536
OTHER_KEY = "second-key"
UA = "ringcast-tests/1.0 (api)"

CONFIG = gateway_config(
    endpoint("/env", "envelope", rate_limit_per_minute=0),
    endpoint("/v1", "action"),
    endpoint("/envr", "envelope", rate_limit_per_minute=60, rate_limit_burst=2),
    api={"keys": [API_KEY, OTHER_KEY], "max_body_bytes": MAX_BODY, "close_code": CLOSE_CODE},
)

INFO_KEYS = {"connection_id", "connected_at", "last_active_at", "ip", "user_agent", "identity", "channels",
             "endpoint"}


@pytest.fixture(scope="module")
def _gw(tmp_path_factory):
    srv = Server(config=CONFIG, threads=THREADS, tmpdir=tmp_path_factory.mktemp("api"))
    try:
        attach_api(srv)
        yield srv
    finally:
        if not srv.checked:
            srv.stop()


@pytest.fixture
def gw(_gw):
    _gw.assert_healthy()
    yield _gw
    time.sleep(0.02)
    _gw.assert_healthy()


def eopen(srv, path="/env", **kw):
    return EnvClient.open(srv.url(path), user_agent_header=UA, **kw)


async def clients_on_every_reactor(srv, n: int, path="/env", limit: int = 80) -> list:
    """At least n envelope clients, spread so that every reactor has one
    (SO_REUSEPORT hashes connections; open more until all are covered)."""
    cs = []
    while len(cs) < n or len({reactor_of(c.session_id) for c in cs}) < THREADS:
        assert len(cs) < limit, f"{limit} connections all landed on reactors {sorted({reactor_of(c.session_id) for c in cs})}"
        cs.append(await eopen(srv, path))
    assert {reactor_of(c.session_id) for c in cs} == set(range(THREADS)), [c.session_id for c in cs]
    return cs


async def close_all(cs):
    for c in cs:
        await c.close()


def epoch(v) -> float:
    """connected_at / last_active_at: ISO 8601 UTC (like every timestamp) or a
    number of seconds or milliseconds since the epoch."""
    if isinstance(v, str):
        assert TS_RE.match(v), v
        return dt.datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()
    assert isinstance(v, (int, float)) and not isinstance(v, bool), v
    return v / 1000.0 if v > 1e11 else float(v)


# --------------------------------------------------------------------------
# health, auth, the API's own errors
# --------------------------------------------------------------------------

def test_healthz_and_readyz_need_no_key(gw):
    a = new_api(gw, key=None)
    r = a.get("/healthz")
    assert r.status == 200, r
    r = a.get("/readyz")
    assert r.status == 200, r
    assert r.json() == {"ready": True}, r
    a.close()


AUTH_VARIANTS = {
    "no_header": None,
    "wrong_key": "Bearer not-the-key",
    "wrong_scheme": "Basic dGVzdC1rZXk6",
    "token_scheme": f"Token {API_KEY}",
    "bare_key": API_KEY,
    "empty_bearer": "Bearer ",
    "key_prefix": f"Bearer {API_KEY[:-1]}",
    "key_suffix": f"Bearer {API_KEY}x",
}

AUTH_CALLS = [
    ("POST", "/api/v1/publish", {"channel": "auth-test", "data": {}}),
    ("POST", "/api/v1/broadcast", {"channels": ["auth-test"]}),
    ("GET", "/api/v1/channels", None),
    ("GET", "/api/v1/channels/auth-test/presence", None),
    ("GET", "/api/v1/connections/0000000000000001", None),
    ("POST", "/api/v1/connections/0000000000000001", {"type": "x"}),
    ("DELETE", "/api/v1/connections/0000000000000001", None),
    ("POST", "/api/v1/users/u-1/disconnect", None),
    ("GET", "/metrics", None),
]


@pytest.mark.parametrize("auth", list(AUTH_VARIANTS.values()), ids=list(AUTH_VARIANTS))
def test_calls_without_a_valid_key_are_401(gw, auth):
    a = new_api(gw)
    for method, path, body in AUTH_CALLS:
        r = a.request(method, path, body, auth=auth)
        assert r.status == 401, (method, path, r)
        www = r.header("WWW-Authenticate")
        assert www and www.lower().startswith("bearer"), f"401 without WWW-Authenticate: Bearer: {r!r}"
    a.close()


def test_every_configured_key_is_accepted(gw):
    for key in (API_KEY, OTHER_KEY):
        a = new_api(gw, key=key)
        r = a.get("/api/v1/channels")
        assert r.status == 200, r
        assert isinstance(r.json()["channels"], list), r
        a.close()


def test_unauthorized_publish_delivers_nothing(gw):
    ch = uniq("auth")

    async def main():
        c = await eopen(gw)
        await c.subscribe([ch])
        r = gw.api.request("POST", "/api/v1/publish", {"channel": ch, "type": "leak", "data": {}},
                           auth="Bearer wrong")
        assert r.status == 401, r
        r = gw.api.publish(ch, "allowed", {"n": 1})
        assert r.status == 200, r
        check_delivery(await c.recv(), "allowed", {"n": 1}, ch)  # the 401 one never came
        await c.close()
    run(main())


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/publish", "/", "/api/v1/publish/extra",
                                  "/api/v1/channels/a/b/c", "/api/v1/users/u-1", "/metrics/x"])
def test_unknown_path_is_404(gw, path):
    for method in ("GET", "POST"):
        r = gw.api.request(method, path, {} if method == "POST" else None)
        assert r.status == 404, (method, path, r)


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/api/v1/publish", "POST"),
    ("DELETE", "/api/v1/publish", "POST"),
    ("GET", "/api/v1/broadcast", "POST"),
    ("PUT", "/api/v1/connections/0000000000000001", "GET"),
    ("POST", "/api/v1/channels", "GET"),
    ("DELETE", "/api/v1/channels", "GET"),
    ("GET", "/api/v1/users/u-1/disconnect", "POST"),
    ("POST", "/metrics", "GET"),
])
def test_wrong_method_is_405(gw, method, path, allowed):
    r = gw.api.request(method, path, {} if method in ("POST", "PUT") else None)
    assert r.status == 405, r
    allow = [t.strip().upper() for t in (r.header("Allow") or "").split(",")]
    assert allowed in allow, f"405 should list {allowed} in Allow: {r!r}"


def _publish_body_of_size(n: int, channel: str) -> bytes:
    base = json.dumps({"channel": channel, "data": {"pad": ""}}, separators=(",", ":"))
    pad = n - len(base)
    assert pad >= 0
    body = json.dumps({"channel": channel, "data": {"pad": "x" * pad}}, separators=(",", ":")).encode()
    assert len(body) == n
    return body


def test_body_over_max_body_bytes_is_413(gw):
    ch = uniq("big")
    r = gw.api.post("/api/v1/publish", _publish_body_of_size(MAX_BODY, ch))
    assert r.status == 200, r
    a = new_api(gw)
    r = a.post("/api/v1/publish", _publish_body_of_size(MAX_BODY + 1, ch))
    assert r.status == 413, r
    a.close()
    # a larger declared body: answered 413 once the limit is passed, without
    # waiting for the rest (the client has sent MAX_BODY + 1 of 4 * MAX_BODY bytes)
    with rawws.RawConn(*gw.api_addr, T(5)) as raw:
        raw.send(rawws.build_request("POST", "/api/v1/connections/0000000000000001", [
            ("Host", f"{gw.api_addr[0]}:{gw.api_addr[1]}"), ("Authorization", f"Bearer {API_KEY}"),
            ("Content-Type", "application/json"), ("Content-Length", str(4 * MAX_BODY))]) + b"x" * (MAX_BODY + 1))
        resp = raw.read_http_response(T(5))
        assert resp.status == 413, resp
    assert new_api(gw).get("/healthz").status == 200


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"channel":"a",}', b'{"channel":"a"} x', b"\xff\xfe"],
                         ids=["truncated", "word", "trailing_comma", "trailing_garbage", "not_utf8"])
def test_invalid_json_is_400(gw, body):
    r = gw.api.post("/api/v1/publish", body)
    assert r.status == 400, r
    e = r.error()
    assert e["code"] == "INVALID_JSON", r
    r = gw.api.post("/api/v1/broadcast", body)
    assert r.status == 400 and r.error()["code"] == "INVALID_JSON", r


@pytest.mark.parametrize("path,body,code,field", [
    ("/api/v1/publish", {}, "MISSING_FIELD", "channel"),
    ("/api/v1/publish", {"type": "x", "data": {}}, "MISSING_FIELD", "channel"),
    ("/api/v1/publish", {"channel": 5}, "INVALID_FIELD", "channel"),
    ("/api/v1/publish", {"channel": None}, "INVALID_FIELD", "channel"),
    ("/api/v1/publish", {"channel": "bad channel"}, "INVALID_FIELD", "channel"),
    ("/api/v1/publish", {"channel": ""}, "INVALID_FIELD", "channel"),
    ("/api/v1/publish", {"channel": "x" * 129}, "INVALID_FIELD", "channel"),
    ("/api/v1/publish", {"channel": "a", "type": 5}, "INVALID_FIELD", "type"),
    ("/api/v1/publish", {"channel": "a", "tenant_id": 7}, "INVALID_FIELD", "tenant_id"),
    ("/api/v1/broadcast", {}, "MISSING_FIELD", "channels"),
    ("/api/v1/broadcast", {"channels": "a"}, "INVALID_FIELD", "channels"),
    ("/api/v1/broadcast", {"channels": [1]}, "INVALID_FIELD", "channels"),
    ("/api/v1/broadcast", {"channels": ["ok", "not ok"]}, "INVALID_FIELD", "channels"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_fields_are_400_naming_the_field(gw, path, body, code, field):
    r = gw.api.post(path, body)
    assert r.status == 400, r
    e = r.error()
    assert e["code"] == code, r
    # "channels" or an element of it ("channels[1]", "channels.1")
    assert e.get("field") == field or (field == "channels" and str(e.get("field", "")).startswith("channels")), r


def test_api_keeps_the_connection_alive(gw):
    a = new_api(gw)
    for _ in range(50):
        assert a.get("/healthz").status == 200
        assert a.get("/api/v1/channels?prefix=zzz-none").status == 200
    assert a.connects == 1, f"{a.connects} TCP connections for 100 HTTP/1.1 requests"
    a.close()


# --------------------------------------------------------------------------
# publish and broadcast
# --------------------------------------------------------------------------

def test_publish_reaches_subscribers_on_every_reactor(gw):
    ch = uniq("api-pub")
    data = {"upload_id": "upload_123", "status": "processing", "progress": 45, "ratio": 0.5, "tags": ["é", None]}

    async def main():
        subs = await clients_on_every_reactor(gw, 16)
        for s in subs:
            await s.subscribe([ch])
        acts = [await ActionClient.open(gw.url("/v1")) for _ in range(2)]
        for a in acts:
            assert await a.request({"action": "subscribe", "channel": ch}) == {"type": "subscribed", "channels": [ch]}
        idle = await eopen(gw)
        r = gw.api.publish(ch, "upload_progress", data)
        assert r.status == 200, r
        body = r.json()
        assert body.get("published") is True, body
        for s in subs + acts:
            check_delivery(await s.recv(), "upload_progress", data, ch)
        # defaults: type "message", data {}
        r = gw.api.publish(ch)
        assert r.status == 200, r
        for s in subs + acts:
            check_delivery(await s.recv(), "message", {}, ch)
        await idle.ping()  # not subscribed: nothing
        for s in subs:
            await s.ping()
        await close_all(subs + acts + [idle])
    run(main())


def test_api_publishes_arrive_in_order(gw):
    ch = uniq("api-order")

    async def main():
        subs = await clients_on_every_reactor(gw, 4)
        for s in subs:
            await s.subscribe([ch])
        for i in range(100):
            assert gw.api.publish(ch, "seq", {"i": i}).status == 200
        for s in subs:
            for i in range(100):
                check_delivery(await s.recv(), "seq", {"i": i}, ch)
        await close_all(subs)
    run(main())


def test_publish_to_another_tenant_does_not_reach_anonymous_subscribers(gw):
    ch = uniq("tenant")

    async def main():
        c = await eopen(gw)
        await c.subscribe([ch])
        assert gw.api.publish(ch, "other_tenant", {}, tenant_id="t-other").status == 200
        assert gw.api.publish(ch, "mine", {}).status == 200
        check_delivery(await c.recv(), "mine", {}, ch)
        await c.ping()
        await c.close()
    run(main())


def test_broadcast_to_several_channels(gw):
    a, b, c, d = (uniq(x) for x in "abcd")

    async def main():
        x, y, z = await eopen(gw), await eopen(gw), await eopen(gw)
        await x.subscribe([a, b])
        await y.subscribe([c])
        await z.subscribe([d])
        r = gw.api.broadcast([a, b, c], "system_notification", {"level": "info", "n": 1})
        assert r.status == 200, r
        assert isinstance(r.json(), dict), r
        got = [await x.recv(), await x.recv()]
        assert sorted(m["channel"] for m in got) == sorted([a, b]), got
        for m in got:
            check_delivery(m, "system_notification", {"level": "info", "n": 1}, m["channel"])
        check_delivery(await y.recv(), "system_notification", {"level": "info", "n": 1}, c)
        await x.ping()  # one per channel, no more
        await y.ping()
        await z.ping()  # d was not in the list
        await close_all([x, y, z])
    run(main())


# --------------------------------------------------------------------------
# one connection
# --------------------------------------------------------------------------

def test_send_to_a_connection_as_is(gw):
    async def main():
        cs = await clients_on_every_reactor(gw, 4)
        texts = ['{"type": "chat_response_chunk",  "data": {"chunk": "Based on é 🎉"}, "request_id": "c1"}',
                 "plain text, not JSON",
                 '{"type":"x","data":{"big":"' + "y" * 20000 + '"}}']
        for c in cs:
            for t in texts:
                r = gw.api.send(c.session_id, t)
                assert r.status == 200, r
        for c in cs:
            for t in texts:
                got = await asyncio.wait_for(c.ws.recv(), T(5))
                assert got == t, (got[:200], t[:200])
        # each got its own: a message addressed to one connection only
        r = gw.api.send(cs[0].session_id, '{"type":"only_first"}')
        assert r.status == 200, r
        assert strict_json(await asyncio.wait_for(cs[0].ws.recv(), T(5))) == {"type": "only_first"}
        for c in cs:
            await c.ping()
        await close_all(cs)
    run(main())


def test_connection_info(gw):
    ch1, ch2 = uniq("info-a"), uniq("info-b")

    async def main():
        t0 = time.time()
        c = await eopen(gw)
        await c.subscribe([ch1, ch2])
        r = gw.api.info(c.session_id)
        assert r.status == 200, r
        info = r.json()
        assert set(info) == INFO_KEYS, info
        assert info["connection_id"].lower() == c.session_id.lower(), info
        assert info["ip"] == "127.0.0.1", info
        assert info["user_agent"] == UA, info
        assert info["identity"] is None, info
        assert info["endpoint"] == "/env", info
        assert sorted(info["channels"]) == sorted([ch1, ch2]), info
        connected, active = epoch(info["connected_at"]), epoch(info["last_active_at"])
        assert t0 - 2 <= connected <= time.time() + 2, info
        assert connected <= active <= time.time() + 2, info
        await asyncio.sleep(0.05)
        await c.ping()
        info2 = gw.api.info(c.session_id).json()
        assert info2["connected_at"] == info["connected_at"], (info, info2)
        assert epoch(info2["last_active_at"]) > active, f"last_active_at did not move: {info} -> {info2}"
        await c.unsubscribe([ch1])
        assert gw.api.info(c.session_id).json()["channels"] == [ch2]
        await c.close()
    run(main())


def test_gone_connection_is_410(gw):
    async def main():
        c = await eopen(gw)
        sid = c.session_id
        assert gw.api.info(sid).status == 200
        await c.close()
        poll(lambda: gw.api.info(sid).status == 410, 5, "GET to answer 410 once the connection is gone")
        for r in (gw.api.send(sid, '{"type":"late"}'), gw.api.disconnect(sid), gw.api.info(sid)):
            assert r.status == 410, r
        # a new connection does not take over the old id
        c2 = await eopen(gw)
        assert c2.session_id != sid
        assert gw.api.info(sid).status == 410
        await c2.close()
    run(main())


@pytest.mark.parametrize("cid", ["zz", "zzzzzzzzzzzzzzzz", f"{THREADS:02x}00000000000001", "ff00000000000001",
                                 "0123456789abcdef0", "-1"],
                         ids=["zz", "16_non_hex", "reactor_past_threads", "reactor_ff", "17_digits", "negative"])
def test_impossible_connection_ids_are_404(gw, cid):
    for r in (gw.api.info(cid), gw.api.send(cid, '{"type":"x"}'), gw.api.disconnect(cid)):
        assert r.status == 404, (cid, r)


def test_delete_closes_with_the_configured_code(gw):
    async def main():
        c = await eopen(gw)
        other = await eopen(gw)
        r = gw.api.disconnect(c.session_id)
        assert r.status == 204, r
        assert r.body == b"", r
        await expect_close(c.ws, CLOSE_CODE)
        poll(lambda: gw.api.info(c.session_id).status == 410, 5, "410 after DELETE")
        assert gw.api.disconnect(c.session_id).status == 410
        await other.ping()  # only that one
        await other.close()
    run(main())


@pytest.mark.parametrize("code", [4001, 1000, 3000])
def test_delete_with_a_code(gw, code):
    async def main():
        c = await eopen(gw)
        r = gw.api.disconnect(c.session_id, code)
        assert r.status == 204, r
        await expect_close(c.ws, code)
    run(main())


@pytest.mark.parametrize("code", ["1005", "2999", "5000", "abc", ""])
def test_delete_with_a_bad_code_is_400(gw, code):
    async def main():
        c = await eopen(gw)
        r = gw.api.delete(f"/api/v1/connections/{c.session_id}?code={code}")
        assert r.status == 400, r
        e = r.error()
        assert e["code"] == "INVALID_FIELD" and e.get("field") == "code", r
        await c.ping()  # not closed
        await c.close()
    run(main())


def test_user_disconnect_of_an_unknown_user_closes_nothing(gw):
    async def main():
        cs = await clients_on_every_reactor(gw, 4)
        r = gw.api.post("/api/v1/users/nobody/disconnect")
        assert r.status == 200, r
        assert r.json() == {"closed": 0}, r
        r = gw.api.post("/api/v1/users/anonymous/disconnect")  # the greeting's user_id is not an identity
        assert r.status == 200 and r.json() == {"closed": 0}, r
        for c in cs:
            await c.ping()
        await close_all(cs)
    run(main())


# --------------------------------------------------------------------------
# channels
# --------------------------------------------------------------------------

def test_channels_listing_with_counts(gw):
    p = uniq("lst")
    a, b, other = f"{p}-a", f"{p}-b", uniq("other")

    def listing(prefix=p):
        got = gw.api.channels(prefix)
        assert set(got) == {"channels"}, got
        for e in got["channels"]:
            assert set(e) == {"channel", "subscribers"}, got
        names = [e["channel"] for e in got["channels"]]
        assert len(names) == len(set(names)), f"a channel listed twice (per reactor?): {got}"
        return {e["channel"]: e["subscribers"] for e in got["channels"]}

    async def main():
        cs = await clients_on_every_reactor(gw, 6)
        for c in cs[:3]:
            await c.subscribe([a])
        await cs[3].subscribe([a, b])
        await cs[4].subscribe([other])
        await cs[5].subscribe([other])
        assert listing() == {a: 4, b: 1}
        everything = listing(None)
        assert {a: 4, b: 1, other: 2}.items() <= everything.items(), everything
        assert listing(f"{p}-b") == {b: 1}
        assert listing(uniq("none")) == {}
        await cs[0].unsubscribe([a])
        await cs[3].close()
        poll(lambda: listing() == {a: 2}, 5, f"the listing to drop to {{{a}: 2}}")
        await close_all(cs[:3] + cs[4:])
        poll(lambda: listing() == {}, 5, "the listing to empty")
    run(main())


def test_presence_of_a_channel(gw):
    ch = uniq("presence")

    async def main():
        c = await eopen(gw)
        await c.subscribe([ch])
        r = gw.api.get(f"/api/v1/channels/{ch}/presence")
        assert r.status == 200, r
        body = r.json()
        assert body.get("channel") == ch and isinstance(body.get("members"), list), body
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------

COUNTERS = ["ringcast_connections_accepted_total", "ringcast_connections_closed_total",
            "ringcast_handshake_failures_total", "ringcast_messages_in_total", "ringcast_messages_out_total",
            "ringcast_bytes_in_total", "ringcast_bytes_out_total", "ringcast_publishes_total",
            "ringcast_deliveries_total", "ringcast_slow_consumer_closes_total", "ringcast_rate_limited_total",
            "ringcast_upstream_requests_total", "ringcast_upstream_failures_total"]


def test_metrics_format(gw):
    m = gw.api.metrics()
    open_series = m.series("ringcast_connections_open")
    assert sorted(dict(lab).get("reactor") for lab in open_series) == [str(i) for i in range(THREADS)], open_series
    assert m.types.get("ringcast_connections_open") == "gauge", m.types
    for name in COUNTERS:
        assert m.has(name), f"/metrics has no {name}:\n{m.text[:4000]}"
        assert m.types.get(name) == "counter", (name, m.types.get(name))
    assert m.types.get("ringcast_delivery_latency_seconds") == "histogram", m.types
    buckets = m.series("ringcast_delivery_latency_seconds_bucket")
    les = {}
    for lab, v in buckets.items():
        d = dict(lab)
        les.setdefault(tuple(sorted((k, x) for k, x in d.items() if k != "le")), []).append(
            (float("inf") if d["le"] == "+Inf" else float(d["le"]), v))
    assert les, m.text[:4000]
    for key, pts in les.items():
        pts.sort()
        assert pts[-1][0] == float("inf"), pts
        vals = [v for _, v in pts]
        assert vals == sorted(vals), f"buckets not cumulative: {pts}"
    assert m.sum("ringcast_delivery_latency_seconds_bucket", le="+Inf") == \
        m.sum("ringcast_delivery_latency_seconds_count"), m.text[:4000]
    assert m.sum("ringcast_delivery_latency_seconds_sum") >= 0


def test_metrics_move_with_the_traffic(gw):
    ch = uniq("metrics")

    async def main():
        poll(lambda: gw.api.metrics().sum("ringcast_connections_open") == 0, 5, "earlier connections to close")
        before = gw.api.metrics()
        cs = [await eopen(gw) for _ in range(3)]
        sent = 0
        for c in cs:
            await c.subscribe([ch])
            sent += len(json.dumps({"type": "subscribe", "data": {"channels": [ch]}, "request_id": "sub"},
                                   separators=(",", ":")).encode())
            for i in range(5):
                await c.ping(f"m{i}")
                sent += len(json.dumps({"type": "ping", "request_id": f"m{i}"}, separators=(",", ":")).encode())
        assert gw.api.publish(ch, "tick", {"n": 1}).status == 200
        for c in cs:
            check_delivery(await c.recv(), "tick", {"n": 1}, ch)
        mid = gw.api.metrics()
        d = mid - before
        assert d("ringcast_connections_accepted_total") == 3, d.after.text
        assert mid.sum("ringcast_connections_open") == 3
        assert d("ringcast_messages_in_total") == 18  # 3 x (subscribe + 5 pings)
        assert d("ringcast_messages_out_total") >= 3 * (1 + 5) + 3  # replies + deliveries (greetings may count)
        assert sent <= d("ringcast_bytes_in_total") <= sent + 200, (sent, d("ringcast_bytes_in_total"))
        assert d("ringcast_bytes_out_total") >= 3 * 6 * 40
        assert d("ringcast_publishes_total") == 1
        assert d("ringcast_deliveries_total") == 3
        assert 1 <= d("ringcast_delivery_latency_seconds_count") <= 3
        # a failed handshake, a client-initiated close 1000
        with rawws.RawConn(gw.host, gw.port, T(5)) as raw:
            raw.send(rawws.build_request("GET", "/no-such-endpoint", rawws.upgrade_headers(raw.hostport)))
            assert raw.read_http_response(T(5)).status == 404
        await cs[0].close()
        after = poll(lambda: (lambda m: m if (m - before)("ringcast_connections_closed_total", code="1000") == 1
                              and m.sum("ringcast_connections_open") == 2 else None)(gw.api.metrics()),
                     5, "close 1000 to be counted")
        d = after - before
        assert d("ringcast_connections_closed_total") == 1, after.text
        assert d("ringcast_handshake_failures_total", status="404") == 1, after.text
        assert d("ringcast_handshake_failures_total") == 1, after.text
        assert d("ringcast_connections_accepted_total") == 3  # the failed handshake is not an accepted connection
        await close_all(cs[1:])
        poll(lambda: gw.api.metrics().sum("ringcast_connections_open") == 0, 5, "all closed")
    run(main())


def test_rate_limited_is_counted(gw):
    async def main():
        before = gw.api.metrics()
        c = await eopen(gw, "/envr")
        for i in range(4):
            await c.send({"type": "ping", "request_id": i})
        got = [await c.recv() for _ in range(4)]
        limited = [m for m in got if m["type"] == "error"]
        assert len(limited) == 2, got  # burst 2
        for m in limited:
            env_error(m, "RATE_LIMITED", m["request_id"])
        d = gw.api.metrics() - before
        assert d("ringcast_rate_limited_total") == 2, d.after.text
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# readiness while stopping
# --------------------------------------------------------------------------

def test_readyz_is_503_while_draining(server_factory):
    srv = start_gateway(server_factory, gateway_config(
        endpoint("/env", "envelope"), server={"shutdown_timeout_ms": 3000, "close_timeout_ms": 3000}), threads=2)
    poller = new_api(srv, key=None)
    assert poller.get("/readyz").status == 200
    # a client that never answers the close handshake keeps the drain going
    raw = rawws.open_ws(srv.host, srv.port, "/env", T(5))
    raw.read_message(T(5))  # the greeting
    srv.signal(signal.SIGTERM)
    seen = []
    deadline = time.monotonic() + T(2.5)
    while time.monotonic() < deadline:
        try:
            r = poller.get("/readyz")
        except OSError as e:  # the keep-alive connection may be dropped: try a fresh one
            seen.append(repr(e))
            poller = new_api(srv, key=None)
            continue
        seen.append(r.status)
        if r.status == 503:
            break
        time.sleep(0.01)
    assert 503 in seen, f"/readyz never answered 503 during the drain: {seen[-10:]}"
    assert srv.alive(), "the server was still draining"
    raw.close()
    poller.close()
    # the first SIGTERM finishes the stop: no second signal
    srv.checked = True
    rc = srv.wait(T(10))
    assert srv.sanitizer_report() is None, srv.stderr
    assert rc == 0, f"exit {rc} after SIGTERM; stderr:\n{srv.stderr}"
