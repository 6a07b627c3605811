"""Adversarial clients against the connection lifecycle: TCP resets at every
phase, half-closes, clients that stop reading (paused input) and then reset,
close or come back, a stop under load, connection churn (slot and memory
reuse), pipelined garbage and many tiny frames in one write.

Every scenario ends the same way (`finish`): a fresh client still echoes,
then the server gets SIGTERM with no client left and must exit 0, with no
sanitizer report, well before its (long) shutdown_timeout_ms. A connection
slot the server never released keeps a stopping reactor waiting for that
deadline, so a prompt exit also proves every connection was released; in the
ASan build LeakSanitizer checks at exit that nothing it held leaked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

import rawws
from conftest import T, run
from rawws import OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT

MIB = 1 << 20

# Long enough that waiting for it is unmistakable: a stop with no client left
# must be prompt, so a leaked (never released) slot shows up as a slow stop.
LONG_SHUTDOWN_MS = 15000


def config(*, max_output_bytes: int = 1048576, close_timeout_ms: int = 2000,
           shutdown_timeout_ms: int = LONG_SHUTDOWN_MS, idle_ping_ms: int = 30000,
           pong_timeout_ms: int = 10000, max_connections: int = 0, recv_buffers: int = 2048) -> str:
    return f"""
[server]
recv_buffers = {recv_buffers}
close_timeout_ms = {close_timeout_ms}
shutdown_timeout_ms = {shutdown_timeout_ms}
max_connections = {max_connections}

[[endpoint]]
path = "/echo"
protocol = "echo"
max_output_bytes = {max_output_bytes}
idle_ping_ms = {idle_ping_ms}
pong_timeout_ms = {pong_timeout_ms}

