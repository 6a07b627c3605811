"""Seed 002 end to end: the envelope API at /api/v1/ws with a real backend
(backend.py) behind it.  Client messages the gateway does not handle itself
go to the backend; the backend answers at once (stream_search: a JSON array)
or later through the server API: the RAG chat streams chat_response_chunk /
chat_response_complete to the connection (POST /api/v1/connections/{id}),
uploads publish upload_progress and new_emails to a channel, and system
notifications are broadcast.  The client must receive exactly the seed's
shapes, in order, with the right request_id."""

from __future__ import annotations

import asyncio
import json

import pytest

from apiutil import (Api, endpoint, gateway_config, healthy_around, serve_backend, stream_search,
                     upstream_route)
from backend import CHAT_SOURCES, Backend, chat_chunks, search_results, upload_progress
from conftest import T, run
from test_seed_envelope import Client as EnvClient
from wsutil import check_delivery, check_timestamp, dumps, strict_json, uniq

PATH = "/api/v1/ws"

# seed 002's data keys, message type by message type
SEED_DATA_KEYS = {
    "upload_progress": {"upload_id", "status", "progress", "emails_processed", "total_emails", "current_operation"},
    "search_result": {"email_id", "subject", "score"},
    "search_complete": {"total_results", "processing_time_ms"},
    "chat_response_chunk": {"chunk", "conversation_id", "index"},  # seed: chunk, conversation_id; + index
    "chat_response_complete": {"conversation_id", "sources"},
    "system_notification": {"level", "message", "action_required"},
    "new_emails": {"count", "upload_id"},
}


@pytest.fixture(scope="module")
def _gw(tmp_path_factory):
    def config(b):
        return gateway_config(endpoint(
            PATH, "envelope",
            upstream_route("chat_message", b.url("/chat"), upstream_timeout_ms=3000),
            upstream_route("stream_search", b.url("/search"), upstream_timeout_ms=3000),
            upstream_route("start_upload", b.url("/upload"), upstream_timeout_ms=3000),
            rate_limit_per_minute=0))
    yield from serve_backend(config, tmp_path_factory.mktemp("seed002"), api_for_backend=True)


@pytest.fixture
def gw(_gw):
    yield from healthy_around(_gw)


async def open_client(srv) -> EnvClient:
    return await EnvClient.open(srv.url(PATH))


async def recv_raw(c, timeout=5) -> str:
    m = await asyncio.wait_for(c.ws.recv(), T(timeout))
    assert isinstance(m, str), m
    return m


def pushed_to(b: Backend, connection_id: str) -> list:
    return b.pushes_to(f"/api/v1/connections/{connection_id}")


def chat(question: str, rid, conversation_id="conv_123", **extra) -> dict:
    return {"type": "chat_message", "data": {"message": question, "conversation_id": conversation_id, **extra},
            "request_id": rid}


def expected_chat(question: str, rid, conversation_id="conv_123") -> list:
    """The messages of one chat stream, without timestamps."""
    out = [{"type": "chat_response_chunk", "data": {"chunk": ch, "index": i, "conversation_id": conversation_id},
            "request_id": rid} for i, ch in enumerate(chat_chunks(question))]
    out.append({"type": "chat_response_complete", "data": {"conversation_id": conversation_id,
                                                           "sources": CHAT_SOURCES}, "request_id": rid})
    return out


def without_ts(m: dict) -> dict:
    check_timestamp(m["timestamp"])
    return {k: v for k, v in m.items() if k != "timestamp"}


# --------------------------------------------------------------------------
# the RAG chat, streamed through POST /api/v1/connections/{id}
# --------------------------------------------------------------------------

