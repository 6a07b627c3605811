"""RFC 6455 violations from a raw client: the server answers each with the
exact close code, then closes TCP; valid control-frame handling; message
size limit; idle ping/pong timeout; isolation between connections."""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets

from conftest import T, run
from rawws import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RSV1, RSV2, RSV3,
                   PeerClosed, build_frame as F, close_payload, open_ws)


def ws(server, path="/echo"):
    return open_ws(server.host, server.port, path, timeout=T(5))


def expect_fail(conn, code: int, *, allow_data: bool = False):
    f = conn.expect_close(T(5), allow_data=allow_data)
    assert f.close_code == code, f"expected close {code}, got {f.close_code} reason={f.close_reason!r}"
    f.close_reason.decode("utf-8")  # the reason must itself be valid UTF-8
    conn.expect_eof(T(5))


def frames_until_eof(conn, timeout: float):
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            frames.append(conn.read_frame(max(0.01, deadline - time.monotonic())))
        except PeerClosed:
            return frames


# --------------------------------------------------------------------------
# violations -> exact close code
# --------------------------------------------------------------------------

VIOLATIONS = {
    # masking
    "unmasked_text": (F(OP_TEXT, b"hi", mask=False), 1002),
    "unmasked_binary": (F(OP_BINARY, b"\x00", mask=False), 1002),
    "unmasked_ping": (F(OP_PING, b"p", mask=False), 1002),
    "unmasked_empty_text": (F(OP_TEXT, b"", mask=False), 1002),
    # reserved bits (no extension negotiated)
    "rsv1_text": (F(OP_TEXT, b"hi", rsv=RSV1), 1002),
    "rsv2_text": (F(OP_TEXT, b"hi", rsv=RSV2), 1002),
    "rsv3_text": (F(OP_TEXT, b"hi", rsv=RSV3), 1002),
    "rsv_all_binary": (F(OP_BINARY, b"hi", rsv=RSV1 | RSV2 | RSV3), 1002),
    "rsv1_ping": (F(OP_PING, b"p", rsv=RSV1), 1002),
    "rsv2_continuation": (F(OP_TEXT, b"a", fin=False) + F(OP_CONT, b"b", rsv=RSV2), 1002),
    # reserved opcodes
    **{f"opcode_{op:#x}": (F(op, b"x"), 1002) for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)},
    "opcode_0xb_empty": (F(0xB, b""), 1002),
    # control frames
    "ping_126_bytes": (F(OP_PING, b"p" * 126), 1002),
    "pong_126_bytes": (F(OP_PONG, b"p" * 126), 1002),
    "close_126_bytes": (F(OP_CLOSE, close_payload(1000, b"r" * 124)), 1002),
    "ping_fragmented": (F(OP_PING, b"p", fin=False), 1002),
    "close_fragmented": (F(OP_CLOSE, close_payload(1000), fin=False), 1002),
    "ping_fragmented_inside_message": (F(OP_TEXT, b"a", fin=False) + F(OP_PING, b"p", fin=False), 1002),
    # fragmentation
    "continuation_without_start": (F(OP_CONT, b"x"), 1002),
    "continuation_without_start_nonfinal": (F(OP_CONT, b"x", fin=False), 1002),
    "continuation_after_finished_message": (F(OP_TEXT, b"a") + F(OP_CONT, b"b"), 1002),
    "text_inside_fragmented_text": (F(OP_TEXT, b"a", fin=False) + F(OP_TEXT, b"b"), 1002),
    "binary_inside_fragmented_text": (F(OP_TEXT, b"a", fin=False) + F(OP_BINARY, b"b"), 1002),
    "text_inside_fragmented_binary": (F(OP_BINARY, b"a", fin=False) + F(OP_TEXT, b"b", fin=False), 1002),
    # UTF-8 in text messages
    "utf8_ff": (F(OP_TEXT, b"\xff"), 1007),
    "utf8_lone_continuation": (F(OP_TEXT, b"abc\x80"), 1007),
    "utf8_overlong_slash": (F(OP_TEXT, b"\xc0\xaf"), 1007),
    "utf8_overlong_3byte": (F(OP_TEXT, b"\xe0\x80\xaf"), 1007),
    "utf8_surrogate": (F(OP_TEXT, b"\xed\xa0\x80"), 1007),
    "utf8_above_10ffff": (F(OP_TEXT, b"\xf4\x90\x80\x80"), 1007),
    "utf8_5_byte_form": (F(OP_TEXT, b"\xf8\x88\x80\x80\x80"), 1007),
    "utf8_truncated_at_end": (F(OP_TEXT, b"hello \xe2\x82"), 1007),
    "utf8_split_invalid": (F(OP_TEXT, b"\xe2\x82", fin=False) + F(OP_CONT, b"\x28"), 1007),
    "utf8_split_truncated_at_end": (F(OP_TEXT, b"a\xe2", fin=False) + F(OP_CONT, b"\x82"), 1007),
    "utf8_split_surrogate": (F(OP_TEXT, b"\xed", fin=False) + F(OP_CONT, b"\xa0\x80"), 1007),
    # close frames
    "close_1_byte": (F(OP_CLOSE, b"\x03"), 1002),
    **{f"close_code_{c}": (F(OP_CLOSE, close_payload(c)), 1002)
       for c in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)},
    "close_invalid_utf8_reason": (F(OP_CLOSE, close_payload(1000, b"bye \xff\xfe")), 1007),
    "close_truncated_utf8_reason": (F(OP_CLOSE, close_payload(1000, b"\xe2\x82")), 1007),
}