[[endpoint]]
path = "/ws/"
protocol = "json-echo"
"""


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def rst(sock_or_conn) -> None:
    """Close with SO_LINGER 0: the kernel sends a TCP RST instead of a FIN."""
    s = sock_or_conn.sock if isinstance(sock_or_conn, rawws.RawConn) else sock_or_conn
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def raw_socket(srv) -> socket.socket:
    s = socket.create_connection((srv.host, srv.port), timeout=T(10))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def upgrade_request(hostport: str, path: str = "/echo") -> bytes:
    return rawws.build_request("GET", path, rawws.upgrade_headers(hostport, rawws.new_key()))


_PATTERN = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(65536 + 256))


def pattern(n: int, seed: int = 0) -> bytes:
    """n bytes, different for each seed, that no shifted or zeroed copy of
    themselves matches."""
    off = seed % 256
    block = struct.pack("!I", seed) + _PATTERN[off:off + 65536 - 4]
    return (block * (n // len(block) + 1))[:n]


def big_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    # A zero mask key keeps the multi-MiB frames cheap to build; the server
    # still unmasks (XOR with 0) and still requires the mask bit.
    return rawws.build_frame(opcode, payload, fin=fin, mask_key=b"\0\0\0\0")


def echo_ok(srv, path: str = "/echo") -> None:
    """A fresh client completes an upgrade, two echoes and a clean close."""
    c = rawws.open_ws(srv.host, srv.port, path, timeout=T(10))
    with c:
        if path == "/ws/":
            c.read_message(T(10))
        for msg in ("still alive", "x" * 70000):
            c.send_text(msg)
            op, data = c.read_message(T(10))
            if path == "/echo":
                assert (op, data) == (OP_TEXT, msg.encode()), "echo after the adversarial client went wrong"
        c.send_close(1000)
        f = c.expect_close(T(10))
        assert f.close_code == 1000, f
        c.expect_eof(T(10))


def finish(srv) -> None:
    """The server still serves, then stops promptly and cleanly.

    Call with every client of the test closed: with nobody connected, a
    stopping server has nothing to wait for, so it must not sit out its
    shutdown_timeout_ms (LONG_SHUTDOWN_MS): if it does, a connection slot
    was never released."""
    srv.assert_healthy()
    echo_ok(srv, "/echo")
    echo_ok(srv, "/ws/")
    srv.assert_healthy()
    time.sleep(0.05)
    stop_promptly(srv, "no client is connected any more")


def stop_promptly(srv, situation: str) -> None:
    """SIGTERM; the server must exit 0, sanitizer-clean, long before its
    shutdown_timeout_ms, because in `situation` it holds no connection."""
    srv.checked = True
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    try:
        rc = srv.wait(LONG_SHUTDOWN_MS / 1000 + T(10))
    except subprocess.TimeoutExpired:
        srv.kill()
        raise AssertionError(f"ringcast still running long after SIGTERM; stderr:\n{srv.stderr}")
    elapsed = time.monotonic() - t0
    assert srv.sanitizer_report() is None, f"sanitizer report on stderr:\n{srv.stderr}"
    assert rc == 0, f"ringcast exited with {rc} after SIGTERM; stderr:\n{srv.stderr}"
    assert elapsed < T(2), (
        f"the stop took {elapsed:.1f}s (shutdown_timeout_ms={LONG_SHUTDOWN_MS}) although {situation}: "
        f"the server still held a connection it should have released")


def recv_exactly(sock: socket.socket, n: int, timeout: float, chunk: int = 1 << 20,
                 pause_every: int = 0, pause: float = 0.0) -> bytes:
    """Read n bytes (or until EOF/RST/timeout; then fewer)."""
    out = bytearray()
    deadline = time.monotonic() + timeout
    reads = 0
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            b = sock.recv(min(chunk, n - len(out)))
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            break
        if not b:
            break
        out += b
        reads += 1
        if pause_every and reads % pause_every == 0:
            time.sleep(pause)
    return bytes(out)


def server_frame_bytes(opcode: int, payload: bytes) -> bytes:
    """A frame exactly as the server writes it (unmasked, minimal length)."""
    return rawws.build_frame(opcode, payload, mask=False)


def wait_until(pred, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# --------------------------------------------------------------------------
# TCP RST at every phase
# --------------------------------------------------------------------------

def _rst_before_any_byte(srv):
    rst(raw_socket(srv))


def _rst_mid_request_head(srv):
    s = raw_socket(srv)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: " + srv.hostport.encode() + b"\r\nUpgrade: webs")
    time.sleep(0.1)  # the server has the partial head spilled
    rst(s)


def _rst_mid_request_head_large(srv):
    # a head that straddles receive buffers (spilled), just under the limit
    s = raw_socket(srv)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 7000 + b"\r\n")
    time.sleep(0.1)
    rst(s)


def _rst_right_after_head(srv):
    s = raw_socket(srv)
    s.sendall(upgrade_request(srv.hostport))
    rst(s)


def _rst_after_101(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    rst(c)


def _rst_after_101_json(srv):
    c = rawws.open_ws(srv.host, srv.port, "/ws/", timeout=T(10))
    rst(c)  # the greeting is unread


def _rst_mid_frame_header(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    frame = rawws.build_frame(OP_BINARY, b"z" * 70000)
    c.send(frame[:5])  # 64-bit length, only 3 of its 8 bytes
    time.sleep(0.1)
    rst(c)


def _rst_mid_control_frame(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    frame = rawws.build_frame(rawws.OP_PING, b"p" * 100)
    c.send(frame[:60])  # a control frame is held until whole
    time.sleep(0.1)
    rst(c)


def _rst_mid_large_payload(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    payload = pattern(8 * MIB)
    frame = big_frame(OP_BINARY, payload)
    c.send(frame[:4 * MIB])
    time.sleep(0.3)  # the server is assembling it
    rst(c)


def _rst_mid_fragmented_message(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    c.send(big_frame(OP_BINARY, pattern(MIB), fin=False))
    c.send(big_frame(OP_CONT, pattern(MIB, 1), fin=False))
    c.send(big_frame(OP_CONT, pattern(3 * MIB, 2), fin=True)[:MIB])
    time.sleep(0.3)
    rst(c)


def _rst_while_server_sends_large_echo(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    payload = pattern(8 * MIB)
    c.send(big_frame(OP_BINARY, payload))
    got = recv_exactly(c.sock, 200000, T(10))
    assert len(got) == 200000, "the echo did not start"
    rst(c)


def _rst_while_server_blocked_on_large_echo(srv):
    # never reads: the server's send is stuck on a full socket when the RST comes
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    c.send(big_frame(OP_BINARY, pattern(8 * MIB)))
    time.sleep(0.5)
    rst(c)


def _rst_right_after_close_frame(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    c.send_close(1000)
    rst(c)


def _rst_after_message_and_close_frame(srv):
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    c.send(rawws.build_frame(OP_TEXT, b"bye") + rawws.build_frame(OP_CLOSE, rawws.close_payload(1000)))
    time.sleep(0.05)
    rst(c)


def _rst_after_close_reply(srv):
    # the server has sent its close and shut down its side; it waits for our FIN
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    c.send_close(1000)
    assert c.expect_close(T(10)).close_code == 1000
    rst(c)


RST_PHASES = {
    "before-any-byte": _rst_before_any_byte,
    "mid-request-head": _rst_mid_request_head,
    "mid-spilled-request-head": _rst_mid_request_head_large,
    "right-after-head": _rst_right_after_head,
    "after-101": _rst_after_101,
    "after-101-json-greeting-unread": _rst_after_101_json,
    "mid-frame-header": _rst_mid_frame_header,
    "mid-control-frame": _rst_mid_control_frame,
    "mid-8MiB-payload": _rst_mid_large_payload,
    "mid-fragmented-message": _rst_mid_fragmented_message,
    "while-server-sends-8MiB-echo": _rst_while_server_sends_large_echo,
    "while-server-send-blocked": _rst_while_server_blocked_on_large_echo,
    "right-after-close-frame": _rst_right_after_close_frame,
    "after-message-and-close-frame": _rst_after_message_and_close_frame,
    "after-close-reply": _rst_after_close_reply,
}


@pytest.mark.parametrize("phase", list(RST_PHASES), ids=list(RST_PHASES))
def test_rst_at_every_phase(server_factory, phase):
    srv = server_factory(threads=2, config=config())
    # Several times, so that both reactors see it and slots get reused.
    for _ in range(3):
        RST_PHASES[phase](srv)
    time.sleep(0.1)
    finish(srv)


# --------------------------------------------------------------------------
# half-close (SHUT_WR): the client is done sending but still reads
# --------------------------------------------------------------------------

def _read_until_eof(c: rawws.RawConn, timeout: float) -> tuple[list, str]:
    """Frames until the server ends the TCP connection: (frames, how)."""
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            frames.append(c.read_frame(max(0.0, deadline - time.monotonic())))
        except rawws.PeerClosed:
            return frames, "closed"
        except TimeoutError:
            return frames, "timeout"


@pytest.mark.parametrize("size,count", [(5, 1), (200000, 1), (8192, 256)],
                         ids=["small", "200KB", "256x8KiB"])
def test_half_close_after_complete_messages(server_factory, size, count):
    # messages, FIN at once, and only then read: every echo must arrive
    srv = server_factory(threads=2, config=config())
    failures = []
    for i in range(10):
        c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
        with c:
            msgs = [pattern(size, i * 1000 + k) for k in range(count)]
            c.send(b"".join(rawws.build_frame(OP_BINARY, m) for m in msgs))
            c.sock.shutdown(socket.SHUT_WR)
            time.sleep(0.05)
            expect = b"".join(server_frame_bytes(OP_BINARY, m) for m in msgs)
            got = recv_exactly(c.sock, len(expect) + 1000, T(10))
            if not got.startswith(expect):
                common = next((k for k, (a, b) in enumerate(zip(got, expect)) if a != b), len(got))
                what = ("truncated" if common == len(got) else
                        f"CORRUPTED at byte {common}: got {got[common:common + 16].hex()}, "
                        f"expected {expect[common:common + 16].hex()}")
                failures.append(f"#{i}: got {len(got)} of {len(expect)} bytes, {what}")
            rest = got[len(expect):] if got.startswith(expect) else b""
            assert not rest or rest[0] == 0x88, f"#{i}: after the echoes: {rest[:32]!r}"
            assert c.is_open(T(5)) is False, f"#{i}: the server did not close after the client's FIN"
    assert not failures, "a half-closed client lost its echoes:\n" + "\n".join(failures)
    finish(srv)


def test_half_close_mid_message(server_factory):
    # one complete message, then half of another, then FIN: the first echo
    # still arrives; the server then closes (the second can never complete)
    srv = server_factory(threads=2, config=config())
    failures = []
    for i in range(10):
        c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
        with c:
            whole = f"complete {i}".encode()
            partial = rawws.build_frame(OP_TEXT, b"never finished " * 100)
            c.send(rawws.build_frame(OP_TEXT, whole) + partial[:len(partial) // 2])
            c.sock.shutdown(socket.SHUT_WR)
            frames, how = _read_until_eof(c, T(10))
            data = [f for f in frames if f.opcode != OP_CLOSE]
            if [(f.opcode, f.payload) for f in data] != [(OP_TEXT, whole)]:
                failures.append(f"#{i}: frames={frames}")
            assert how == "closed", f"the server did not close after the client's FIN: {frames}"
    assert not failures, "a half-closed client lost the echo of its complete message:\n" + "\n".join(failures)
    finish(srv)


def test_half_close_mid_large_message_is_dropped_cleanly(server_factory):
    # FIN while a multi-MiB message is being assembled
    srv = server_factory(threads=2, config=config())
    for i in range(3):
        c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
        with c:
            c.send(big_frame(OP_BINARY, pattern(6 * MIB, i))[:3 * MIB])
            c.sock.shutdown(socket.SHUT_WR)
            frames, how = _read_until_eof(c, T(10))
            assert how == "closed", frames
            assert all(f.opcode == OP_CLOSE for f in frames), frames
    finish(srv)


# --------------------------------------------------------------------------
# a client that stops reading: output above max_output_bytes pauses input
# --------------------------------------------------------------------------

PAUSE_OUT = 65536
BIG = 16 * MIB


def _send_big_and_wait_paused(c: rawws.RawConn, payload: bytes, extra: bytes = b"") -> None:
    c.send(big_frame(OP_BINARY, payload) + extra)
    # The whole message went in (the server reads while assembling); its echo
    # now sits in the server's queue, far above max_output_bytes: paused.
    time.sleep(0.5)


def test_paused_client_reads_everything_later(server_factory):
    srv = server_factory(threads=2, config=config(max_output_bytes=PAUSE_OUT))
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
    with c:
        payload = pattern(BIG)
        # three more messages queued behind the big one: the server reads them
        # only after resuming
        tail = b"".join(rawws.build_frame(OP_TEXT, f"after {i}".encode()) for i in range(3))
        _send_big_and_wait_paused(c, payload, tail)
        # slowly: 64 KiB reads with a nap every 16 of them
        expect = server_frame_bytes(OP_BINARY, payload)
        got = recv_exactly(c.sock, len(expect), T(30), chunk=65536, pause_every=16, pause=0.01)
        assert len(got) == len(expect), f"echo truncated: {len(got)} of {len(expect)} bytes"
        assert got == expect, "the 16 MiB echo came back corrupted"
        for i in range(3):
            assert c.read_message(T(10)) == (OP_TEXT, f"after {i}".encode())
        # reading resumed for good: a fresh round trip, big enough to pause again
        payload2 = pattern(2 * MIB, 5)
        c.send(big_frame(OP_BINARY, payload2))
        assert c.read_message(T(20)) == (OP_BINARY, payload2)
        c.send_close(1000)
        assert c.expect_close(T(10)).close_code == 1000
        c.expect_eof(T(10))
    finish(srv)


def test_paused_client_resets(server_factory):
    srv = server_factory(threads=2, config=config(max_output_bytes=PAUSE_OUT))
    for i in range(3):
        c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
        _send_big_and_wait_paused(c, pattern(BIG, i), rawws.build_frame(OP_TEXT, b"queued"))
        rst(c)
    time.sleep(0.2)
    finish(srv)


def test_paused_client_sends_close_then_reads(server_factory):
    srv = server_factory(threads=2, config=config(max_output_bytes=PAUSE_OUT))
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
    with c:
        payload = pattern(BIG, 3)
        _send_big_and_wait_paused(c, payload)
        c.send_close(4321)  # while paused: the server does not read it yet
        time.sleep(0.2)
        assert c.read_message(T(30)) == (OP_BINARY, payload), "echo lost or corrupted"
        f = c.expect_close(T(10))
        assert f.close_code == 4321, f
        c.expect_eof(T(10))
    finish(srv)


def test_paused_client_close_in_same_write_never_reads(server_factory):
    # 16 MiB + close frame in one write, and the client never reads: the
    # server answers the close but cannot deliver it; after close_timeout_ms it
    # must drop the connection (README: "closes the socket when the peer's FIN
    # arrives or close_timeout_ms passes").
    srv = server_factory(threads=2, config=config(max_output_bytes=PAUSE_OUT, close_timeout_ms=500))
    conns = []
    try:
        for i in range(2):
            c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
            c.send(big_frame(OP_BINARY, pattern(BIG, i)) + rawws.build_frame(OP_CLOSE, rawws.close_payload(1000)))
            conns.append(c)
        time.sleep(0.5 + T(0.75))  # well past close_timeout_ms
        # The clients are still connected (and still not reading): if the
        # server dropped them as it should, it has nothing left to wait for.
        srv.assert_healthy()
        echo_ok(srv)
        stop_promptly(srv, f"the only clients left had their close time out {T(0.75):.1f}s before "
                           f"(the in-flight send to a peer that does not read was never aborted?)")
    finally:
        for c in conns:
            c.close()


def test_paused_client_close_timeout_then_reads(server_factory):
    # Same as above, but the client starts reading after the close timeout.
    # Whatever arrives must be a prefix of the true echo: never other bytes.
    # One reactor, so that the other client below reuses the same allocator.
    srv = server_factory(threads=1, config=config(max_output_bytes=PAUSE_OUT, close_timeout_ms=500))
    payload = pattern(BIG, 9)
    expect = server_frame_bytes(OP_BINARY, payload) + server_frame_bytes(OP_CLOSE, rawws.close_payload(1000))
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
    other = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
    with c, other:
        c.send(big_frame(OP_BINARY, payload) + rawws.build_frame(OP_CLOSE, rawws.close_payload(1000)))
        time.sleep(0.5 + T(0.75))
        # Another client's 16 MiB echo now sits in the server's output memory,
        # likely where the timed-out connection's echo was.
        secret = b"OTHER-CLIENT-DATA" * (BIG // 17)
        other.send(big_frame(OP_BINARY, secret))
        time.sleep(0.5)
        got = recv_exactly(c.sock, len(expect), T(20))
        if not expect.startswith(got):
            at = next(i for i, (a, b) in enumerate(zip(got, expect)) if a != b)
            raise AssertionError(
                f"after its close timed out, the connection delivered bytes that are not its echo: first "
                f"difference at byte {at} of {len(got)} (of {len(expect)} expected): got {got[at:at + 16].hex()}, "
                f"expected {expect[at:at + 16].hex()}; another client's data in it: {b'OTHER-CLIENT' in got}. "
                f"The kernel sent output memory the server had already freed or reused")
        assert other.read_message(T(30)) == (OP_BINARY, secret)
    finish(srv)


@pytest.mark.parametrize("half_close", [False, True], ids=["silent", "half-closed"])
def test_paused_client_never_reads_server_closes_on_ping_timeout(server_factory, half_close):
    # The server starts the close (ping timeout) while the peer reads nothing
    # (and, half-closed, has sent its FIN, which the paused server has not
    # read yet): after pong_timeout_ms + close_timeout_ms the connection must
    # be gone.
    srv = server_factory(threads=2, config=config(max_output_bytes=PAUSE_OUT, close_timeout_ms=300,
                                                  idle_ping_ms=300, pong_timeout_ms=300))
    conns = []
    try:
        for i in range(2):
            c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
            c.send(big_frame(OP_BINARY, pattern(BIG, i)))
            if half_close:
                time.sleep(0.1)
                c.sock.shutdown(socket.SHUT_WR)
            conns.append(c)
        time.sleep(0.9 + T(1))
        stop_promptly(srv, "the only clients left had been closed for ping timeout and their close had "
                           "timed out (the in-flight send to a peer that does not read was never aborted?)")
    finally:
        for c in conns:
            c.close()


def _send_until_stalled(sock: socket.socket, wire: bytes, stall: float = 0.2) -> int:
    """Sends as much of wire as the peer takes, until nothing moves for
    `stall` seconds (the server paused reading and every buffer is full)."""
    sock.setblocking(False)
    sent = 0
    last = time.monotonic()
    try:
        while sent < len(wire) and time.monotonic() - last < stall:
            try:
                sent += sock.send(wire[sent:sent + 65536])
                last = time.monotonic()
            except BlockingIOError:
                time.sleep(0.005)
    finally:
        sock.setblocking(True)
    return sent


def _check_stream_prefix(got: bytes, frames: list[bytes], tail: bytes) -> None:
    """got must be a prefix of frames[0] + ... + frames[k-1] + tail for some
    k (the server sends the echoes of what it read, then tail, in order)."""
    data = b"".join(frames)
    common = next((i for i, (a, b) in enumerate(zip(got, data)) if a != b), min(len(got), len(data)))
    if common == len(got):
        return
    end = 0
    for f in frames:  # the last frame boundary within the common prefix
        if end + len(f) > common:
            break
        end += len(f)
    if tail.startswith(got[end:]):
        return
    at = common if got[end:end + 1] == data[end:end + 1] else end
    raise AssertionError(
        f"the server sent bytes that are not its output: first bad byte at {at} of {len(got)}: got "
        f"{got[at:at + 16].hex()}, expected {data[at:at + 16].hex()} (or the close {tail.hex()} after "
        f"byte {end})")


def test_close_timeout_never_sends_recycled_output(server_factory):
    # A paused client (many 8 KiB echoes queued, each in a pooled output
    # chunk; a sendmsg in flight) half-closes and reads nothing; the server
    # closes it on ping timeout, then drops it on close timeout. When the
    # client finally reads, every byte must still be the server's real output:
    # never a freed or recycled output buffer.
    srv = server_factory(threads=1, config=config(max_output_bytes=PAUSE_OUT, close_timeout_ms=300,
                                                  idle_ping_ms=1000, pong_timeout_ms=300))
    msgs = [pattern(8192, i) for i in range(2048)]  # 16 MiB: far more than the buffers hold
    wire = b"".join(rawws.build_frame(OP_BINARY, m) for m in msgs)
    echoes = [server_frame_bytes(OP_BINARY, m) for m in msgs]
    tail = server_frame_bytes(rawws.OP_PING, b"") + server_frame_bytes(OP_CLOSE, rawws.close_payload(1001, "ping timeout"))
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
    with c:
        sent = _send_until_stalled(c.sock, wire)
        assert sent < len(wire), "the server never paused reading"
        c.sock.shutdown(socket.SHUT_WR)
        time.sleep(1.6 + T(0.75))  # ping, pong timeout, close timeout, and then some
        got = recv_exactly(c.sock, len(wire) + 1000, T(10))
        _check_stream_prefix(got, echoes, tail)
    finish(srv)


# --------------------------------------------------------------------------
# a full reactor: 503s, resets and the spare slots
# --------------------------------------------------------------------------

def test_full_reactor_with_resetting_clients(server_factory):
    srv = server_factory(threads=1, config=config(max_connections=4, close_timeout_ms=300))
    held = [rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10)) for _ in range(4)]
    rejected = 0
    try:
        for i in range(40):
            s = raw_socket(srv)
            kind = i % 3
            if kind == 0:
                rst(s)
            elif kind == 1:
                s.sendall(upgrade_request(srv.hostport))
                rst(s)
            else:
                s.sendall(upgrade_request(srv.hostport))
                s.settimeout(T(10))
                try:
                    head = s.recv(4096)
                except (ConnectionResetError, socket.timeout):
                    head = b""
                assert head == b"" or head.startswith(b"HTTP/1.1 503"), head
                rejected += head.startswith(b"HTTP/1.1 503")
                rst(s)
        assert rejected, "no client beyond max_connections was answered 503"
        for c in held:  # the served ones were not disturbed
            c.send_text("held")
            assert c.read_message(T(10)) == (OP_TEXT, b"held")
    finally:
        for c in held:
            c.close()
    # room again once they are gone
    assert wait_until(lambda: _upgrade_status(srv) == 101, T(5)), "no room after the held clients left"
    finish(srv)


def _upgrade_status(srv) -> int | None:
    try:
        with rawws.RawConn(srv.host, srv.port, T(5)) as c:
            c.send(upgrade_request(srv.hostport))
            return c.read_http_response(T(5)).status
    except (rawws.PeerClosed, OSError, TimeoutError):
        return None


# --------------------------------------------------------------------------
# SIGTERM under load
# --------------------------------------------------------------------------

def test_sigterm_with_100_busy_clients(server_factory):
    shutdown_ms = 3000
    srv = server_factory(threads=2, config=config(shutdown_timeout_ms=shutdown_ms))
    n = 100
    msg = os.urandom(65536)
    stop_sent = threading.Event()
    echoed = [0] * n

    async def client(i):
        ws = await websockets.connect(srv.url("/echo"), ping_interval=None, open_timeout=T(20),
                                      close_timeout=T(10), max_size=None)
        try:
            while True:
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), T(20))
                assert got == msg, f"client {i}: wrong echo"
                echoed[i] += 1
        except ConnectionClosed as e:
            return echoed[i], (e.rcvd.code if e.rcvd is not None else None), stop_sent.is_set()

    async def main():
        loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(client(i)) for i in range(n)]
        # every client in full swing: a few echoes each
        deadline = time.monotonic() + T(20)
        while min(echoed) < 3 and time.monotonic() < deadline and not any(t.done() for t in tasks):
            await asyncio.sleep(0.02)
        t0 = time.monotonic()
        stop_sent.set()
        srv.signal(signal.SIGTERM)
        results = await asyncio.gather(*tasks)

        def wait():
            try:
                return srv.wait(shutdown_ms / 1000 + T(5))
            except subprocess.TimeoutExpired:
                srv.kill()
                raise AssertionError(f"not exited {shutdown_ms / 1000 + T(5):.1f}s after SIGTERM:\n{srv.stderr}")
        rc = await loop.run_in_executor(None, wait)
        return results, rc, time.monotonic() - t0

    srv.checked = True
    results, rc, elapsed = run(main(), 120)
    assert srv.sanitizer_report() is None, srv.stderr
    assert rc == 0, f"exit {rc}; stderr:\n{srv.stderr}"
    assert elapsed < shutdown_ms / 1000 + T(2), f"took {elapsed:.1f}s"
    early = [i for i, (_, _, after) in enumerate(results) if not after]
    assert not early, f"clients {early} were closed before the stop"
    codes = sorted({code for (_, code, _) in results}, key=str)
    assert all(code == 1001 for (_, code, _) in results), f"close codes seen: {codes}"
    assert all(echoed > 0 for (echoed, _, _) in results), "some clients never got an echo"


# --------------------------------------------------------------------------
# churn: slots and memory are reused, not leaked
# --------------------------------------------------------------------------

def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _churn(srv, cycles: int, threads: int) -> list[str]:
    errors: list[str] = []
    counter = iter(range(cycles))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
                msg = b"churn %d " % i + b"." * (i % 300)
                c.send_frame(OP_BINARY, msg)
                op, data = c.read_message(T(10))
                assert (op, data) == (OP_BINARY, msg), "wrong echo"
                kind = i % 4
                if kind == 0:
                    c.send_close(1000)
                    c.expect_close(T(10))
                    c.expect_eof(T(10))
                    c.close()
                elif kind == 1:
                    rst(c)
                elif kind == 2:
                    c.send_close(1000)
                    rst(c)
                else:
                    c.close()  # FIN, no close frame
            except Exception as e:  # noqa: BLE001 - collected and reported
                with lock:
                    errors.append(f"cycle {i}: {type(e).__name__}: {e}")
                    if len(errors) > 20:
                        return

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def test_connection_churn_does_not_grow_memory(server_factory):
    # Few receive buffers: the warm-up touches every one of them (the ring
    # hands them out in turn), so the rounds measure steady state only.
    srv = server_factory(threads=2, config=config(recv_buffers=256))
    pid = srv.proc.pid
    warm, rnd = 1000, 2000
    assert not _churn(srv, warm, 4)
    time.sleep(0.3)
    r0 = vm_rss_kib(pid)
    errs = _churn(srv, rnd, 4)
    assert not errs, "\n".join(errs)
    time.sleep(0.3)
    r1 = vm_rss_kib(pid)
    errs = _churn(srv, rnd, 4)
    assert not errs, "\n".join(errs)
    time.sleep(0.3)
    r2 = vm_rss_kib(pid)
    g1, g2 = r1 - r0, r2 - r1
    assert g2 < 0.2 * max(g1, 0) + 2048, (
        f"RSS keeps growing with connection churn: {r0} -> {r1} -> {r2} KiB "
        f"(round 1 +{g1} KiB, round 2 +{g2} KiB, {rnd} connections each)")
    finish(srv)


# --------------------------------------------------------------------------
# pipelined garbage
# --------------------------------------------------------------------------

VIOLATIONS = {
    "unmasked": (rawws.build_frame(OP_TEXT, b"hi", mask=False), 1002),
    "reserved-opcode": (rawws.build_frame(0x3, b"hi"), 1002),
    "rsv1": (rawws.build_frame(OP_TEXT, b"hi", rsv=rawws.RSV1), 1002),
    "bad-utf8": (rawws.build_frame(OP_TEXT, b"\xff\xfe"), 1007),
    "too-big": (rawws.build_frame(OP_BINARY, b"", mask=True)[:1] + b"\xff" + struct.pack("!Q", 17 * MIB)
                + b"\0\0\0\0", 1009),
    "continuation-first": (rawws.build_frame(OP_CONT, b"hi"), 1002),
    "fragmented-ping": (rawws.build_frame(rawws.OP_PING, b"hi", fin=False), 1002),
}


@pytest.mark.parametrize("name", list(VIOLATIONS), ids=list(VIOLATIONS))
def test_upgrade_pipelined_with_protocol_violation(server_factory, name):
    srv = server_factory(threads=2, config=config())
    bad, code = VIOLATIONS[name]
    for trailer in (b"", b"\x81\x85garbage after the bad frame" * 50):
        c = rawws.RawConn(srv.host, srv.port, T(10))
        with c:
            # upgrade + a good message + the violation (+ more junk), one write
            c.handshake("/echo", trailing=rawws.build_frame(OP_TEXT, b"first") + bad + trailer)
            assert c.read_message(T(10)) == (OP_TEXT, b"first")
            f = c.expect_close(T(10))
            assert f.close_code == code, f
            c.send_close(code if code != 1009 else 1000)
            c.expect_eof(T(10))
    # and a client that resets instead of answering the close
    for _ in range(3):
        s = raw_socket(srv)
        s.sendall(upgrade_request(srv.hostport) + bad + b"\x00" * 1000)
        rst(s)
    time.sleep(0.1)
    finish(srv)


def test_healthz_keepalive_then_partial_request_then_rst(server_factory):
    srv = server_factory(threads=2, config=config())
    for same_write in (True, False):
        for _ in range(3):
            c = rawws.RawConn(srv.host, srv.port, T(10))
            health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            partial = b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-K"
            if same_write:
                c.send(health + partial)
                assert c.read_http_response(T(10)).status == 200
            else:
                c.send(health)
                assert c.read_http_response(T(10)).status == 200
                c.send(partial)
            time.sleep(0.05)
            rst(c)
    # keep-alive /healthz, then a whole upgrade on the same connection, then RST mid-frame
    c = rawws.RawConn(srv.host, srv.port, T(10))
    c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.read_http_response(T(10)).status == 200
    c.handshake("/echo")
    c.send(rawws.build_frame(OP_BINARY, b"q" * 1000)[:500])
    time.sleep(0.05)
    rst(c)
    time.sleep(0.1)
    finish(srv)


# --------------------------------------------------------------------------
# many tiny frames in one write
# --------------------------------------------------------------------------

def test_ten_thousand_tiny_messages_in_one_write(server_factory):
    srv = server_factory(threads=2, config=config())
    n = 10000
    c = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(30))
    with c:
        letters = [bytes([0x61 + i % 26]) for i in range(n)]
        c.send(b"".join(rawws.build_frame(OP_TEXT, letters[i]) for i in range(n)))
        for i in range(n):
            op, data = c.read_message(T(20))
            assert (op, data) == (OP_TEXT, letters[i]), f"message {i}: got {(op, data)!r}"
        c.send_close(1000)
        assert c.expect_close(T(10)).close_code == 1000
        c.expect_eof(T(10))
    finish(srv)