def test_streamed_chat_arrives_in_order_with_its_request_id(gw):
    srv, b = gw
    q = "Summarize emails about the project"

    async def main():
        c = await open_client(srv)
        await c.send(chat(q, "chat_1"))
        n = len(expected_chat(q, "chat_1"))
        raw = [await recv_raw(c) for _ in range(n)]
        got = [strict_json(t) for t in raw]
        assert [without_ts(m) for m in got] == expected_chat(q, "chat_1"), got
        # what reached the client is exactly what the backend pushed, byte for byte
        pushes = await asyncio.to_thread(b.wait_for, lambda: len(pushed_to(b, c.session_id)) == n and
                                         pushed_to(b, c.session_id), T(5), "the pushes' answers")
        assert [p.status for p in pushes] == [200] * n, [(p.status, p.answer) for p in pushes]
        assert raw == [dumps(p.body) for p in pushes]
        # the upstream request behind it
        reqs = b.requests_to("chat")
        assert len(reqs) == 1, reqs
        body = reqs[0].json
        assert body == {"connection_id": c.session_id, "identity": None, "request_id": "chat_1",
                        "route": "chat_message", "endpoint": PATH, "message": chat(q, "chat_1")}, body
        await c.ping()  # the 202 itself sent nothing
        await c.close()
    run(main())


def test_two_chats_on_one_connection_keep_their_own_order(gw):
    srv, b = gw
    q1, q2 = "first question about invoices", "second question about the offsite"

    async def main():
        c = await open_client(srv)
        await c.send(chat(q1, "c1", delay_ms=3))
        await c.send(chat(q2, "c2", conversation_id="conv_2", delay_ms=3))
        e1, e2 = expected_chat(q1, "c1"), expected_chat(q2, "c2", "conv_2")
        got = [without_ts(await c.recv()) for _ in range(len(e1) + len(e2))]
        assert [m for m in got if m["request_id"] == "c1"] == e1
        assert [m for m in got if m["request_id"] == "c2"] == e2
        await c.ping()
        await c.close()
    run(main())


def test_pushes_to_a_closed_connection_get_410(gw):
    srv, b = gw
    q = "a long answer the client will not wait for"

    async def main():
        c = await open_client(srv)
        sid = c.session_id
        await c.send(chat(q, "gone", delay_ms=100))
        first = without_ts(await c.recv())
        assert first == expected_chat(q, "gone")[0], first
        await c.close()
        gone = await asyncio.to_thread(b.wait_for, lambda: [p for p in pushed_to(b, sid) if p.status == 410],
                                       T(5), "a push answered 410")
        pushes = pushed_to(b, sid)
        assert pushes[-1] is gone[0] and pushes[0].status == 200, [p.status for p in pushes]
        assert all(p.status in (200, 410) for p in pushes), [p.status for p in pushes]
    run(main())


# --------------------------------------------------------------------------
# search: one JSON array answer
# --------------------------------------------------------------------------

def test_stream_search(gw):
    srv, b = gw

    async def main():
        c = await open_client(srv)
        got = [without_ts(m) for m in await stream_search(c, "Find urgent emails", 3, "search_1")]
        assert got == [{"type": "search_result", "data": r, "request_id": "search_1"}
                       for r in search_results("Find urgent emails", 3)] + \
            [{"type": "search_complete", "data": {"total_results": 3, "processing_time_ms": 850},
              "request_id": "search_1"}], got
        await c.ping()
        await c.close()
    run(main())


# --------------------------------------------------------------------------
# uploads and notifications: published through the API
# --------------------------------------------------------------------------

