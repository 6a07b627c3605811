"""A real upstream service for the upstream/API integration tests.

A python http.server ThreadingHTTPServer speaking HTTP/1.1 with keep-alive
(one thread per TCP connection, many requests per connection), that plays the
application backend ringcast forwards client messages to:

- seed 004's interview bot (`/interview`): {"action":"message","message":M,
  "interview_id":I} -> {"message": bot_answer(M, I), "type": "response",
  "interview_id": I}; a missing interview_id or an unknown interview gets the
  seed's error shape {"message": "...", "type": "error"[, "interview_id": I]};
- seed 002's streamed RAG chat (`/chat`): answers 202 at once, then pushes
  chat_response_chunk messages and one chat_response_complete to the client's
  connection through the server API (POST /api/v1/connections/{id});
- seed 002's search stream (`/search`): one JSON array answer, search_result
  messages then search_complete;
- seed 002's uploads (`/upload`): answers upload_started, then publishes
  upload_progress messages and new_emails to a channel through the API;
- lifecycle hooks (`/connect`, `/disconnect`): recorded; a connect whose query
  contains "deny" is refused with 403;
- test modes: `/echo` (the request back), `/array/N`, `/empty` (200, no
  body), `/status/N` (that status), `/slow/MS` (sleeps, then echoes),
  `/garbage`, `/garbage/scalar`, `/garbage/truncated` (200 with a body that is
  not a JSON object or array), `/close` (reads the request, closes without an
  answer).

Every request is recorded (path, headers, body, which TCP connection it came
on) and counted; so are TCP connections and requests in flight per mode.

In tests:   b = Backend().start(); b.url("/interview"); ...; b.stop()
By hand:    /usr/bin/python3 backend.py --port 8700 [--api 127.0.0.1:9090 --key test-key]
            curl -s localhost:8700/interview -d '{"message":{"message":"Hi","interview_id":"i-1"}}'
            curl -s localhost:8700/stats
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# --------------------------------------------------------------------------
# canned content (deterministic, so the tests can compute what to expect)
# --------------------------------------------------------------------------

KNOWN_INTERVIEW_PREFIX_UNKNOWN = "unknown-"  # interview ids starting with this do not exist


def bot_answer(message, interview_id: str) -> str:
    """The interview bot's answer to `message` in interview `interview_id`."""
    text = message if isinstance(message, str) else json.dumps(message, sort_keys=True)
    if not text.strip():
        return f"[{interview_id}] I did not catch that. Could you say it again?"
    return f"[{interview_id}] Thank you. You said: {text!r}. Tell me about a project you are proud of."


def chat_answer(question: str) -> str:
    return f"Based on the project emails, here is what I found about: {question}. Three threads mention it."


def chat_chunks(question: str) -> list[str]:
    """The answer split into word chunks (each keeps its trailing space)."""
    words = chat_answer(question).split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


CHAT_SOURCES = [{"email_id": "email_1", "relevance": 0.92}, {"email_id": "email_7", "relevance": 0.81}]


def search_results(query: str, n: int) -> list[dict]:
    return [{"email_id": f"email_{100 + i}", "subject": f"Re: {query} ({i})", "score": round(0.95 - i * 0.05, 2)}
            for i in range(n)]