# violations preceded by a valid complete message (which is echoed first)
ECHO_FIRST = {"continuation_after_finished_message"}


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_violation_close_code(server, name):
    data, code = VIOLATIONS[name]
    with ws(server) as c:
        c.send(data)
        if name in ECHO_FIRST:
            assert c.read_message(T(5)) == (OP_TEXT, b"a")
        expect_fail(c, code)


@pytest.mark.parametrize("name", ["unmasked_text", "rsv1_text", "opcode_0x3", "utf8_ff", "close_code_1005"])
def test_violation_on_seed_endpoint(server, name):
    data, code = VIOLATIONS[name]
    with ws(server, "/ws/") as c:
        op, _ = c.read_message(T(5))  # the connection message
        assert op == OP_TEXT
        c.send(data)
        expect_fail(c, code)


def test_violation_after_valid_traffic(server):
    with ws(server) as c:
        c.send(F(OP_TEXT, b"fine"))
        assert c.read_message(T(5)) == (OP_TEXT, b"fine")
        c.send(F(OP_TEXT, b"\xc3\x28"))
        expect_fail(c, 1007)


@pytest.mark.parametrize("first,second", [
    (b"ok\xff", None),
    (b"ok", b"\xc0\xaf"),
    (b"\xe2\x82\x28", None),
], ids=["invalid_in_first_fragment", "invalid_in_middle_fragment", "invalid_continuation_in_first"])
def test_utf8_fail_fast_before_message_end(server, first, second):
    """An invalid sequence (not merely a truncated one) is reported while the
    message is still unfinished: 1007 arrives without sending the rest."""
    with ws(server) as c:
        c.send(F(OP_TEXT, first, fin=False))
        if second is not None:
            c.send(F(OP_CONT, second, fin=False))
        expect_fail(c, 1007)


# --------------------------------------------------------------------------
# valid traffic a conforming client may send
# --------------------------------------------------------------------------

VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]


@pytest.mark.parametrize("code", VALID_CLOSE_CODES)
def test_valid_close_code_echoed(server, code):
    with ws(server) as c:
        c.send_close(code, "bye ✓")
        f = c.expect_close(T(5))
        assert f.close_code == code, f
        c.expect_eof(T(5))


def test_close_without_payload(server):
    with ws(server) as c:
        c.send_frame(OP_CLOSE, b"")
        f = c.expect_close(T(5))
        assert f.close_code in (None, 1000), f
        c.expect_eof(T(5))


def test_close_with_max_reason(server):
    with ws(server) as c:
        c.send_close(1000, b"r" * 123)
        assert c.expect_close(T(5)).close_code == 1000
        c.expect_eof(T(5))


def test_nothing_processed_after_close(server):
    with ws(server) as c:
        c.send(F(OP_CLOSE, close_payload(1000)) + F(OP_TEXT, b"after close") + F(OP_PING, b"p"))
        frames = frames_until_eof(c, T(5))
        assert [f.opcode for f in frames] == [OP_CLOSE], frames
        assert frames[0].close_code == 1000


def test_nothing_processed_after_violation(server):
    with ws(server) as c:
        c.send(F(OP_TEXT, b"x", mask=False) + F(OP_TEXT, b"after violation"))
        frames = frames_until_eof(c, T(5))
        assert [f.opcode for f in frames] == [OP_CLOSE], frames
        assert frames[0].close_code == 1002


@pytest.mark.parametrize("payload", [b"", b"hello", b"\x00\xff" * 10, bytes(range(125))],
                         ids=["empty", "text", "binary", "125B"])
def test_ping_gets_pong_same_payload(server, payload):
    with ws(server) as c:
        c.send_frame(OP_PING, payload)
        f = c.read_frame(T(5))
        assert f.opcode == OP_PONG and f.payload == payload, f


