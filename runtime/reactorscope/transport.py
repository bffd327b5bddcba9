"""Where frames go: the telemetry server (connect mode), a server that attaches (listen mode: listener.py),
a recording.

Every connection opens with the handshake of handshake.py: the shim sends a nonce and nothing else until the
peer has proved it knows the per-session token, then proves it in turn; the token itself never travels. Sockets
are loopback TCP (IP literals only) or Unix sockets. Sends have a short timeout: a slow or vanished peer costs
the sender thread at most that, never the reactor, and its data is dropped and counted: what was never
written, and what the server's side had not received when the connection was given up (inflight.py says what can
be known of that). Nothing received is executed: the handshake's frames are compared, and after it the server sends nothing (bytes are discarded).

A peer that does not prove the token (not this session's server, one that no longer knows the token, or
another local user who took its address) is closed, said once on stderr, and retried with a growing backoff.
One that was welcomed and later went away (a restarted server, say) is retried at once, quietly.
"""
from __future__ import annotations

import io
import ipaddress
import json
import os
import re
import socket
import struct
import tempfile
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

from reactorscope import handshake, wire
from reactorscope.console import warn
from reactorscope.inflight import InFlight, send_queue_reader

SEND_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0
# Connect mode's whole handshake (the real server answers in milliseconds); the sender thread waits, never the
# reactor.
HANDSHAKE_TIMEOUT_S = SEND_TIMEOUT_S
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 5.0

Address = Union[Tuple[str, int], str]

# A loopback IPv4 literal: four decimal parts, no leading zeros (they read as octal elsewhere), the first 127.
# The same rule as server/src/debugSocket.ts (loopbackHost); cases in test/fixtures/addresses.json.
_IPV4_LOOPBACK = re.compile(r"127(?:\.(?:0|[1-9][0-9]{0,2})){3}")
_PORT = re.compile(r"[0-9]{1,5}")


class AddressError(ValueError):
    pass


def loopback_host(host: str) -> Optional[str]:
    """The IP literal to connect to when ``host`` is a loopback one (127.0.0.0/8, ``::1``, or ``localhost``,
    which is taken as 127.0.0.1 and never resolved); None for anything else, names included."""
    if host == "localhost":
        return "127.0.0.1"
    if _IPV4_LOOPBACK.fullmatch(host) and all(int(part) <= 255 for part in host.split(".")):
        return host
    if ":" in host:
        try:
            if ipaddress.IPv6Address(host) == ipaddress.IPv6Address("::1"):
                return "::1"
        except ValueError:
            pass
    return None


def parse_address(text: str) -> Tuple[int, Address]:
    """``tcp:HOST:PORT`` with a loopback host, or ``unix:PATH``; returns (socket family, address)."""
    kind, _, rest = text.partition(":")
    if kind == "unix" and rest:
        if not hasattr(socket, "AF_UNIX"):
            raise AddressError("Unix sockets are not available on this system")
        return socket.AF_UNIX, rest
    if kind == "tcp":
        host, _, port_text = rest.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or not _PORT.fullmatch(port_text) or int(port_text) > 65535:
            raise AddressError(f"bad address {text!r}: expected tcp:HOST:PORT or unix:PATH")
        literal = loopback_host(host)
        if literal is None:
            raise AddressError(f"refusing {text!r}: the debug socket is loopback only (127.x.y.z, ::1 or localhost)")
        family = socket.AF_INET6 if ":" in literal else socket.AF_INET
        return family, (literal, int(port_text))
    raise AddressError(f"bad address {text!r}: expected tcp:HOST:PORT or unix:PATH")


def format_address(family: int, address: Any) -> str:
    if family == getattr(socket, "AF_UNIX", None):
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"tcp:[{host}]:{port}" if ":" in host else f"tcp:{host}:{port}"