def now_ts() -> str:
    """ISO 8601 UTC with milliseconds, the way ringcast writes timestamps."""
    t = dt.datetime.now(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str            # as in the request line (with the query, if any)
    version: str         # "HTTP/1.1"
    headers: dict        # lower-cased name -> value (last one wins)
    raw_headers: list    # [(name, value)] as received
    body: bytes
    conn: int            # number of the TCP connection it came on (1, 2, ...)
    t: float = field(default_factory=time.monotonic)

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def mode(self) -> str:
        return mode_of(self.path)


@dataclass
class Push:
    """One call the backend made to the server API."""
    method: str
    path: str
    body: object     # what was sent (parsed)
    status: int | None  # None: the call failed (connection error)
    answer: bytes = b""


def mode_of(path: str) -> str:
    p = path.split("?", 1)[0].strip("/")
    return p.split("/", 1)[0]


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------

class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    backend: "Backend"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive unless the client says close
    timeout = 60                    # idle keep-alive connections are dropped after this

    def version_string(self):
        return "ringcast-test-backend/1.0"

    # -- connection bookkeeping -------------------------------------------
    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.b: Backend = self.server.backend
        self.conn_no = self.b._connection_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.b._connection_closed(self.connection)

    def log_message(self, fmt, *args):  # quiet
        if self.b.verbose:
            sys.stderr.write("backend: " + (fmt % args) + "\n")

    # -- I/O helpers -----------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _answer(self, status: int, body: bytes | None = b"", ctype: str = "application/json") -> None:
        self.send_response(status)
        if status not in (204, 304) and body is not None:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status not in (204, 304) and body:
            self.wfile.write(body)
        self.wfile.flush()

    def _json(self, obj, status: int = 200) -> None:
        self._answer(status, dumps(obj))

    # -- methods -----------------------------------------------------------
    def do_GET(self):
        if self.path.split("?", 1)[0] == "/stats":
            self._json(self.b.stats())
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self):
        body = self._read_body()
        req = Request(self.command, self.path, self.request_version,
                      {k.lower(): v for k, v in self.headers.items()}, list(self.headers.items()), body,
                      self.conn_no)
        mode = req.mode
        self.b._request_started(req)
        after = None
        try:
            after = self._dispatch(req, mode)
        finally:
            self.b._request_done(mode)
        if after is not None:  # work that starts once the answer is out (pushes through the API)
            self.b._spawn(after)

    def do_PUT(self):
        self._read_body()
        self._json({"error": "method not allowed"}, 405)

    do_DELETE = do_PATCH = do_PUT

    # -- modes -------------------------------------------------------------
    def _dispatch(self, req: Request, mode: str):
        parts = req.path.split("?", 1)[0].strip("/").split("/")
        if mode == "close":
            # read the request, then hang up without an answer
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        if mode == "garbage":
            kind = parts[1] if len(parts) > 1 else "text"
            if kind == "scalar":
                self._answer(200, b'"just a string"')
            elif kind == "truncated":
                self._answer(200, b'{"type":"response","message":')
            else:
                self._answer(200, b"<html><body>this is not json</body></html>", "text/html")
            return None
        if mode == "status":
            code = int(parts[1])
            if code in (202, 204):
                self._answer(code, b"")
            else:
                self._json({"error": f"status {code}"}, code)
            return None
        if mode == "empty":
            self._answer(200, b"")
            return None

        try:
            body = req.json
        except (ValueError, UnicodeDecodeError):
            self._json({"error": "the backend expects a JSON body"}, 400)
            return None
        msg = body.get("message") if isinstance(body, dict) else None

        if mode == "slow":
            time.sleep(int(parts[1]) / 1000.0)
            self._json(self._echo(body, msg))
            return None
        if mode == "echo":
            self._json(self._echo(body, msg))
            return None
        if mode == "array":
            n = int(parts[1]) if len(parts) > 1 else 3
            self._json([{"type": "item", "data": {"i": i}} for i in range(n)])
            return None
        if mode == "interview":
            self._json(self._interview(msg))
            return None
        if mode == "search":
            self._json(self._search(msg))
            return None
        if mode == "chat":
            self._answer(202, b"")
            return lambda: self.b._stream_chat(body)
        if mode == "upload":
            data = (msg or {}).get("data") or {}
            self._json({"type": "upload_started", "data": {"upload_id": data.get("upload_id")}})
            return lambda: self.b._stream_upload(body)
        if mode == "connect":
            if "deny" in str(body.get("query") or ""):
                self._json({"error": "denied by the backend"}, 403)
            else:
                self._json({"ok": True})
            return None
        if mode == "disconnect":
            self._json({"ok": True})
            return None
        self._json({"error": f"no mode {mode!r}"}, 404)
        return None

    @staticmethod
    def _echo(body, msg):
        """{"type":"upstream_echo","data":{"request": <the upstream request>}},
        or the message's own "reply" (top level or in data) when it has one."""
        if isinstance(msg, dict):
            if "reply" in msg:
                return msg["reply"]
            if isinstance(msg.get("data"), dict) and "reply" in msg["data"]:
                return msg["data"]["reply"]
        return {"type": "upstream_echo", "data": {"request": body}}

    @staticmethod
    def _interview(msg):
        if not isinstance(msg, dict):
            return {"message": "Invalid message format", "type": "error"}
        iid = msg.get("interview_id")
        if not isinstance(iid, str) or not iid:
            return {"message": "interview_id is required", "type": "error"}
        if iid.startswith(KNOWN_INTERVIEW_PREFIX_UNKNOWN):
            return {"message": "Interview not found", "type": "error", "interview_id": iid}
        return {"message": bot_answer(msg.get("message", ""), iid), "type": "response", "interview_id": iid}

    @staticmethod
    def _search(msg):
        data = (msg or {}).get("data") or {}
        q = data.get("query", "")
        n = int(data.get("limit", 3))
        # no request_id and no timestamp: ringcast adds both (envelope profile)
        out = [{"type": "search_result", "data": r} for r in search_results(q, n)]
        out.append({"type": "search_complete", "data": {"total_results": n, "processing_time_ms": 850}})
        return out


