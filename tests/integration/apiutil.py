"""Helpers for the tests of the server HTTP API and of upstream forwarding:

- `Api`: a small blocking HTTP/1.1 client (http.client, one keep-alive
  connection, bounded waits) with the Bearer key, JSON bodies and shortcuts
  for the API's calls;
- `Metrics`: GET /metrics parsed (Prometheus text), with sums over labels;
- configs with an [api] table and upstream routes (`gateway_config`,
  `upstream_route`, `hook_keys`), and `start_gateway` that starts a server
  and finds its API port on stderr ("api listening on HOST:PORT");
- `backend` fixture: a tests/integration/backend.py Backend on its own
  threads for the test; `serve_backend` and `healthy_around` for a module's
  gateway in front of one, and `stream_search` (seed 002's search call);
- small things: `free_port`, `reactor_of`, `poll`.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.parse

import pytest

from conftest import Server, T
from wsutil import _table, dumps, strict_json

API_KEY = "test-key"
API_RE = re.compile(r"api listening on (\S+):(\d+)")
DEFAULT = object()


# --------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------

class Response:
    def __init__(self, status: int, reason: str, headers, body: bytes, version: int):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage
        self.body = body
        self.version = version  # 11 for HTTP/1.1

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self):
        assert self.body, f"empty body: {self!r}"
        return strict_json(self.body.decode("utf-8"))

    def error(self) -> dict:
        """The API's error object {"code","message","field"?}; checks the shape."""
        j = self.json()
        assert set(j) == {"error"}, j
        e = j["error"]
        assert isinstance(e, dict) and set(e) - {"field"} == {"code", "message"}, j
        assert isinstance(e["message"], str) and e["message"], j
        return e

    def __repr__(self) -> str:
        return f"Response({self.status} {self.reason}, {dict(self.headers)!r}, body={self.body[:300]!r})"


class Api:
    """One keep-alive HTTP/1.1 connection to the server API.  Not thread
    safe: one per thread."""

    def __init__(self, host: str, port: int, key: str | None = API_KEY, timeout: float = 5):
        self.host, self.port, self.key = host, port, key
        self.timeout = T(timeout)
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False          # the last request went on an already used connection
        self.connects = 0            # TCP connections opened

    def _conn(self) -> http.client.HTTPConnection:
        if self.conn is None or self.conn.sock is None:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1
            self.reused = False
        else:
            self.reused = True
        return self.conn

    def request(self, method: str, path: str, body=None, *, auth=DEFAULT, headers=None) -> Response:
        """`body`: dict/list (sent as JSON), str (UTF-8), bytes or None.
        `auth`: DEFAULT = "Bearer <key>", None = no Authorization header,
        a str = that exact header value."""
        if isinstance(body, (dict, list)):
            data = dumps(body).encode("utf-8")
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = body
        h = {}
        if data is not None:
            h["Content-Type"] = "application/json"
        if auth is DEFAULT:
            if self.key is not None:
                h["Authorization"] = f"Bearer {self.key}"
        elif auth is not None:
            h["Authorization"] = auth
        h.update(headers or {})
        for attempt in (0, 1):
            c = self._conn()
            try:
                c.request(method, path, body=data, headers=h)
                r = c.getresponse()
                payload = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                # a kept-alive connection the server closed meanwhile: once more on a new one
                self.close()
                if attempt == 0 and self.reused:
                    continue
                raise
            resp = Response(r.status, r.reason, r.headers, payload, r.version)
            if r.will_close:
                self.close()
            return resp
        raise AssertionError("unreachable")

    def get(self, path, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw) -> Response:
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw) -> Response:
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    # -- the API's calls ---------------------------------------------------
    def publish(self, channel, type_=None, data=None, **extra) -> Response:
        body = {"channel": channel, **extra}
        if type_ is not None:
            body["type"] = type_
        if data is not None:
            body["data"] = data
        return self.post("/api/v1/publish", body)

    def broadcast(self, channels, type_=None, data=None, **extra) -> Response:
        body = {"channels": list(channels), **extra}
        if type_ is not None:
            body["type"] = type_
        if data is not None:
            body["data"] = data
        return self.post("/api/v1/broadcast", body)

    def send(self, conn_id: str, text) -> Response:
        return self.post(f"/api/v1/connections/{conn_id}", text)

    def info(self, conn_id: str) -> Response:
        return self.get(f"/api/v1/connections/{conn_id}")

    def disconnect(self, conn_id: str, code: int | None = None) -> Response:
        q = f"?code={code}" if code is not None else ""
        return self.delete(f"/api/v1/connections/{conn_id}{q}")

    def channels(self, prefix: str | None = None) -> dict:
        q = "?prefix=" + urllib.parse.quote(prefix, safe="") if prefix is not None else ""
        r = self.get("/api/v1/channels" + q)
        assert r.status == 200, r
        return r.json()

    def metrics(self) -> "Metrics":
        r = self.get("/metrics")
        assert r.status == 200, r
        ctype = r.header("Content-Type") or ""
        assert ctype.startswith("text/plain"), r
        return Metrics(r.body.decode("utf-8"))


