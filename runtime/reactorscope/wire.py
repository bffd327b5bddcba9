"""The wire format between the shim and the telemetry server, version 2: docs/protocol.md.

Twin of protocol/wire.ts; the golden fixtures in test/fixtures/wire/ hold the two in step.
Encoding works on columns (``array`` objects), so the sending path builds no object per event.
The handshake's frames are here; what they prove, and the order they come in, is handshake.py's.
"""
from __future__ import annotations

import json
import struct
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

MAGIC = b"RSCOPE"
VERSION = 2
PREAMBLE = MAGIC + struct.pack("<H", VERSION)
MAX_PAYLOAD = 16 * 1024 * 1024
# The shim sends at most this many events per EVENTS frame (a 344,072-byte payload), so that the server decodes
# a flush in pieces of well under 1 MiB; a flush with more sends several frames (docs/protocol.md, EVENTS).
EVENTS_PER_FRAME = 16_384
# Until the peer has proved the token, a frame may carry at most this much (docs/protocol.md, Handshake).
PREAUTH_MAX_PAYLOAD = 4096
NONCE_BYTES = 32
PROOF_BYTES = 32  # HMAC-SHA256
MAX_PROOFS = 64  # in one SERVER_PROOF: the server proves at most this many tokens

HELLO = 0x01
SITES = 0x02
EVENTS = 0x03
STALL = 0x04
GAUGES = 0x05
LOOP = 0x06
META = 0x07
GOODBYE = 0x08
# 0x09 was version 1's ATTACH, which carried the token in clear; it is not used again.
CHALLENGE = 0x0A
SERVER_PROOF = 0x0B
SHIM_PROOF = 0x0C
WELCOME = 0x0D

# Event kinds (the EVENTS frame's kind column).
KIND_TIMER = 1
KIND_IO_READ = 2
KIND_IO_WRITE = 3
KIND_THREAD_CALL = 4
KIND_DEFERRED = 5
KIND_COROUTINE = 6
KIND_WEB_REQUEST = 7  # twisted.web's Request.render, nested inside the HTTP channel's I/O read
TOP_LEVEL_KINDS = (KIND_TIMER, KIND_IO_READ, KIND_IO_WRITE, KIND_THREAD_CALL)

# Gauge ids (the GAUGES frame).
GAUGE_PENDING_CALLS = 1
GAUGE_READERS = 2
GAUGE_WRITERS = 3
GAUGE_THREADPOOL_QUEUE = 4
GAUGE_THREADPOOL_BUSY = 5
GAUGE_THREADPOOL_IDLE = 6
GAUGE_THREAD_CALL_QUEUE = 7
GAUGE_CPU_USER = 8
GAUGE_CPU_SYSTEM = 9
GAUGE_RSS = 10
GAUGE_GC_GEN0 = 11
GAUGE_GC_GEN1 = 12
GAUGE_GC_GEN2 = 13
GAUGE_EVENTS_DROPPED = 14
GAUGE_SAMPLES_DROPPED = 15

_HEADER = struct.Struct("<IB3x")
_LITTLE = sys.byteorder == "little"


class ProtocolError(ValueError):
    """The bytes break a rule of docs/protocol.md; the message says which. From ``StreamDecoder``, ``offset``
    is where in the stream the frame that broke it starts (0: the preamble) and ``frame`` how many whole frames
    came before it (-1: the preamble), as protocol/wire.ts's StreamError says."""

    offset = 0
    frame = -1


# --- encoding -----------------------------------------------------------------------------------------