class Peer:
    """One stream: a socket or a file. Knows how many sites it has been sent, and (a socket) the callbacks it lost."""

    def __init__(
        self,
        write: Callable[[bytes], None],
        close: Callable[[], None],
        name: str,
        ended_by_other_side: Optional[Callable[[], bool]] = None,
        in_flight: Optional[InFlight] = None,
        abort: Optional[Callable[[], None]] = None,
        preamble: bytes = wire.PREAMBLE,
    ) -> None:
        self._write = write
        self._close = close
        self._ended_by_other_side = ended_by_other_side
        self._in_flight = in_flight
        self._abort = abort or close
        self.name = name
        self.alive = True
        # Callbacks in EVENTS frames this connection lost: not written whole, or not received when given up.
        self.lost = 0
        # The other side closed or reset the connection (as opposed to our closing it, or a send timing out).
        self.hung_up = False
        # What goes before HELLO: the preamble, unless the handshake has sent it already (a socket).
        self.preamble = preamble
        # What this stream has been sent so far (a new connection starts from nothing).
        self.greeted = False
        self.sites_sent = 0
        self.meta_version = -1

    def send(self, data: bytes, events: Sequence[Tuple[int, int]] = ()) -> bool:
        """Writes ``data``, which holds the EVENTS frames ``events`` (callbacks, byte offset of the frame's end in
        ``data``); a failure gives the connection up."""
        if not self.alive:
            return False
        start = self._in_flight.written if self._in_flight is not None else 0
        try:
            self._write(data)
            sent = True
        except (OSError, ValueError) as error:
            if isinstance(error, ConnectionError):  # EPIPE, ECONNRESET: the other side closed first
                self.hung_up = True
            sent = False
        if self._in_flight is not None:
            self.lost += self._in_flight.took(start, events)
        if not sent:
            self.give_up()
        return sent

    def check(self) -> bool:
        """Whether the peer is still alive, giving it up first if the other side has closed its end."""
        if self.alive and self._ended_by_other_side is not None and self._ended_by_other_side():
            self.hung_up = True
            self.give_up()
        return self.alive

    def give_up(self) -> None:
        """Ends a connection the shim no longer waits for (a send failed, the server hung up): the callbacks the
        server's side has not received are counted in ``lost`` and, where that is known, discarded by a reset,
        never delivered late."""
        if not self.alive:
            return
        if self._in_flight is not None:
            self.lost += self._in_flight.undelivered()
        self.alive = False
        try:
            self._abort()
        except OSError:
            pass

    def take_lost(self) -> int:
        """The callbacks lost since the last call."""
        lost, self.lost = self.lost, 0
        return lost

    def close(self) -> None:
        """Ends the stream in order: what the kernel took is still delivered (the end of a run)."""
        if self.alive:
            self.alive = False
            try:
                self._close()
            except OSError:
                pass


def socket_peer(sock: socket.socket, name: str) -> Peer:
    sock.settimeout(SEND_TIMEOUT_S)
    in_flight = InFlight(send_queue_reader(sock))

    def write(data: bytes) -> None:
        # sendall() with one timeout for the whole write, counting what the kernel takes as it goes: sendall
        # cannot say how much it wrote before failing, and the frames it cut are lost.
        view = memoryview(data)
        deadline = time.monotonic() + SEND_TIMEOUT_S
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            sock.settimeout(left)
            count = sock.send(view)
            in_flight.written += count
            view = view[count:]

    def close() -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def abort() -> None:
        # Where the unacknowledged bytes were counted as lost, a reset discards them (SO_LINGER 0): they must not
        # reach the server later. Elsewhere they may still be delivered, and are not counted.
        if in_flight.knows_send_queue:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        else:
            close()

    def ended_by_other_side() -> bool:
        # A look without waiting: EOF or a reset means the other side closed its end. After the handshake the
        # server sends nothing, so whatever bytes come are read and ignored.
        try:
            sock.settimeout(0)
            try:
                return sock.recv(4096) == b""
            finally:
                sock.settimeout(SEND_TIMEOUT_S)
        except ConnectionError:
            return True
        except (OSError, ValueError):  # BlockingIOError: nothing to read, the connection is open
            return False

    return Peer(write, close, name, ended_by_other_side, in_flight, abort, preamble=b"")


def shake_hands(sock: socket.socket, token: str, timeout_s: float) -> None:
    """The shim's side of the handshake on a connected, blocking socket, within ``timeout_s`` in all. Returns
    once the peer has proved the token and welcomed the shim's proof; raises handshake.Refused otherwise."""
    shake = handshake.ShimHandshake(token)
    deadline = time.monotonic() + timeout_s
    try:
        sock.settimeout(timeout_s)
        sock.sendall(shake.opening())
        while not shake.done:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            sock.settimeout(left)
            data = sock.recv(4096)
            if not data:
                raise handshake.Refused(
                    "it closed the connection " + ("after the shim's proof" if shake.proved else "without proving it knows the token")
                )
            reply = shake.feed(data)
            if reply:
                sock.sendall(reply)
    except socket.timeout:
        raise handshake.Refused(f"it did not finish the handshake within {timeout_s:g} s") from None
    except OSError as error:
        raise handshake.Refused(f"the connection failed: {error.strerror or error}") from None


def record_peer(path: str, limit_bytes: Optional[int] = None) -> Peer:
    """A recording: flushed on every write, so a killed process leaves a file readable to its last flush.
    With a limit, the first flush that would pass it ends the recording (whole frames only), said once."""
    handle = open_private(path)
    written = 0

    def write(data: bytes) -> None:
        nonlocal written
        if limit_bytes is not None and written + len(data) > limit_bytes:
            warn(f"the recording {path} reached its limit of {limit_bytes / 1e6:g} MB; what follows is not recorded")
            raise OSError("recording limit reached")
        written += len(data)
        view = memoryview(data)
        while view:
            count = handle.write(view)
            if not count:
                raise OSError("the recording accepted no bytes")
            view = view[count:]

    return Peer(write, handle.close, f"recording {path}")


