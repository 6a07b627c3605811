"""Tiny raw WebSocket / HTTP client for protocol-level tests.

Builds client frames byte by byte (masked unless told otherwise, any RSV bits,
any opcode, any length), reads server frames strictly (a masked server frame is
a test failure) and parses HTTP responses.  Everything is blocking with
explicit deadlines so that no test can hang.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import select
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

RSV1 = 0x40
RSV2 = 0x20
RSV3 = 0x10

SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class PeerClosed(AssertionError):
    """The server closed (FIN or RST) while more bytes were expected."""


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


# --------------------------------------------------------------------------
# frames
# --------------------------------------------------------------------------

def build_frame(opcode: int, payload: bytes | str = b"", *, fin: bool = True,
                rsv: int = 0, mask: bool = True, mask_key: bytes | None = None) -> bytes:
    """One client frame.  `rsv` is OR-ed into the first byte (use RSV1..3)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | (rsv & 0x70) | (opcode & 0x0F)
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    if mask_key is None:
        mask_key = os.urandom(4)
    return head + mask_key + apply_mask(payload, mask_key)


def apply_mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def close_payload(code: int | None = None, reason: bytes | str = b"") -> bytes:
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes
    masked: bool = False

    @property
    def close_code(self) -> int | None:
        assert self.opcode == OP_CLOSE, f"not a close frame: {self}"
        if len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    @property
    def close_reason(self) -> bytes:
        assert self.opcode == OP_CLOSE
        return self.payload[2:]

    def __repr__(self) -> str:  # keep failure messages readable for big payloads
        p = self.payload if len(self.payload) <= 64 else self.payload[:64] + b"..."
        return (f"Frame(fin={self.fin}, rsv={self.rsv:#x}, opcode={self.opcode:#x}, "
                f"len={len(self.payload)}, payload={p!r})")


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

@dataclass
class HttpResponse:
    version: str
    status: int
    reason: str
    headers: list = field(default_factory=list)  # [(name, value)] in order
    body: bytes = b""
    raw_head: bytes = b""

    def header(self, name: str) -> str | None:
        vals = [v for (k, v) in self.headers if k.lower() == name.lower()]
        if not vals:
            return None
        return ", ".join(vals)

    def header_tokens(self, name: str) -> list[str]:
        v = self.header(name)
        if v is None:
            return []
        return [t.strip().lower() for t in v.split(",") if t.strip()]

    def __repr__(self) -> str:
        return f"HttpResponse({self.raw_head!r} body={self.body[:200]!r})"


def build_request(method: str = "GET", path: str = "/echo", headers=(), *,
                  version: str = "HTTP/1.1", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} {version}"]
    for k, v in headers:
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def upgrade_headers(host: str, key: str = SAMPLE_KEY, *, extra=()) -> list:
    h = [("Host", host),
         ("Upgrade", "websocket"),
         ("Connection", "Upgrade"),
         ("Sec-WebSocket-Key", key),
         ("Sec-WebSocket-Version", "13")]
    h.extend(extra)
    return h


def without(headers, name: str) -> list:
    return [(k, v) for (k, v) in headers if k.lower() != name.lower()]


def replace(headers, name: str, value: str) -> list:
    return [(k, value if k.lower() == name.lower() else v) for (k, v) in headers]


# --------------------------------------------------------------------------
# connection
# --------------------------------------------------------------------------