def _str(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack("<I", len(data)) + data


def _le(column: array) -> bytes:
    if not _LITTLE:
        column = array(column.typecode, column)
        column.byteswap()
    return column.tobytes()


def frame(frame_type: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
    return _HEADER.pack(len(payload), frame_type) + payload


def encode_hello(pid: int, origin_wall_ns: int, metadata: Dict[str, Any]) -> bytes:
    payload = struct.pack("<Iq", pid, origin_wall_ns) + _str(json.dumps(metadata, sort_keys=True))
    return frame(HELLO, payload)


def encode_sites(sites: Sequence[Tuple[int, int, str, str]]) -> bytes:
    """``sites``: (id, first_line, file, name) tuples."""
    parts = [struct.pack("<I", len(sites))]
    for site_id, first_line, file, name in sites:
        parts.append(struct.pack("<II", site_id, first_line))
        parts.append(_str(file))
        parts.append(_str(name))
    return frame(SITES, b"".join(parts))


def encode_events(starts: array, durations: array, sites: array, kinds: array) -> bytes:
    """Columns: ``array('q')`` starts and durations, ``array('I')`` sites, ``array('B')`` kinds."""
    n = len(starts)
    if not (len(durations) == len(sites) == len(kinds) == n):
        raise ProtocolError("event columns differ in length")
    payload = struct.pack("<II", n, 0) + _le(starts) + _le(durations) + _le(sites) + kinds.tobytes()
    return frame(EVENTS, payload)


def encode_events_frames(starts: array, durations: array, sites: array, kinds: array) -> List[bytes]:
    """The columns as EVENTS frames of at most EVENTS_PER_FRAME events each, in order."""
    n = len(starts)
    if n <= EVENTS_PER_FRAME:
        return [encode_events(starts, durations, sites, kinds)]
    return [
        encode_events(starts[i : i + EVENTS_PER_FRAME], durations[i : i + EVENTS_PER_FRAME],
                      sites[i : i + EVENTS_PER_FRAME], kinds[i : i + EVENTS_PER_FRAME])
        for i in range(0, n, EVENTS_PER_FRAME)
    ]


def encode_stall(
    callback_start: int, site: int, kind: int, samples: Sequence[Tuple[int, Sequence[Tuple[int, int]]]]
) -> bytes:
    """``samples``: (t, stack) with stack as (site, line) pairs, innermost first."""
    parts = [struct.pack("<qIB3xI", callback_start, site, kind, len(samples))]
    for t, stack in samples:
        parts.append(struct.pack("<qH2x", t, len(stack)))
        flat = array("I")
        for frame_site, line in stack:
            flat.append(frame_site)
            flat.append(line)
        parts.append(_le(flat))
    return frame(STALL, b"".join(parts))


def encode_gauges(t: int, values: Sequence[Tuple[int, float]]) -> bytes:
    parts = [struct.pack("<qH", t, len(values))]
    parts.extend(struct.pack("<Hd", gauge, value) for gauge, value in values)
    return frame(GAUGES, b"".join(parts))


def encode_loop(
    window_start: int, window_end: int, iterations: int, busy_ns: int, idle_ns: int, lag_times: array, lags: array
) -> bytes:
    k = len(lag_times)
    if len(lags) != k:
        raise ProtocolError("lag columns differ in length")
    payload = struct.pack("<qqIIqqII", window_start, window_end, iterations, 0, busy_ns, idle_ns, k, 0)
    return frame(LOOP, payload + _le(lag_times) + _le(lags))


def encode_meta(metadata: Dict[str, Any]) -> bytes:
    return frame(META, _str(json.dumps(metadata, sort_keys=True)))


def encode_goodbye(exit_code: int, reason: str) -> bytes:
    return frame(GOODBYE, struct.pack("<i", exit_code) + _str(reason))


def _fixed(value: bytes, size: int, what: str) -> bytes:
    if len(value) != size:
        raise ProtocolError(f"{what} must be {size} bytes, got {len(value)}")
    return value


def encode_challenge(nonce: bytes) -> bytes:
    return frame(CHALLENGE, _fixed(nonce, NONCE_BYTES, "a nonce"))


def encode_server_proof(nonce: bytes, proofs: Sequence[bytes]) -> bytes:
    if len(proofs) > MAX_PROOFS:
        raise ProtocolError(f"{len(proofs)} proofs is over the {MAX_PROOFS} a SERVER_PROOF may carry")
    parts = [_fixed(nonce, NONCE_BYTES, "a nonce"), struct.pack("<I", len(proofs))]
    parts.extend(_fixed(proof, PROOF_BYTES, "a proof") for proof in proofs)
    return frame(SERVER_PROOF, b"".join(parts))


def encode_shim_proof(proof: bytes) -> bytes:
    return frame(SHIM_PROOF, _fixed(proof, PROOF_BYTES, "a proof"))


def encode_welcome() -> bytes:
    return frame(WELCOME, b"")


# --- decoding -----------------------------------------------------------------------------------------


@dataclass
class Frame:
    type: int
    body: Dict[str, Any] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = memoryview(data)
        self.offset = 0
        self.what = what

    def take(self, size: int) -> memoryview:
        if self.offset + size > len(self.data):
            raise ProtocolError(f"{self.what} frame is truncated: needs {size} bytes at offset {self.offset}")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def hex(self, size: int) -> str:
        return self.take(size).hex()

    def unpack(self, fmt: str) -> Tuple[Any, ...]:
        st = struct.Struct(fmt)
        return st.unpack(self.take(st.size))

    def string(self) -> str:
        (length,) = self.unpack("<I")
        try:
            return str(self.take(length), "utf-8")
        except UnicodeDecodeError as error:
            raise ProtocolError(f"{self.what} frame has a string that is not UTF-8") from error

    def column(self, typecode: str, n: int) -> List[int]:
        col = array(typecode)
        col.frombytes(self.take(col.itemsize * n))
        if not _LITTLE:
            col.byteswap()
        return col.tolist()

    def json_object(self) -> Dict[str, Any]:
        try:
            value = json.loads(self.string())
        except json.JSONDecodeError as error:
            raise ProtocolError(f"{self.what} frame's metadata is not JSON") from error
        if not isinstance(value, dict):
            raise ProtocolError(f"{self.what} frame's metadata is not a JSON object")
        return value

    def done(self) -> None:
        if self.offset != len(self.data):
            raise ProtocolError(f"{self.what} frame has {len(self.data) - self.offset} bytes left over")


def _decode_body(frame_type: int, payload: bytes) -> Optional[Dict[str, Any]]:
    if frame_type == HELLO:
        r = _Reader(payload, "HELLO")
        pid, origin_wall_ns = r.unpack("<Iq")
        body: Dict[str, Any] = {"pid": pid, "originWallNs": origin_wall_ns, "metadata": r.json_object()}
    elif frame_type == SITES:
        r = _Reader(payload, "SITES")
        (count,) = r.unpack("<I")
        sites = []
        for _ in range(count):
            site_id, first_line = r.unpack("<II")
            sites.append({"id": site_id, "line": first_line, "file": r.string(), "name": r.string()})
        body = {"sites": sites}
    elif frame_type == EVENTS:
        r = _Reader(payload, "EVENTS")
        n, _reserved = r.unpack("<II")
        body = {
            "start": r.column("q", n),
            "duration": r.column("q", n),
            "site": r.column("I", n),
            "kind": r.column("B", n),
        }
    elif frame_type == STALL:
        r = _Reader(payload, "STALL")
        callback_start, site, kind, count = r.unpack("<qIB3xI")
        samples = []
        for _ in range(count):
            t, depth = r.unpack("<qH2x")
            flat = r.column("I", 2 * depth)
            samples.append({"t": t, "stack": [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]})
        body = {"callbackStart": callback_start, "site": site, "kind": kind, "samples": samples}
    elif frame_type == GAUGES:
        r = _Reader(payload, "GAUGES")
        t, count = r.unpack("<qH")
        values = [list(r.unpack("<Hd")) for _ in range(count)]
        body = {"t": t, "values": values}
    elif frame_type == LOOP:
        r = _Reader(payload, "LOOP")
        start, end, iterations, _r1, busy, idle, k, _r2 = r.unpack("<qqIIqqII")
        body = {
            "start": start,
            "end": end,
            "iterations": iterations,
            "busyNs": busy,
            "idleNs": idle,
            "lagTimes": r.column("q", k),
            "lags": r.column("q", k),
        }
    elif frame_type == META:
        r = _Reader(payload, "META")
        body = {"metadata": r.json_object()}
    elif frame_type == GOODBYE:
        r = _Reader(payload, "GOODBYE")
        (exit_code,) = r.unpack("<i")
        body = {"exitCode": exit_code, "reason": r.string()}
    elif frame_type == CHALLENGE:
        r = _Reader(payload, "CHALLENGE")
        body = {"nonce": r.hex(NONCE_BYTES)}
    elif frame_type == SERVER_PROOF:
        r = _Reader(payload, "SERVER_PROOF")
        nonce = r.hex(NONCE_BYTES)
        (count,) = r.unpack("<I")
        if count > MAX_PROOFS:
            raise ProtocolError(f"SERVER_PROOF frame has {count} proofs, over the {MAX_PROOFS} allowed")
        body = {"nonce": nonce, "proofs": [r.hex(PROOF_BYTES) for _ in range(count)]}
    elif frame_type == SHIM_PROOF:
        r = _Reader(payload, "SHIM_PROOF")
        body = {"proof": r.hex(PROOF_BYTES)}
    elif frame_type == WELCOME:
        r = _Reader(payload, "WELCOME")
        body = {}
    else:
        return None  # unknown type: skipped, as newer shims may add types
    r.done()
    return body


class StreamDecoder:
    """Incremental decoder: ``feed`` bytes as they arrive, get whole frames back. Unknown types are skipped.
    ``max_payload``: a frame announcing more is refused as soon as its header is read (settable: the
    handshake reads with PREAUTH_MAX_PAYLOAD)."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buffer = bytearray()
        self._preamble_seen = False
        self._consumed = 0  # stream offset of the buffer's first byte
        self._frames = 0  # whole frames read so far
        self.max_payload = max_payload

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> Iterator[Frame]:
        try:
            yield from self._feed(data)
        except ProtocolError as error:
            error.offset, error.frame = (self._consumed, self._frames) if self._preamble_seen else (0, -1)
            raise

    def _feed(self, data: Union[bytes, bytearray, memoryview]) -> Iterator[Frame]:
        self._buffer += data
        if not self._preamble_seen:
            if not MAGIC.startswith(bytes(self._buffer[: len(MAGIC)])):
                raise ProtocolError("stream does not start with the RSCOPE magic")
            if len(self._buffer) < len(PREAMBLE):
                return
            (version,) = struct.unpack_from("<H", self._buffer, len(MAGIC))
            if version != VERSION:
                raise ProtocolError(
                    f"unsupported protocol version {version} (this reader speaks {VERSION}; the shim and the "
                    "extension must come from the same Reactor Scope release)"
                )
            del self._buffer[: len(PREAMBLE)]
            self._consumed = len(PREAMBLE)
            self._preamble_seen = True
        while len(self._buffer) >= _HEADER.size:
            length, frame_type = _HEADER.unpack_from(self._buffer)
            if frame_type == 0:
                raise ProtocolError("frame type 0 is never sent (a run of zero bytes where a frame should start)")
            if length > self.max_payload:
                raise ProtocolError(f"frame of {length} bytes is over the {self.max_payload}-byte limit")
            end = _HEADER.size + length
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[_HEADER.size : end])
            body = _decode_body(frame_type, payload)
            del self._buffer[:end]
            self._consumed += end
            self._frames += 1
            if body is not None:
                yield Frame(frame_type, body)

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished frame: non-zero at the end of a stream means it was cut short."""
        return len(self._buffer)


def decode_stream(data: bytes) -> List[Frame]:
    """Every frame of a whole stream (a recording); a truncated last frame is left out."""
    return list(StreamDecoder().feed(data))


FRAME_NAMES = {
    HELLO: "hello",
    SITES: "sites",
    EVENTS: "events",
    STALL: "stall",
    GAUGES: "gauges",
    LOOP: "loop",
    META: "meta",
    GOODBYE: "goodbye",
    CHALLENGE: "challenge",
    SERVER_PROOF: "serverProof",
    SHIM_PROOF: "shimProof",
    WELCOME: "welcome",
}