def open_private(path: str) -> io.FileIO:
    """Opens a recording for writing, readable by this user only: created 0600 (the mode given to O_CREAT, so it
    is never readable by others, not even for a moment), in folders created 0700 where they are missing. A file
    that was already there is truncated and, when it is this user's, made 0600 too; another user's is refused.
    Unbuffered: one write() per flush, so no frame is left half in a buffer."""
    make_private_folders(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        info = os.fstat(fd)
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise PermissionError(f"{path} belongs to another user: not recording into it")
        if info.st_mode & 0o077 and hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # an older file of ours that others could read (the fd's, not the path's)
        os.ftruncate(fd, 0)  # only now: another user's file is left as it was
        return os.fdopen(fd, "wb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def make_private_folders(folder: str) -> None:
    """Creates `folder` and any missing parent, each 0700 (os.makedirs gives its mode to the last one only)."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass


class PeerHolder:
    """What Connector and Listener share: the peer of the moment, and the callbacks lost with the earlier ones."""

    def __init__(self) -> None:
        self.peer: Optional[Peer] = None
        self._lost_events = 0  # lost with peers let go, not yet taken

    def _let_go(self, peer: Peer) -> None:
        self._lost_events += peer.take_lost()

    def take_lost(self) -> int:
        """Callbacks lost with the connections since the last call (Peer.lost), for the drop count."""
        lost, self._lost_events = self._lost_events, 0
        return lost + (self.peer.take_lost() if self.peer is not None else 0)


class Connector(PeerHolder):
    """Connect mode: keeps one connection to the telemetry server, reconnecting with backoff.

    The backoff (FIRST_BACKOFF_S doubling to MAX_BACKOFF_S) grows with every failed connect and every peer that
    does not prove the token, and starts again once a peer has. Called from the sender thread only: the
    handshake waits there (HANDSHAKE_TIMEOUT_S at most), never on the reactor.
    """

    def __init__(self, address: str, token: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.family, self.address = parse_address(address)
        self.text = address
        self._token = token
        self._clock = clock
        self._backoff = FIRST_BACKOFF_S
        self._next_try = 0.0
        self.refusals = 0  # peers that did not prove the token

    def current(self) -> Optional[Peer]:
        """The live peer, connecting first when the last one is gone and the backoff has passed."""
        peer = self.peer
        if peer is not None:
            if peer.check():
                return peer
            self.peer = None  # welcomed, then gone (a server restarting): try again at once
            self._let_go(peer)
        now = self._clock()
        if now < self._next_try:
            return None
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(self.address)
        except OSError:
            sock.close()
            self._wait_longer(now)
            return None
        try:
            shake_hands(sock, self._token, HANDSHAKE_TIMEOUT_S)
        except handshake.Refused as refusal:
            sock.close()
            self._refused(str(refusal))
            return None
        self._backoff = FIRST_BACKOFF_S
        self.peer = socket_peer(sock, self.text)
        return self.peer

    def _wait_longer(self, now: float) -> None:
        self._next_try = now + self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)

    def _refused(self, reason: str) -> None:
        # Nothing but the preamble and a nonce went to it. A restarted server, or the extension registering the
        # token again, may prove it later.
        self.refusals += 1
        if self.refusals == 1:
            warn(refusal_message(self.text, reason))
        self._wait_longer(self._clock())

    def close(self) -> None:
        if self.peer is not None:
            self.peer.close()


def refusal_message(address: str, reason: str) -> str:
    """Said once per process when the telemetry server at ``address`` did not prove the token."""
    return (
        f"the telemetry server at {address} did not prove it knows this session's token ({reason}), so it was "
        "sent nothing but a nonce. Is it the server that started this app, and REACTORSCOPE_TOKEN this session's? (retrying; "
        "events are dropped and counted meanwhile)"
    )


def discovery_dir() -> str:
    """A folder only this user can read, where listening shims announce themselves for 'Attach'."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(base, f"reactorscope-{uid}")


def announce(info: Dict[str, Any]) -> Optional[str]:
    """Writes ``<pid>.json`` (mode 600) into the discovery folder; returns its path, or None if it cannot."""
    folder = discovery_dir()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.stat(folder).st_uid != (os.getuid() if hasattr(os, "getuid") else 0):
            return None  # someone else's folder: never write a token there
        path = os.path.join(folder, f"{os.getpid()}.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(info, handle)
        return path
    except OSError as error:
        warn(f"cannot write the attach file: {error}")
        return None