def test_ping_interleaved_between_fragments(server):
    with ws(server) as c:
        c.send(F(OP_TEXT, b"Hello, ", fin=False))
        c.send(F(OP_PING, b"mid"))
        f = c.read_frame(T(5))
        assert f.opcode == OP_PONG and f.payload == b"mid", f
        c.send(F(OP_CONT, b"Wor", fin=False) + F(OP_PING, b"two") + F(OP_CONT, b"ld"))
        f = c.read_frame(T(5))
        assert f.opcode == OP_PONG and f.payload == b"two", f
        assert c.read_message(T(5), allow_control=()) == (OP_TEXT, b"Hello, World")


def test_unsolicited_pong_is_ignored(server):
    with ws(server) as c:
        c.send(F(OP_PONG, b"unsolicited") + F(OP_TEXT, b"after pong"))
        assert c.read_message(T(5), allow_control=()) == (OP_TEXT, b"after pong")


def test_valid_utf8_split_across_fragments(server):
    text = "€ 𝄞 é ✓".encode()
    with ws(server) as c:
        # one byte per fragment: every code point is split
        frames = F(OP_TEXT, text[:1], fin=False)
        for i in range(1, len(text) - 1):
            frames += F(OP_CONT, text[i:i + 1], fin=False)
        frames += F(OP_CONT, text[-1:])
        c.send(frames)
        assert c.read_message(T(5)) == (OP_TEXT, text)


def test_empty_fragments(server):
    with ws(server) as c:
        c.send(F(OP_BINARY, b"", fin=False) + F(OP_CONT, b"", fin=False) + F(OP_CONT, b"\x01") +
               F(OP_TEXT, b"", fin=False) + F(OP_CONT, b""))
        assert c.read_message(T(5)) == (OP_BINARY, b"\x01")
        assert c.read_message(T(5)) == (OP_TEXT, b"")


def test_frame_header_split_across_writes(server):
    with ws(server) as c:
        data = F(OP_BINARY, bytes(range(256)) * 300)  # 64-bit length form
        for i in range(0, len(data), 997):
            c.send(data[i:i + 997])
        data2 = F(OP_TEXT, b"tiny")
        for b in data2:
            c.send(bytes([b]))
            time.sleep(0.001)
        assert c.read_message(T(5)) == (OP_BINARY, bytes(range(256)) * 300)
        assert c.read_message(T(5)) == (OP_TEXT, b"tiny")


def test_non_minimal_length_encoding_is_accepted(server):
    # RFC 6455 only requires *senders* to use the minimal length form
    import os
    import struct
    key = os.urandom(4)
    from rawws import apply_mask
    payload = b"short"
    frame = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload)) + key + apply_mask(payload, key)
    with ws(server) as c:
        c.send(frame)
        assert c.read_message(T(5)) == (OP_TEXT, payload)


# --------------------------------------------------------------------------
# max_message_bytes
# --------------------------------------------------------------------------

SMALL_LIMIT_CONFIG = """
[[endpoint]]
path = "/echo"
protocol = "echo"
max_message_bytes = 1024

[[endpoint]]
path = "/ws/"
protocol = "json-echo"
max_message_bytes = 1024
"""


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory):
    from conftest import Server
    s = Server(config=SMALL_LIMIT_CONFIG, threads=2, tmpdir=tmp_path_factory.mktemp("small"))
    yield s
    if not s.checked:
        s.stop()


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_message_at_limit_echoes(small_limit_server, opcode):
    with ws(small_limit_server) as c:
        c.send_frame(opcode, b"a" * 1024)
        assert c.read_message(T(5)) == (opcode, b"a" * 1024)


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_message_over_limit_1009(small_limit_server, opcode):
    with ws(small_limit_server) as c:
        c.send_frame(opcode, b"a" * 1025)
        expect_fail(c, 1009)


def test_fragmented_message_over_limit_1009(small_limit_server):
    with ws(small_limit_server) as c:
        c.send(F(OP_BINARY, b"a" * 600, fin=False) + F(OP_CONT, b"b" * 425))
        expect_fail(c, 1009)


def test_fragmented_message_at_limit_echoes(small_limit_server):
    with ws(small_limit_server) as c:
        c.send(F(OP_BINARY, b"a" * 600, fin=False) + F(OP_CONT, b"b" * 424))
        assert c.read_message(T(5)) == (OP_BINARY, b"a" * 600 + b"b" * 424)


def test_huge_declared_length_1009_without_payload(small_limit_server):
    # a header announcing 2^40 bytes must be refused on sight
    import struct
    with ws(small_limit_server) as c:
        c.send(struct.pack("!BBQ", 0x82, 0x80 | 127, 1 << 40) + b"mask")
        expect_fail(c, 1009)


def test_limit_on_seed_endpoint(small_limit_server):
    with ws(small_limit_server, "/ws/") as c:
        c.read_message(T(5))
        c.send_frame(OP_TEXT, b"a" * 1025)
        expect_fail(c, 1009)


# --------------------------------------------------------------------------
# idle ping / pong timeout
# --------------------------------------------------------------------------