class Backend:
    """The backend, served on its own threads.  `api` = (host, port, key) of
    the ringcast server API it pushes to (set it once the server is up)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api=None, verbose: bool = False):
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.backend = self
        self.host, self.port = self.httpd.server_address[:2]
        self.api = api
        self.verbose = verbose
        self.cv = threading.Condition()
        self.requests: list[Request] = []
        self.pushes: list[Push] = []
        self.connections = 0           # TCP connections accepted, ever
        self.open_connections = 0      # now
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._socks: set = set()
        self._threads: list[threading.Thread] = []
        self._serve: threading.Thread | None = None

    # -- life --------------------------------------------------------------
    def start(self) -> "Backend":
        self._serve = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="backend", daemon=True)
        self._serve.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.drop_connections()
        for t in list(self._threads):
            t.join(10)
        if self._serve is not None:
            self._serve.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def drop_connections(self) -> int:
        """Close every open TCP connection from our side (what an upstream's
        idle timeout does to a keep-alive connection); returns how many."""
        with self.cv:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(socks)

    # -- records -----------------------------------------------------------
    def _connection_opened(self, sock) -> int:
        with self.cv:
            self.connections += 1
            self.open_connections += 1
            self._socks.add(sock)
            self.cv.notify_all()
            return self.connections

    def _connection_closed(self, sock) -> None:
        with self.cv:
            self.open_connections -= 1
            self._socks.discard(sock)
            self.cv.notify_all()

    def _request_started(self, req: Request) -> None:
        with self.cv:
            self.requests.append(req)
            n = self.in_flight.get(req.mode, 0) + 1
            self.in_flight[req.mode] = n
            self.max_in_flight[req.mode] = max(n, self.max_in_flight.get(req.mode, 0))
            self.cv.notify_all()

    def _request_done(self, mode: str) -> None:
        with self.cv:
            self.in_flight[mode] -= 1
            self.cv.notify_all()

    def _spawn(self, fn) -> None:
        t = threading.Thread(target=fn, daemon=True)
        with self.cv:
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def reset(self) -> None:
        """Forget requests, pushes and maxima (connections stay counted)."""
        with self.cv:
            self.requests.clear()
            self.pushes.clear()
            self.max_in_flight = dict(self.in_flight)

    def requests_to(self, mode: str) -> list[Request]:
        with self.cv:
            return [r for r in self.requests if r.mode == mode]

    def events(self, event: str | None = None) -> list[dict]:
        """Hook calls received (parsed bodies), of one event or all."""
        with self.cv:
            reqs = [r for r in self.requests if r.mode in ("connect", "disconnect")]
        out = [r.json for r in reqs]
        return [e for e in out if event is None or e.get("event") == event]

    def wait_for(self, pred, timeout: float, what: str = "a condition"):
        """Wait (at most `timeout` seconds, already scaled by the caller)
        until pred() is truthy; return its value or raise AssertionError."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"backend: timed out after {timeout:.1f}s waiting for {what}; "
                                         f"requests: {[(r.path, r.body[:120]) for r in self.requests][-10:]}; "
                                         f"pushes: {[(p.path, p.status) for p in self.pushes][-10:]}")
                self.cv.wait(min(left, 0.05))

    def stats(self) -> dict:
        with self.cv:
            by_mode: dict[str, int] = {}
            for r in self.requests:
                by_mode[r.mode] = by_mode.get(r.mode, 0) + 1
            return {"requests": len(self.requests), "connections": self.connections,
                    "open_connections": self.open_connections, "by_mode": by_mode,
                    "max_in_flight": dict(self.max_in_flight), "pushes": len(self.pushes)}

    # -- pushes through the server API -------------------------------------
    def _api_client(self):
        from apiutil import Api  # late: apiutil imports pytest helpers only when used from tests
        if self.api is None:
            raise RuntimeError("backend.api is not set: the server API address is unknown")
        host, port, key = self.api
        return Api(host, port, key)

    def _record_push(self, method: str, path: str, body, call) -> Push:
        try:
            r = call()
            p = Push(method, path, body, r.status, r.body)
        except OSError as e:
            p = Push(method, path, body, None, repr(e).encode())
        with self.cv:
            self.pushes.append(p)
            self.cv.notify_all()
        return p

    def send_to(self, api, connection_id: str, msg: dict) -> Push:
        """POST /api/v1/connections/{id} with msg as the body."""
        path = f"/api/v1/connections/{connection_id}"
        return self._record_push("POST", path, msg, lambda: api.post(path, msg))

    def publish(self, api, channel: str, type_: str, data, **extra) -> Push:
        body = {"channel": channel, "type": type_, "data": data, **extra}
        return self._record_push("POST", "/api/v1/publish", body, lambda: api.post("/api/v1/publish", body))

    def broadcast(self, api, channels: list, type_: str, data) -> Push:
        body = {"channels": channels, "type": type_, "data": data}
        return self._record_push("POST", "/api/v1/broadcast", body, lambda: api.post("/api/v1/broadcast", body))

    def pushes_to(self, path_part: str) -> list[Push]:
        with self.cv:
            return [p for p in self.pushes if path_part in p.path]

    def _stream_chat(self, body: dict) -> None:
        """Seed 002 RAG chat: chunks, then complete, each as one message to
        the requesting connection, with the request's request_id."""
        msg = body.get("message") or {}
        data = msg.get("data") or {}
        rid = body.get("request_id", msg.get("request_id"))
        conv = data.get("conversation_id")
        delay = float(data.get("delay_ms", 0)) / 1000.0
        api = self._api_client()
        try:
            for i, chunk in enumerate(chat_chunks(str(data.get("message", "")))):
                d = {"chunk": chunk, "index": i}
                if conv is not None:
                    d["conversation_id"] = conv
                p = self.send_to(api, body["connection_id"], {"type": "chat_response_chunk", "data": d,
                                                              "request_id": rid, "timestamp": now_ts()})
                if p.status == 410:  # the client is gone: stop streaming
                    return
                if delay:
                    time.sleep(delay)
            d = {"sources": CHAT_SOURCES}
            if conv is not None:
                d = {"conversation_id": conv, **d}
            self.send_to(api, body["connection_id"], {"type": "chat_response_complete", "data": d,
                                                      "request_id": rid, "timestamp": now_ts()})
        finally:
            api.close()

    def _stream_upload(self, body: dict) -> None:
        """Seed 002 upload: upload_progress steps, then new_emails, published
        to data.channel (default "uploads")."""
        msg = body.get("message") or {}
        data = msg.get("data") or {}
        upload_id = data.get("upload_id", "upload_123")
        total = int(data.get("total_emails", 10000))
        steps = int(data.get("steps", 3))
        channel = data.get("channel", "uploads")
        api = self._api_client()
        try:
            for k in range(1, steps + 1):
                self.publish(api, channel, "upload_progress", upload_progress(upload_id, k, steps, total))
            self.publish(api, channel, "new_emails", {"count": total, "upload_id": upload_id})
        finally:
            api.close()


def upload_progress(upload_id: str, k: int, steps: int, total: int) -> dict:
    return {"upload_id": upload_id, "status": "processing" if k < steps else "completed",
            "progress": round(100 * k / steps), "emails_processed": total * k // steps,
            "total_emails": total, "current_operation": "indexing_emails" if k < steps else "done"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api", help="HOST:PORT of the ringcast server API (for /chat and /upload)")
    ap.add_argument("--key", default="test-key")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    api = None
    if a.api:
        h, p = a.api.rsplit(":", 1)
        api = (h, int(p), a.key)
    b = Backend(a.host, a.port, api=api, verbose=a.verbose)
    print(f"backend listening on {b.host}:{b.port}", flush=True)
    try:
        b.httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
