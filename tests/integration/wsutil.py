"""Helpers shared by the integration tests that speak JSON over WebSockets
(the seed profiles, pub/sub, backpressure, load, the custom handler):

- `config`, `endpoint`, `route`: ringcast TOML configs built from keywords;
- `connect`, `recv_json`, `expect_close`, `JsonClient`: python-websockets
  clients with bounded (scaled) waits and strict JSON parsing;
- `check_timestamp`, `check_pong`, `check_delivery`, `check_flat_error`,
  `offset_details`: message shapes that more than one profile shares.

Everything that waits takes its timeout in unscaled seconds and scales it with
conftest.T, so sanitizer builds get more time."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from conftest import T

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SESSION_RE = re.compile(r"^[0-9a-fA-F]{16}$")
ABSENT = object()  # "this key must not be there" for the check_* helpers


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------

def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string for everything the tests use
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def _table(header: str, keys: dict) -> str:
    return "".join([f"{header}\n"] + [f"{k} = {_toml(v)}\n" for k, v in keys.items()])


def route(name: str, handler: str, **keys) -> str:
    """One [[endpoint.route]] of the endpoint it is passed to."""
    return _table("[[endpoint.route]]", {"name": name, "handler": handler, **keys})


def endpoint(path: str, protocol: str, *routes: str, **keys) -> str:
    """One [[endpoint]] (path, protocol, then `keys` in order) and its routes."""
    return "\n".join([_table("[[endpoint]]", {"path": path, "protocol": protocol, **keys}), *routes])


def config(*endpoints: str, server: dict | None = None) -> str:
    """A whole config file: an optional [server] table, then the endpoints."""
    parts = [_table("[server]", server)] if server else []
    return "\n".join(parts + list(endpoints))


# --------------------------------------------------------------------------
# JSON and names
# --------------------------------------------------------------------------

def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def strict_json(text) -> dict:
    """json.loads that rejects duplicate keys and non-text frames; json.loads
    is strict about raw control characters inside strings, so bad escaping
    fails here too."""
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in {text[:300]!r}"
        return dict(pairs)
    assert isinstance(text, str), f"expected a text frame, got {type(text).__name__}: {text[:100]!r}"
    return json.loads(text, object_pairs_hook=no_dupes)


def uniq(prefix: str) -> str:
    """A channel/room name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def check_timestamp(ts, slack_s: float = 5.0) -> None:
    """ISO 8601 UTC with milliseconds, within slack_s (scaled) of now."""
    assert isinstance(ts, str), ts
    assert TS_RE.match(ts), f"timestamp {ts!r} is not ISO 8601 UTC with milliseconds"
    t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    now = dt.datetime.now(dt.timezone.utc)
    delta = abs((now - t).total_seconds())
    assert delta < slack_s * max(1.0, T(1)), f"timestamp {ts} is {delta:.1f}s away from now ({now.isoformat()})"


# --------------------------------------------------------------------------
# python-websockets clients
# --------------------------------------------------------------------------

def connect(url, **kw):
    """websockets.connect with the tests' defaults (no keepalive pings, no
    compression, large messages allowed, scaled open/close timeouts)."""
    kw.setdefault("max_size", 16 << 20)
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", T(10))
    kw.setdefault("close_timeout", T(1))
    kw.setdefault("compression", None)
    return websockets.connect(url, **kw)


async def recv_json(ws, timeout: float | None = 5) -> dict:
    """The next message, strictly parsed; waits at most T(timeout) (None:
    for as long as it takes, for readers that are cancelled at the end)."""
    if timeout is None:
        return strict_json(await ws.recv())
    return strict_json(await asyncio.wait_for(ws.recv(), T(timeout)))


async def expect_close(ws, code: int, reason: str | None = None, timeout: float = 5) -> list:
    """Read until the server's close frame, which must carry `code` (and
    `reason` unless None); returns the messages that came before it."""
    before = []
    with pytest.raises(ConnectionClosed) as ei:
        while True:
            before.append(await asyncio.wait_for(ws.recv(), T(timeout)))
    assert ei.value.rcvd is not None, f"no close frame received: {ei.value!r}; got before: {before[:5]}"
    assert ei.value.rcvd.code == code, (ei.value.rcvd, before[:5])
    if reason is not None:
        assert ei.value.rcvd.reason == reason, ei.value.rcvd
    return before


class JsonClient:
    """One connection that sends dicts as compact JSON text and reads strict
    JSON with a timeout."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def open(cls, url: str, **kw):
        return cls(await connect(url, **kw))

    async def send(self, msg) -> None:
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else dumps(msg))

    async def recv(self, timeout: float = 5) -> dict:
        return await recv_json(self.ws, timeout)

    async def request(self, msg, timeout: float = 5) -> dict:
        await self.send(msg)
        return await self.recv(timeout)

    async def close(self) -> None:
        await self.ws.close()


# --------------------------------------------------------------------------
# shapes shared by the profiles
# --------------------------------------------------------------------------

def check_pong(m: dict, rid=None) -> None:
    """{"type":"pong","timestamp":...} plus "request_id" (the same value of the
    same type) when rid is not None."""
    if rid is None:
        assert set(m) == {"type", "timestamp"}, m
    else:
        assert set(m) == {"type", "request_id", "timestamp"}, m
        assert m["request_id"] == rid and type(m["request_id"]) is type(rid), m
    assert m["type"] == "pong", m
    check_timestamp(m["timestamp"])


def check_delivery(m: dict, type_: str, data, channel: str) -> None:
    """A published message as subscribers get it (envelope and action)."""
    assert set(m) == {"type", "data", "channel", "timestamp"}, m
    assert m["type"] == type_, m
    assert m["data"] == data, m
    assert m["channel"] == channel, m
    check_timestamp(m["timestamp"])


def offset_details(text: str):
    """INVALID_JSON: {"offset": N} when known, else no details."""
    def check(d):
        if d is None:
            return
        assert set(d) == {"offset"}, d
        assert isinstance(d["offset"], int) and 0 <= d["offset"] <= len(text.encode()), d
    return check


def check_flat_error(m: dict, type_: str, text_key: str, code: str, fields: dict, details=ABSENT, *,
                     timestamp: bool = False) -> None:
    """A one-level error (action and channel profiles): exactly
    {"type": type_, text_key: non-empty string, "error_code": code} plus
    `fields` (exact values) plus "details" (ABSENT: none; a callable: present
    or not, checked by it; otherwise the exact value) plus a "timestamp" when
    asked."""
    expected = dict(fields)
    if callable(details):
        details(m.get("details"))
        if "details" in m:
            expected["details"] = m["details"]
    elif details is not ABSENT:
        expected["details"] = details
    keys = {"type", text_key, "error_code"} | set(expected) | ({"timestamp"} if timestamp else set())
    assert set(m) == keys, m
    assert m["type"] == type_, m
    assert m["error_code"] == code, m
    assert isinstance(m[text_key], str) and m[text_key], m
    for k, v in expected.items():
        assert m[k] == v, m
    if timestamp:
        check_timestamp(m["timestamp"])
