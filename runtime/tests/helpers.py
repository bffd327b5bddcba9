"""Shared by the runtime tests: run a Python under the shim, read a recording back."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from reactorscope import handshake, transport, wire
from reactorscope.model import Model

RUNTIME = Path(__file__).resolve().parents[1]
APPS = Path(__file__).resolve().parent / "apps"
BOOTSTRAP = RUNTIME / "reactorscope" / "_bootstrap"


def python_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTORSCOPE")}
    env["PYTHONPATH"] = str(RUNTIME)
    env.update(extra or {})
    return env


def run_python(args: Sequence[str], env: Optional[Dict[str, str]] = None, timeout: float = 60, **kw: Any):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env or python_env(), timeout=timeout, **kw
    )


def run_shim(run_args: Sequence[str], env: Optional[Dict[str, str]] = None, timeout: float = 60, **kw: Any):
    return run_python(["-m", "reactorscope", "run", *run_args], env=env, timeout=timeout, **kw)


class Recording:
    """A decoded stream, with its sites by id and its events as rows."""

    def __init__(self, frames: List[wire.Frame]) -> None:
        self.frames = frames
        self.sites: Dict[int, Dict[str, Any]] = {}
        self.events: List[Tuple[int, int, int, int]] = []  # kind, site, start, duration
        self.stalls: List[Dict[str, Any]] = []
        self.meta: Dict[str, Any] = {}
        self.loops: List[Dict[str, Any]] = []
        self.gauges: List[Dict[str, Any]] = []
        for frame in frames:
            body = frame.body
            if frame.type == wire.SITES:
                self.sites.update((s["id"], s) for s in body["sites"])
            elif frame.type == wire.EVENTS:
                self.events.extend(zip(body["kind"], body["site"], body["start"], body["duration"]))
            elif frame.type == wire.STALL:
                self.stalls.append(body)
            elif frame.type == wire.META:
                self.meta.update(body["metadata"])
            elif frame.type == wire.LOOP:
                self.loops.append(body)
            elif frame.type == wire.GAUGES:
                self.gauges.append(body)

    @classmethod
    def read(cls, path: Path) -> "Recording":
        return cls(wire.decode_stream(path.read_bytes()))

    def of(self, frame_type: int) -> List[wire.Frame]:
        return [f for f in self.frames if f.type == frame_type]

    def events_at(self, name: str, kind: Optional[int] = None) -> List[Tuple[int, int, int, int]]:
        # Site 0 is "unknown" (e.g. a Deferred whose callbacks are all Twisted's pass-through): in no SITES frame.
        return [e for e in self.events if self.sites.get(e[1], {}).get("name") == name and (kind is None or e[0] == kind)]

    def site_named(self, name: str) -> Dict[str, Any]:
        matches = [s for s in self.sites.values() if s["name"] == name]
        assert matches, f"no site named {name!r} among {sorted(s['name'] for s in self.sites.values())}"
        return matches[0]


def held_by_line(stalls: List[Dict[str, Any]]) -> Dict[Tuple[int, int], int]:
    """ns held per innermost (site, line) of STALL frame bodies, by the held rule of docs/protocol.md (STALL), as
    model.py (the report) and the server compute it."""
    recorded = Model()
    for stall in stalls:
        recorded.add_stall(stall["callbackStart"], stall["site"], stall["kind"],
                           ((sample["t"], sample["stack"]) for sample in stall["samples"]))
    held: Dict[Tuple[int, int], int] = {}
    for record in recorded.stalls.values():
        for line, (_samples, ns) in record.line_shares().items():
            held[line] = held.get(line, 0) + ns
    return held


def first_line_of(path: Path, qualname: str) -> int:
    """The line Python reports as a function's first (its first decorator's, if any)."""
    tree = ast.parse(path.read_text())
    parts = qualname.split(".")
    nodes: List[ast.AST] = list(tree.body)
    for i, part in enumerate(parts):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == part:
                if i == len(parts) - 1:
                    return min([d.lineno for d in node.decorator_list] + [node.lineno])
                nodes = list(node.body)
                break
        else:
            raise LookupError(f"{qualname} is not defined in {path}")
    raise LookupError(qualname)


def line_of(path: Path, text: str) -> int:
    lines = [i + 1 for i, line in enumerate(path.read_text().splitlines()) if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines} of {path}"
    return lines[0]


def json_lines(text: str) -> List[Any]:
    return [json.loads(line) for line in text.splitlines() if line.startswith(("{", "["))]


TOKEN = "test-token-1234"


def server_proof(tokens: Sequence[str], shim_nonce: bytes, server_nonce: bytes) -> bytes:
    """The SERVER_PROOF frame the telemetry server (protocol/handshake.ts) sends for ``tokens``."""
    proofs = [handshake.prove(t, handshake.SERVER_LABEL, shim_nonce, server_nonce) for t in tokens]
    return wire.encode_server_proof(server_nonce, proofs)


def serve_handshake(
    conn: Any, decoder: wire.StreamDecoder, tokens: Sequence[str], sent: Optional[List[bytes]] = None
) -> Optional[str]:
    """The telemetry server's side of the handshake (server/src/debugSocket.ts serveStream) on a blocking socket:
    its preamble, a proof for each of ``tokens`` when the CHALLENGE comes, WELCOME once the shim's proof is one of
    theirs. None when done (``decoder`` then reads the stream on), else why not. ``sent``: gets each SERVER_PROOF."""
    conn.sendall(wire.PREAMBLE)
    shim_nonce = server_nonce = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return "the shim closed the connection" + (": it did not take our proof" if server_nonce else "")
        for frame in decoder.feed(data):
            if frame.type == wire.CHALLENGE:
                shim_nonce, server_nonce = bytes.fromhex(frame.body["nonce"]), os.urandom(wire.NONCE_BYTES)
                proof = server_proof(tokens, shim_nonce, server_nonce)
                if sent is not None:
                    sent.append(proof)
                conn.sendall(proof)
            elif frame.type == wire.SHIM_PROOF:
                theirs = [handshake.prove(t, handshake.SHIM_LABEL, shim_nonce, server_nonce) for t in tokens]
                if bytes.fromhex(frame.body["proof"]) not in theirs:
                    conn.close()
                    return "wrong token"
                decoder.max_payload = wire.MAX_PAYLOAD
                conn.sendall(wire.encode_welcome())
                return None


def attach(address: str, token: str, timeout: float = 20.0, sent: Optional[List[bytes]] = None) -> Tuple[Any, wire.StreamDecoder]:
    """Attaches to a listening shim as the telemetry server does (attachToShim): returns the socket, welcomed,
    and the decoder its stream (HELLO first) goes on in. Raises AssertionError when the shim refused."""
    import socket

    family, target = transport.parse_address(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(target)
    decoder = wire.StreamDecoder(max_payload=wire.PREAUTH_MAX_PAYLOAD)
    refused = serve_handshake(sock, decoder, [token], sent)
    assert refused is None, refused
    return sock, decoder


def read_until(sock: Any, decoder: wire.StreamDecoder, predicate: Any, timeout: float = 10.0) -> List[wire.Frame]:
    """Frames from ``sock`` until ``predicate(frames)`` holds (or the time is up, or the stream ends)."""
    import time

    frames: List[wire.Frame] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate(frames):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(65536)
        if not data:
            break
        frames.extend(decoder.feed(data))
    return frames


class FakeServer:
    """A telemetry server stand-in on a real socket: it runs the server's side of the handshake (proving
    ``token``, or every token of ``tokens``), then decodes and keeps every connection's frames, HELLO first.
    ``reading=False`` makes it a peer that stops reading after the handshake (a stuck consumer). ``refused``
    counts connections whose shim did not take its proof (another token), or whose proof it did not take.
    ``hang_up_after_s``: it closes that many seconds after HELLO (at the next data), ``hang_ups`` times in all:
    a server going away mid-stream. ``server_proofs``: every SERVER_PROOF frame it sent, as bytes."""

    def __init__(
        self,
        family: str = "tcp",
        path: Optional[str] = None,
        reading: bool = True,
        token: str = TOKEN,
        tokens: Optional[Sequence[str]] = None,
    ) -> None:
        import socket
        import threading

        if family == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            self.address = f"unix:{path}"
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.address = f"tcp:127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.listen(8)
        self.reading = reading
        self.connections: List[List[wire.Frame]] = []
        self.errors: List[str] = []
        self.close_after_hello = 0  # close this many connections right after their HELLO
        self.tokens = list(tokens if tokens is not None else [token])
        self.refused = 0
        self.server_proofs: List[bytes] = []
        self.hang_up_after_s: Optional[float] = None
        self.hang_ups = 1
        self._sockets: List[Any] = []
        self._threading = threading
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            frames: List[wire.Frame] = []
            self.connections.append(frames)
            self._sockets.append(conn)
            self._threading.Thread(target=self._read, args=(conn, frames), daemon=True).start()

    def _shake_hands(self, conn: Any, decoder: wire.StreamDecoder) -> bool:
        if serve_handshake(conn, decoder, self.tokens, self.server_proofs) is None:
            return True
        self.refused += 1
        return False

    def _read(self, conn: Any, frames: List[wire.Frame]) -> None:
        import time

        decoder = wire.StreamDecoder(max_payload=wire.PREAUTH_MAX_PAYLOAD)
        hello_at: Optional[float] = None
        try:
            if not self._shake_hands(conn, decoder) or not self.reading:
                return
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                if hello_at is not None and self.hang_up_after_s is not None and self.hang_ups > 0:
                    if time.monotonic() - hello_at >= self.hang_up_after_s:
                        self.hang_ups -= 1
                        conn.close()
                        return
                for frame in decoder.feed(data):
                    frames.append(frame)
                    if frame.type != wire.HELLO:
                        continue
                    hello_at = time.monotonic()
                    if self.close_after_hello > 0:
                        self.close_after_hello -= 1
                        conn.close()
                        return
        except (OSError, wire.ProtocolError) as error:
            self.errors.append(repr(error))

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def unread_events(self) -> int:
        """For a server that never read (``reading=False``), once the app has ended: the callbacks in EVENTS frames
        that reached its sockets whole. Every connection but the last is taken as far as it had got (FIONREAD:
        reading would let the kernel deliver more); the last, which the shim closes in order at its exit, is read
        to its end (the kernel delivers what it took to a server that reads)."""
        import fcntl
        import struct
        import termios

        queued = [struct.unpack("i", fcntl.ioctl(conn, termios.FIONREAD, b"\0\0\0\0"))[0] for conn in self._sockets]
        events = 0
        for i, conn in enumerate(self._sockets):
            last = i == len(self._sockets) - 1
            data = bytearray()
            conn.settimeout(5.0)
            try:
                while last or len(data) < queued[i]:
                    chunk = conn.recv(1 << 20 if last else queued[i] - len(data))
                    if not chunk:
                        break
                    data += chunk
            except OSError:  # a reset, after what was queued before it
                pass
            decoder = wire.StreamDecoder()
            # The handshake read the preamble and its frames; what waits is the stream after WELCOME.
            frames = decoder.feed(wire.PREAMBLE + bytes(data))
            events += sum(len(frame.body["start"]) for frame in frames if frame.type == wire.EVENTS)
        return events

    def hang_up(self) -> None:
        """Ends every connection from this side now (shutdown sends the FIN even while a reader waits)."""
        import socket

        for conn in self._sockets:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for conn in self._sockets:
            try:
                conn.close()
            except OSError:
                pass
