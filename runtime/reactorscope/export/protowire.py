"""Protocol Buffers wire encoding, by hand (the shim is stdlib + Twisted only): what perfetto.py needs to write
a trace (https://protobuf.dev/programming-guides/encoding/). A field is a key (field number << 3 | wire type)
and a value: varint (type 0; negative int64 as its 64-bit two's complement), 64-bit (type 1: fixed64, double),
length-delimited (type 2: strings, bytes, embedded messages).
"""
from __future__ import annotations

import struct

VARINT = 0
I64 = 1
LEN = 2

_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def uint(field: int, value: int) -> bytes:
    """uint32, uint64, int32, int64, bool and enum fields."""
    return key(field, VARINT) + varint(value)


def double(field: int, value: float) -> bytes:
    return key(field, I64) + _DOUBLE.pack(value)


def fixed64(field: int, value: int) -> bytes:
    return key(field, I64) + _FIXED64.pack(value)


def message(field: int, body: bytes) -> bytes:
    """An embedded message, bytes field, or packed repeated field."""
    return key(field, LEN) + varint(len(body)) + body


def string(field: int, value: str) -> bytes:
    return message(field, value.encode("utf-8"))
