"""Shared by the runtime tests: run a Python under the shim, read a recording back."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from reactorscope import wire
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


class FakeServer:
    """A telemetry server stand-in on a real socket: accepts, decodes, keeps every connection's frames.
    ``reading=False`` makes it a peer that never reads (a stuck consumer). With ``token``, it closes at once
    any connection whose HELLO has another token, as server/src/debugSocket.ts does (``refused`` counts them).
    ``hang_up_after_s``: it closes that many seconds after HELLO (at the next data), ``hang_ups`` times in all:
    a server going away mid-stream."""

    def __init__(
        self, family: str = "tcp", path: Optional[str] = None, reading: bool = True, token: Optional[str] = None
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
        self.token = token
        self.refused = 0
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

    def _read(self, conn: Any, frames: List[wire.Frame]) -> None:
        if not self.reading:
            return
        import time

        decoder = wire.StreamDecoder()
        hello_at: Optional[float] = None
        try:
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
                    if self.token is not None and frame.body["token"] != self.token:
                        conn.close()  # the real server: socket.destroy() as soon as HELLO is read
                        self.refused += 1
                        return
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
            frames = decoder.feed(bytes(data))
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
