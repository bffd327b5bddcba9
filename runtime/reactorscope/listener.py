"""Attach mode: the shim listens (loopback TCP, or a Unix socket only its user can open) until a telemetry
server attaches.

Every connection gets the handshake of handshake.py at once, all of them side by side: one listener thread
waits on every pending connection with a selector, each with its own deadline (ATTACH_TIMEOUT_S), so
connections that say nothing (any local user can open some) cannot delay a server that proves the token; at
most MAX_PENDING wait at a time, the oldest closed first. A connection that completes the handshake becomes the
peer the sender writes to (one at a time; a newer one replaces the older). The listener thread never touches the
reactor, and nothing it receives is executed.
"""
from __future__ import annotations

import os
import selectors
import socket
import stat
import threading
import time
from typing import Dict, Optional

from reactorscope import handshake
from reactorscope.console import warn
from reactorscope.transport import Peer, PeerHolder, format_address, parse_address, socket_peer

ATTACH_TIMEOUT_S = 5.0  # a connection's deadline for the whole handshake
MAX_PENDING = 32
_POLL_S = 0.5  # at least this often the thread looks whether it was closed


class _Pending:
    """A connection still in its handshake."""

    __slots__ = ("sock", "shake", "out", "deadline")

    def __init__(self, sock: socket.socket, token: str, deadline: float) -> None:
        self.sock = sock
        self.shake = handshake.ShimHandshake(token)
        self.out = bytearray(self.shake.opening())
        self.deadline = deadline


class Listener(PeerHolder):
    """Listens at ``address``; ``current()`` is the peer that last proved the token, if still connected."""

    def __init__(self, address: str, token: str) -> None:
        super().__init__()
        family, addr = parse_address(address)
        self.token = token
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        if family == getattr(socket, "AF_UNIX", None):
            assert isinstance(addr, str)
            if os.path.exists(addr) and stat.S_ISSOCK(os.stat(addr).st_mode):
                os.unlink(addr)
            old_umask = os.umask(0o177)  # the socket file is the user's alone
            try:
                self._sock.bind(addr)
            finally:
                os.umask(old_umask)
            self._unix_path: Optional[str] = addr
        else:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(addr)
            self._unix_path = None
        self._sock.listen(16)
        self._sock.setblocking(False)
        self.address = format_address(family, self._sock.getsockname())
        self._lock = threading.Lock()
        self._new_peer: Optional[Peer] = None
        self._closed = False
        self.refusals = 0  # connections that did not prove the token
        self._pending: Dict[socket.socket, _Pending] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._loop, name="reactorscope-listener", daemon=True)
        self._thread.start()

    # -- the listener thread ---------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while not self._closed:
                now = time.monotonic()
                wake_at = min([p.deadline for p in self._pending.values()] + [now + _POLL_S])
                for key, mask in self._selector.select(max(0.0, wake_at - now)):
                    if key.fileobj is self._wake_read:
                        return
                    if key.fileobj is self._sock:
                        self._accept()
                    elif isinstance(key.data, _Pending):
                        self._step(key.data, mask)
                now = time.monotonic()
                for pending in [p for p in self._pending.values() if p.deadline <= now]:
                    self._drop(pending, f"it did not finish the handshake within {ATTACH_TIMEOUT_S:g} s")
        except (OSError, ValueError):
            pass  # the listening socket was closed under us: the app is ending
        finally:
            for pending in list(self._pending.values()):
                self._drop(pending)
            self._selector.close()
            self._wake_read.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except (ConnectionAbortedError, ConnectionResetError):
                continue  # gone before it was accepted: the next one
            except OSError:
                if not self._closed:
                    time.sleep(_POLL_S / 10)  # out of descriptors, say: pending ones will time out and free some
                return
            if len(self._pending) >= MAX_PENDING:
                self._drop(min(self._pending.values(), key=lambda p: p.deadline))
            sock.setblocking(False)
            pending = _Pending(sock, self.token, time.monotonic() + ATTACH_TIMEOUT_S)
            self._pending[sock] = pending
            self._selector.register(sock, selectors.EVENT_READ, pending)
            self._write(pending)

    def _step(self, pending: _Pending, mask: int) -> None:
        if pending.sock not in self._pending:
            return  # dropped earlier in the same round
        if mask & selectors.EVENT_WRITE:
            self._write(pending)
        if not mask & selectors.EVENT_READ or pending.sock not in self._pending:
            return
        try:
            data = pending.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._drop(pending, f"the connection failed: {error.strerror or error}")
            return
        if not data:
            self._drop(pending, "it closed the connection " + ("after the shim's proof" if pending.shake.proved else "without proving it knows the token"))
            return
        try:
            pending.out += pending.shake.feed(data)
        except handshake.Refused as refusal:
            self._drop(pending, str(refusal))
            return
        self._write(pending)
        if pending.shake.done and pending.sock in self._pending:
            self._hand_over(pending)

    def _write(self, pending: _Pending) -> None:
        try:
            while pending.out:
                sent = pending.sock.send(pending.out)
                del pending.out[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as error:
            self._drop(pending, f"the connection failed: {error.strerror or error}")
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending.out else 0)
        self._selector.modify(pending.sock, events, pending)

    def _hand_over(self, pending: _Pending) -> None:
        """The peer proved the token and welcomed ours: the sender writes HELLO and the rest to it."""
        del self._pending[pending.sock]
        self._selector.unregister(pending.sock)
        pending.sock.setblocking(True)
        with self._lock:
            if self._new_peer is not None:
                self._new_peer.close()
            self._new_peer = socket_peer(pending.sock, self.address)

    def _drop(self, pending: _Pending, reason: Optional[str] = None) -> None:
        if self._pending.pop(pending.sock, None) is None:
            return
        try:
            self._selector.unregister(pending.sock)
        except (KeyError, ValueError):
            pass
        pending.sock.close()
        if reason is not None:
            self.refusals += 1
            if self.refusals == 1:
                warn(
                    f"a peer that connected to {self.address} did not prove it knows this session's token ({reason}); "
                    "it was closed, and was sent nothing but a nonce"
                )

    # -- the sender's side -----------------------------------------------------------------------------

    def current(self) -> Optional[Peer]:
        with self._lock:
            if self._new_peer is not None:
                if self.peer is not None:
                    self.peer.close()
                    self._let_go(self.peer)
                self.peer, self._new_peer = self._new_peer, None
        if self.peer is not None and self.peer.alive:
            return self.peer
        return None

    def close(self) -> None:
        self._closed = True
        try:
            self._wake_write.send(b"x")  # the listener thread ends and closes what is still pending
        except OSError:
            pass
        for end in (self._wake_write, self._sock):
            try:
                end.close()
            except OSError:
                pass
        if self.peer is not None:
            self.peer.close()
        if self._unix_path:
            try:
                os.unlink(self._unix_path)
            except OSError:
                pass