IDLE_CONFIG = """
[[endpoint]]
path = "/echo"
protocol = "echo"
idle_ping_ms = 300
pong_timeout_ms = 500
"""


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory):
    from conftest import Server
    s = Server(config=IDLE_CONFIG, threads=2, tmpdir=tmp_path_factory.mktemp("idle"))
    yield s
    if not s.checked:
        s.stop()


def test_idle_client_that_never_pongs_is_closed(idle_server):
    with ws(idle_server) as c:
        t0 = time.monotonic()
        f = c.read_frame(T(3))
        t_ping = time.monotonic() - t0
        assert f.opcode == OP_PING, f
        assert t_ping >= 0.2, f"ping after {t_ping:.2f}s, idle_ping_ms is 300"
        f = c.read_frame(T(3))
        t_close = time.monotonic() - t0
        assert f.opcode == OP_CLOSE, f
        assert f.close_code == 1001, f
        assert f.close_reason == b"ping timeout", f
        assert t_close - t_ping >= 0.35, f"closed {t_close - t_ping:.2f}s after the ping, pong_timeout_ms is 500"
        c.expect_eof(T(3))


def test_raw_client_that_pongs_stays_open(idle_server):
    with ws(idle_server) as c:
        deadline = time.monotonic() + 2.0
        pings = 0
        while time.monotonic() < deadline:
            try:
                f = c.read_frame(0.2)
            except TimeoutError:
                continue
            assert f.opcode == OP_PING, f
            pings += 1
            c.send_frame(OP_PONG, f.payload)
        assert pings >= 2, f"expected repeated idle pings over 2s, got {pings}"
        c.send_text("alive")
        assert c.read_message(T(5), allow_control=(OP_PING,)) == (OP_TEXT, b"alive")


def test_traffic_postpones_the_idle_ping(idle_server):
    with ws(idle_server) as c:
        for i in range(12):  # 1.2s of traffic every 100ms: never 300ms of silence
            c.send_text(f"t{i}")
            assert c.read_message(T(5), allow_control=()) == (OP_TEXT, f"t{i}".encode())
            time.sleep(0.1)


def test_websockets_client_answers_pings_and_stays(idle_server):
    async def main():
        async with websockets.connect(idle_server.url("/echo"), ping_interval=None,
                                      open_timeout=T(10)) as cl:
            await asyncio.sleep(2.2)  # silent: the server pings, the library pongs
            assert cl.open, f"closed: {cl.close_code} {cl.close_reason!r}"
            await cl.send("still echoing")
            assert await asyncio.wait_for(cl.recv(), T(5)) == "still echoing"
    run(main())


# --------------------------------------------------------------------------
# isolation
# --------------------------------------------------------------------------

def test_violation_does_not_disturb_other_connections(server):
    async def main():
        async with websockets.connect(server.url("/echo"), ping_interval=None, open_timeout=T(10)) as good:
            await good.send("before")
            assert await good.recv() == "before"
            loop = asyncio.get_running_loop()
            for i, name in enumerate(["unmasked_text", "utf8_ff", "opcode_0x3", "close_code_0",
                                      "text_inside_fragmented_text", "ping_126_bytes"]):
                data, code = VIOLATIONS[name]

                def violate():
                    with ws(server) as c:
                        c.send(data)
                        expect_fail(c, code)
                await loop.run_in_executor(None, violate)
                await good.send(f"between {i}")
                assert await asyncio.wait_for(good.recv(), T(5)) == f"between {i}"
            # a half-finished fragmented message on a bad connection must not
            # leak into the good one either
            bad = await loop.run_in_executor(None, ws, server)
            bad.send(F(OP_TEXT, b"half a mess", fin=False))
            await good.send("after")
            assert await asyncio.wait_for(good.recv(), T(5)) == "after"
            bad.send(F(OP_TEXT, b"oops"))
            await loop.run_in_executor(None, expect_fail, bad, 1002)
            bad.close()
    run(main())


# --------------------------------------------------------------------------
# abrupt peers
# --------------------------------------------------------------------------

def test_half_close_without_close_frame_is_cleaned_up(server):
    import socket
    with ws(server) as c:
        c.send_text("then FIN")
        assert c.read_message(T(5)) == (OP_TEXT, b"then FIN")
        c.sock.shutdown(socket.SHUT_WR)
        # the server may send a close frame; either way it must close TCP
        frames = frames_until_eof(c, T(5))
        assert all(f.opcode == OP_CLOSE for f in frames), frames


def test_eof_in_the_middle_of_a_frame(server):
    with ws(server) as c:
        c.send(F(OP_BINARY, b"x" * 1000)[:500])
        c.sock.shutdown(__import__("socket").SHUT_WR)
        frames = frames_until_eof(c, T(5))
        assert all(f.opcode == OP_CLOSE for f in frames), frames
