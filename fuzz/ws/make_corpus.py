#!/usr/bin/python3
"""Writes the seed corpora for the ws fuzz targets (run from anywhere).

frame_parser inputs: flags, size limit, 4 chunk sizes, body (see the comment
at the top of frame_parser_fuzz.cpp). utf8 inputs: split byte, text.
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(b0, payload, masked=True, form=None, key=KEY):
    n = len(payload)
    m = 0x80 if masked else 0
    if form == 64 or n > 0xFFFF:
        hdr = bytes([b0, m | 127]) + struct.pack(">Q", n)
    elif form == 16 or n > 125:
        hdr = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, m | n])
    if not masked:
        return hdr + payload
    return hdr + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close(code, reason=b""):
    return struct.pack(">H", code) + reason


def write(name, files):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)


def fp(flags, body, limit=0, chunks=(0, 0, 0, 0)):
    return bytes([flags, limit, *chunks]) + body


def frame_parser():
    rnd = random.Random(6455)
    structured = {f"structured_{i}": fp(1 | (i << 4 & 0x30) | (2 if i == 3 else 0),
                                        bytes(rnd.randrange(256) for _ in range(200)),
                                        chunks=(1, 7, 0, 3))
                  for i in range(4)}
    return {
        "text": fp(0, frame(0x81, b"Hello")),
        "text_bytewise": fp(0, frame(0x81, "h\u00e9\u20ac\U0001F600".encode()), chunks=(1, 1, 1, 1)),
        "fragmented_ping": fp(0x20, frame(0x01, b"Hel") + frame(0x89, b"p") + frame(0x00, b"lo", ) + frame(0x8A, b"")
                              + frame(0x80, b""), chunks=(3, 5, 2, 0)),
        "close_reason": fp(0, frame(0x88, close(1000, b"bye")) + frame(0x81, b"ignored")),
        "len16": fp(0, frame(0x82, bytes(range(200))), chunks=(4, 100, 0, 0)),
        "len64_nonminimal": fp(0, frame(0x82, b"abc", form=64) + frame(0x89, b"", form=16), chunks=(9, 0, 0, 0)),
        "client_unmasked": fp(2, frame(0x81, b"server says hi", masked=False) + frame(0x88, b"", masked=False)),
        "rsv1_allowed": fp(4, frame(0xC1, b"\xff\xfe") + frame(0xC2, b"x")),
        "too_big": fp(0, frame(0x02, bytes(20)) + frame(0x80, bytes(20)), limit=2),
        "bad_utf8": fp(0, frame(0x01, b"ok\xe2\x82") + frame(0x80, b"\x41")),
        "reserved_opcode": fp(0, frame(0x83, b"")),
        "bad_close_code": fp(0, frame(0x88, close(1005))),
        **structured,
    }


def utf8():
    return {
        "ascii": b"\x03" + b"plain ascii text, long enough for the fast path",
        "two_byte": b"\x01" + "\u00e9\u00df\u07ff\u0080".encode(),
        "three_byte": b"\x02" + "\u20ac\u0800\uffff\ud7ff\ue000".encode(),
        "four_byte": b"\x05" + "\U0001F600\U00010000\U0010FFFF".encode(),
        "overlong2": b"\x01" + b"\xc0\xaf",
        "overlong3": b"\x02" + b"\xe0\x9f\xbf",
        "overlong4": b"\x02" + b"\xf0\x8f\xbf\xbf",
        "surrogate": b"\x01" + b"a\xed\xa0\x80",
        "above_max": b"\x02" + b"\xf4\x90\x80\x80",
        "truncated": b"\x04" + b"abc\xf0\x9f\x98",
        "stray_continuation": b"\x00" + b"abc\x80def",
        "mixed_split": b"\x07" + "ab\u00e9\u20ac\U0001F600z".encode() + b"\xf5",
    }


if __name__ == "__main__":
    write("frame_parser", frame_parser())
    write("utf8", utf8())