def test_upload_progress_and_new_emails_reach_every_subscriber(gw):
    srv, b = gw
    uploads = uniq("uploads")

    async def main():
        a = await open_client(srv)
        others = [await open_client(srv) for _ in range(3)]
        await a.subscribe([uploads, uniq("search_results"), uniq("system_status")], rid="req_1")
        for o in others:
            await o.subscribe([uploads])
        await a.send({"type": "start_upload", "data": {"upload_id": "upload_123", "total_emails": 10000, "steps": 4,
                                                       "channel": uploads}, "request_id": "up_1"})
        expected = [("upload_progress", upload_progress("upload_123", k, 4, 10000)) for k in range(1, 5)]
        expected.append(("new_emails", {"count": 10000, "upload_id": "upload_123"}))
        got = [await a.recv() for _ in range(1 + len(expected))]
        # the backend's answer and its publishes travel separately: the reply
        # may come before or among the deliveries, the deliveries in order
        replies = [m for m in got if m["type"] == "upload_started"]
        assert len(replies) == 1, got
        assert without_ts(replies[0]) == {"type": "upload_started", "data": {"upload_id": "upload_123"},
                                          "request_id": "up_1"}, replies
        deliveries = [m for m in got if m["type"] != "upload_started"]
        for m, (t, d) in zip(deliveries, expected, strict=True):
            check_delivery(m, t, d, uploads)
        for o in others:
            for t, d in expected:
                check_delivery(await o.recv(), t, d, uploads)
        pubs = await asyncio.to_thread(b.wait_for, lambda: len(b.pushes_to("/api/v1/publish")) == len(expected) and
                                       b.pushes_to("/api/v1/publish"), T(5), "the publishes' answers")
        assert [p.status for p in pubs] == [200] * len(expected), [(p.status, p.answer) for p in pubs]
        for p in pubs:
            assert json.loads(p.answer).get("published") is True, p.answer
        for c in [a] + others:
            await c.ping()
            await c.close()
    run(main())


def test_system_notification_is_broadcast(gw):
    srv, b = gw
    system, other, unrelated = uniq("system_status"), uniq("maintenance"), uniq("uploads")
    note = {"level": "info", "message": "System maintenance scheduled for 2026-01-15", "action_required": False}

    async def main():
        x, y, z = await open_client(srv), await open_client(srv), await open_client(srv)
        await x.subscribe([system])
        await y.subscribe([other])
        await z.subscribe([unrelated])
        api = Api(*srv.api_addr)
        p = b.broadcast(api, [system, other], "system_notification", note)
        assert p.status == 200, p
        check_delivery(await x.recv(), "system_notification", note, system)
        check_delivery(await y.recv(), "system_notification", note, other)
        await z.ping()  # not in the broadcast
        api.close()
        for c in (x, y, z):
            await c.ping()
            await c.close()
    run(main())


# --------------------------------------------------------------------------
# a whole session, the way the seed's client uses the API
# --------------------------------------------------------------------------

def test_seed002_session_gets_exactly_the_seed_shapes(gw):
    srv, b = gw
    uploads, search_ch, system = uniq("uploads"), uniq("search_results"), uniq("system_status")
    note = {"level": "warning", "message": "Indexing is slow today", "action_required": True}

    async def main():
        c = await open_client(srv)
        await c.subscribe([uploads, search_ch, system], rid="req_1")
        await c.send({"type": "stream_search", "data": {"query": "Find urgent emails", "limit": 2},
                      "request_id": "search_1"})
        await c.send(chat("Summarize emails about the project", "chat_1"))
        await c.send({"type": "start_upload", "data": {"upload_id": "upload_9", "total_emails": 300, "steps": 2,
                                                       "channel": uploads}, "request_id": "req_3"})
        n = 3 + len(expected_chat("Summarize emails about the project", "chat_1")) + 1 + 3
        got = [await c.recv() for _ in range(n)]
        api = Api(*srv.api_addr)
        assert b.broadcast(api, [system], "system_notification", note).status == 200
        api.close()
        got.append(await c.recv())
        seen = set()
        for m in got:
            t = m["type"]
            seen.add(t)
            check_timestamp(m["timestamp"])
            if t in ("upload_progress", "new_emails", "system_notification"):
                assert set(m) == {"type", "data", "channel", "timestamp"}, m  # seed shape + the channel
            else:
                assert set(m) == {"type", "data", "request_id", "timestamp"}, m
            if t in SEED_DATA_KEYS:
                assert set(m["data"]) == SEED_DATA_KEYS[t], m
            if t.startswith("search"):
                assert m["request_id"] == "search_1", m
            if t.startswith("chat"):
                assert m["request_id"] == "chat_1", m
        assert set(SEED_DATA_KEYS) <= seen, seen
        assert seen == set(SEED_DATA_KEYS) | {"upload_started"}, seen
        await c.ping()
        await c.close()
    run(main())