class RawConn:
    def __init__(self, host: str, port: int, timeout: float = 10.0, *, rcvbuf: int | None = None):
        """`rcvbuf`: SO_RCVBUF, set before connecting so that the TCP window
        stays that small (a reader that cannot absorb a flood)."""
        self.host = host
        self.port = port
        self.timeout = timeout
        if rcvbuf is None:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                self.sock.settimeout(timeout)
                self.sock.connect((host, port))
            except BaseException:
                self.sock.close()
                raise
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.inflater = None  # set when permessage-deflate was negotiated

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    # -- plumbing ---------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        """Read at least one more byte into self.buf or raise."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for data; buffered={bytes(self.buf[:200])!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError) as e:
                raise PeerClosed(f"connection reset while expecting data: {e}; "
                                 f"buffered={bytes(self.buf[:200])!r}") from e
            if not chunk:
                raise PeerClosed(f"EOF while expecting data; buffered={bytes(self.buf[:200])!r}")
            self.buf += chunk
            return

    def _need(self, n: int, deadline: float) -> None:
        while len(self.buf) < n:
            self._fill(deadline)

    def _take(self, n: int) -> bytes:
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    # -- HTTP ---------------------------------------------------------------
    def read_http_response(self, timeout: float | None = None, *, head_only: bool = False) -> HttpResponse:
        deadline = self._deadline(timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        end = self.buf.index(b"\r\n\r\n") + 4
        raw = self._take(end)
        lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert len(parts) >= 2 and parts[0].startswith("HTTP/"), f"bad status line {lines[0]!r}"
        resp = HttpResponse(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", raw_head=raw)
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            assert sep, f"bad header line {line!r} in {raw!r}"
            resp.headers.append((k.strip(), v.strip()))
        if head_only or resp.status == 101 or resp.status in (204, 304) or 100 <= resp.status < 200:
            return resp
        cl = resp.header("Content-Length")
        te = resp.header("Transfer-Encoding")
        if te is not None and "chunked" in te.lower():
            resp.body = self._read_chunked(deadline)
        elif cl is not None:
            n = int(cl)
            self._need(n, deadline)
            resp.body = self._take(n)
        else:
            # body delimited by close
            try:
                while True:
                    self._fill(deadline)
            except PeerClosed:
                pass
            resp.body = self._take(len(self.buf))
        return resp

    def _read_chunked(self, deadline: float) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill(deadline)
            i = self.buf.index(b"\r\n")
            size = int(self._take(i + 2)[:-2].split(b";")[0], 16)
            self._need(size + 2, deadline)
            body += self._take(size)
            self._take(2)
            if size == 0:
                return body

    def handshake(self, path: str = "/echo", headers=None, *, extra=(), key: str | None = None,
                  timeout: float | None = None, trailing: bytes = b"") -> HttpResponse:
        """Send an upgrade request (plus optional trailing bytes in the same
        write) and assert a correct 101."""
        key = key or new_key()
        if headers is None:
            headers = upgrade_headers(self.hostport, key, extra=extra)
        self.send(build_request("GET", path, headers) + trailing)
        resp = self.read_http_response(timeout)
        assert resp.status == 101, f"expected 101, got {resp!r}"
        assert "websocket" in resp.header_tokens("Upgrade"), resp
        assert "upgrade" in resp.header_tokens("Connection"), resp
        assert resp.header("Sec-WebSocket-Accept") == accept_for(key), resp
        exts = resp.header("Sec-WebSocket-Extensions")
        if exts and "permessage-deflate" in exts.lower():
            self.inflater = zlib.decompressobj(-15)
        return resp

    # -- frames -------------------------------------------------------------
    def send_frame(self, opcode: int, payload: bytes | str = b"", **kw) -> None:
        self.send(build_frame(opcode, payload, **kw))

    def send_text(self, text: str, **kw) -> None:
        self.send_frame(OP_TEXT, text.encode("utf-8"), **kw)

    def send_close(self, code: int | None = 1000, reason: bytes | str = b"") -> None:
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    def read_frame(self, timeout: float | None = None) -> Frame:
        deadline = self._deadline(timeout)
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        hlen = 2
        if n == 126:
            hlen = 4
            self._need(hlen, deadline)
            n = struct.unpack("!H", self.buf[2:4])[0]
        elif n == 127:
            hlen = 10
            self._need(hlen, deadline)
            n = struct.unpack("!Q", self.buf[2:10])[0]
        masked = bool(b1 & 0x80)
        if masked:
            hlen += 4
        self._need(hlen + n, deadline)
        head = self._take(hlen)
        payload = self._take(n)
        if masked:
            payload = apply_mask(payload, head[-4:])
        f = Frame(bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, payload, masked)
        assert not masked, f"server sent a masked frame: {f}"
        if f.opcode >= 0x8:
            assert f.fin, f"server sent a fragmented control frame: {f}"
            assert len(f.payload) <= 125, f"server sent an oversized control frame: {f}"
        return f

    def read_message(self, timeout: float | None = None, *, allow_control=(OP_PONG,)):
        """Read one whole data message, returning (opcode, payload).  Control
        frames of the kinds in `allow_control` are skipped; anything else
        (e.g. a close) fails the test."""
        deadline = self._deadline(timeout)
        first = None
        parts = []
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode >= 0x8:
                assert f.opcode in allow_control, f"unexpected control frame while reading a message: {f}"
                continue
            if first is None:
                assert f.opcode in (OP_TEXT, OP_BINARY), f"message starts with {f}"
                first = f
            else:
                assert f.opcode == OP_CONT, f"expected continuation, got {f}"
            parts.append(f.payload)
            if f.fin:
                break
        data = b"".join(parts)
        if first.rsv & RSV1:
            assert self.inflater is not None, f"RSV1 set without permessage-deflate: {first}"
            if self.inflater.eof:
                self.inflater = zlib.decompressobj(-15)
            data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
        else:
            assert first.rsv == 0, f"RSV bits set: {first}"
        if first.opcode == OP_TEXT:
            data.decode("utf-8")  # a server must never send invalid UTF-8
        return first.opcode, data

    def read_json(self, timeout: float | None = None):
        """Read one whole text message and parse it as JSON."""
        op, data = self.read_message(timeout)
        assert op == OP_TEXT, (op, data[:100])
        return json.loads(data)

    def expect_close(self, timeout: float | None = None, *, allow_data: bool = False) -> Frame:
        """Read frames until a close frame; returns it.  By default nothing but
        pings/pongs may come first."""
        deadline = self._deadline(timeout)
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_CLOSE:
                return f
            if f.opcode in (OP_PING, OP_PONG):
                continue
            assert allow_data, f"expected a close frame, got {f}"

    def expect_eof(self, timeout: float | None = None) -> bytes:
        """Wait until the server closes the TCP connection (FIN or RST).
        Returns any bytes received on the way (normally b"")."""
        deadline = self._deadline(timeout)
        extra = bytes(self.buf)
        self.buf.clear()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not close the TCP connection in time; got {extra[:200]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return extra
            if not chunk:
                return extra
            extra += chunk

    def is_open(self, wait: float = 0.0) -> bool:
        """True if no EOF/RST is pending (data may be pending)."""
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            return True
        try:
            chunk = self.sock.recv(65536, socket.MSG_PEEK)
        except (ConnectionResetError, BrokenPipeError):
            return False
        return bool(chunk)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_ws(host: str, port: int, path: str = "/echo", timeout: float = 10.0, *, rcvbuf: int | None = None,
            **kw) -> RawConn:
    c = RawConn(host, port, timeout, rcvbuf=rcvbuf)
    try:
        c.handshake(path, **kw)
    except BaseException:
        c.close()
        raise
    return c