# --------------------------------------------------------------------------
# /metrics
# --------------------------------------------------------------------------

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class Metrics:
    """Prometheus text format: samples as {(name, frozenset(labels)): value},
    types from the # TYPE lines.  Every line must parse."""

    def __init__(self, text: str):
        self.text = text
        self.samples: dict[tuple, float] = {}
        self.types: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3].strip()
                continue
            m = _SAMPLE_RE.match(line)
            assert m, f"/metrics: unparsable line {line!r}"
            name, labels_text, value = m.groups()
            labels = {}
            if labels_text:
                pos = 0
                while pos < len(labels_text):
                    lm = _LABEL_RE.match(labels_text, pos)
                    assert lm, f"/metrics: bad labels in {line!r}"
                    labels[lm.group(1)] = lm.group(2)
                    pos = lm.end()
            key = (name, frozenset(labels.items()))
            assert key not in self.samples, f"/metrics: duplicate series {line!r}"
            self.samples[key] = float(value)

    def series(self, name: str) -> dict:
        """{frozenset(labels): value} of every series of `name`."""
        return {lab: v for (n, lab), v in self.samples.items() if n == name}

    def has(self, name: str) -> bool:
        return any(n == name for (n, _) in self.samples)

    def sum(self, name: str, **labels) -> float:
        """The sum over every series of `name` whose labels include `labels`
        (per-reactor series are summed).  The metric must exist."""
        assert self.has(name), f"/metrics has no {name}:\n{self.text[:3000]}"
        want = set((k, str(v)) for k, v in labels.items())
        return sum(v for lab, v in self.series(name).items() if want <= set(lab))

    def __sub__(self, other: "Metrics") -> "Delta":
        return Delta(self, other)


class Delta:
    def __init__(self, after: Metrics, before: Metrics):
        self.after, self.before = after, before

    def __call__(self, name: str, **labels) -> float:
        after = self.after.sum(name, **labels)
        before = self.before.sum(name, **labels) if self.before.has(name) else 0.0
        return after - before


# --------------------------------------------------------------------------
# configs and servers
# --------------------------------------------------------------------------

def upstream_route(name: str, upstream: str, **keys) -> str:
    """One [[endpoint.route]] forwarded to an upstream (no handler)."""
    return _table("[[endpoint.route]]", {"name": name, "upstream": upstream, **keys})


def endpoint(path: str, protocol: str, *routes: str, **keys) -> str:
    return "\n".join([_table("[[endpoint]]", {"path": path, "protocol": protocol, **keys}), *routes])


def gateway_config(*endpoints: str, api: dict | None = None, server: dict | None = None) -> str:
    """A config file: [server] (when given), [api] (listen on a free port,
    key test-key, plus `api`), then the endpoints."""
    a = {"listen": "127.0.0.1:0", "keys": [API_KEY]}
    a.update(api or {})
    parts = []
    if server:
        parts.append(_table("[server]", server))
    parts.append(_table("[api]", a))
    parts.extend(endpoints)
    return "\n".join(parts)


def api_address(srv, timeout: float = 3) -> tuple[str, int]:
    """The API listener's address from the server's stderr."""
    deadline = time.monotonic() + T(timeout)
    while True:
        if getattr(srv, "api_port", None):  # conftest.Server parses the line itself
            return srv.api_host, srv.api_port
        m = API_RE.search(srv.stderr)
        if m:
            return m.group(1), int(m.group(2))
        if not srv.alive() or time.monotonic() > deadline:
            raise AssertionError(f"no `api listening on HOST:PORT` line on stderr (alive={srv.alive()}):\n"
                                 f"{srv.stderr}")
        time.sleep(0.01)


def start_gateway(server_factory, config: str, threads: int = 2):
    """Start a server with `config`; returns it with `.api` (an Api with the
    test key) and `.api_addr` set."""
    srv = server_factory(config=config, threads=threads)
    attach_api(srv)
    return srv


def attach_api(srv):
    srv.api_addr = api_address(srv)
    srv.api = Api(*srv.api_addr)
    return srv


def new_api(srv, key: str | None = API_KEY) -> Api:
    return Api(srv.api_addr[0], srv.api_addr[1], key)


# --------------------------------------------------------------------------
# misc
# --------------------------------------------------------------------------

def free_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def reactor_of(connection_id: str) -> int:
    """The reactor index in a connection id's top byte."""
    return int(connection_id, 16) >> 56


def poll(fn, timeout: float, what: str = "a condition", interval: float = 0.02):
    """Call fn() until it returns something truthy, for at most T(timeout)."""
    deadline = time.monotonic() + T(timeout)
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {T(timeout):.1f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


@pytest.fixture
def backend():
    """A Backend (backend.py) on 127.0.0.1, stopped after the test."""
    from backend import Backend
    b = Backend().start()
    yield b
    b.stop()


# --------------------------------------------------------------------------
# a gateway in front of a backend, shared by a test module
# --------------------------------------------------------------------------

def serve_backend(make_config, tmpdir, *, api_for_backend: bool = False):
    """For a module-scoped fixture (`yield from`): a Backend started, then a
    Server (2 threads) with the config make_config(backend) and its API
    attached; yields (server, backend), then stops both (the server unless a
    test already checked it). With api_for_backend the backend gets the API's
    address and key (b.api) for its pushes."""
    from backend import Backend
    b = Backend().start()
    srv = Server(config=make_config(b), threads=2, tmpdir=tmpdir)
    try:
        attach_api(srv)
        if api_for_backend:
            b.api = (srv.api_addr[0], srv.api_addr[1], API_KEY)
        yield srv, b
    finally:
        if not srv.checked:
            srv.stop()
        b.stop()


def healthy_around(shared):
    """For a per-test fixture (`yield from`) over serve_backend's (server,
    backend): the backend's records cleared and the server checked healthy
    before the test, the server checked again after it."""
    srv, b = shared
    srv.assert_healthy()
    b.reset()
    yield srv, b
    time.sleep(0.02)
    srv.assert_healthy()


async def stream_search(c, query: str, limit: int, request_id: str) -> list:
    """Seed 002's stream_search from client c: sends it and returns the
    limit + 1 messages that follow (the results, then search_complete)."""
    await c.send({"type": "stream_search", "data": {"query": query, "limit": limit}, "request_id": request_id})
    return [await c.recv() for _ in range(limit + 1)]
