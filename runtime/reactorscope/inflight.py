"""What one connection has written that the telemetry server's side may not have received, so that giving the
connection up counts the callbacks lost with it (gauge 14, docs/protocol.md).

The kernel takes what the shim writes, and the server reads it later. When the shim gives a connection up (a send
timed out, or the server hung up), the callbacks in EVENTS frames that never reached the server's side are lost.
What can be known: how much of each frame the kernel took (the send loop counts it), and on Linux, for TCP, how
much of that the server's kernel has not acknowledged yet (SIOCOUTQ: the send queue), which the shim then discards
by resetting the connection, so that it is lost for certain rather than maybe delivered late. On a Unix socket
every byte written is in the server's queue already. What cannot be known: whether the server ever reads what its
kernel took. The count is thus a lower bound, exact for a server that reads what it received, and every place
that shows it says "at least" (server/src/telemetry.ts, webview/src/view.ts).
"""
from __future__ import annotations

import socket
import struct
import sys
from collections import deque
from typing import Callable, Deque, Optional, Sequence, Tuple

try:
    import fcntl
    import termios
except ImportError:  # not on Windows: nothing is known there beyond what the kernel took
    fcntl = None  # type: ignore[assignment]
    termios = None  # type: ignore[assignment]


def send_queue_reader(sock: socket.socket) -> Optional[Callable[[], int]]:
    """A function giving the bytes written to ``sock`` that the peer's kernel has not acknowledged, where the
    system says (Linux, TCP); None elsewhere."""
    request = getattr(termios, "TIOCOUTQ", None)  # SIOCOUTQ on Linux
    if fcntl is None or request is None or not sys.platform.startswith("linux"):
        return None
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    fd = sock.fileno()

    def unacknowledged() -> int:
        return int(struct.unpack("i", fcntl.ioctl(fd, request, b"\0\0\0\0"))[0])

    return unacknowledged


class InFlight:
    """The bytes one connection's kernel took, and the EVENTS frames among them the server's kernel may lack."""

    def __init__(self, unacknowledged: Optional[Callable[[], int]]) -> None:
        self.written = 0  # bytes the kernel took since the connection opened (the send loop adds to it)
        self._unacknowledged = unacknowledged
        # (end offset, callbacks) of the EVENTS frames the kernel took whole, until the server's kernel has them.
        self._frames: Deque[Tuple[int, int]] = deque()

    @property
    def knows_send_queue(self) -> bool:
        """Whether the unacknowledged bytes are known: only then are they counted, and discarded on giving up."""
        return self._unacknowledged is not None

    def took(self, start: int, frames: Sequence[Tuple[int, int]]) -> int:
        """After a write that began at byte ``start`` (of the connection) and held EVENTS frames, each given as
        (callbacks, byte offset of its end in the write): the callbacks lost now, those of the frames the kernel
        did not take whole (the write failed in them or before them)."""
        lost = 0
        for events, events_end in frames:
            end = start + events_end
            if self.written < end:
                lost += events
            elif self._unacknowledged is not None:
                self._frames.append((end, events))
        if frames and self._unacknowledged is not None:
            self._forget_delivered()
        return lost

    def undelivered(self) -> int:
        """On giving the connection up, before it is reset: the callbacks in frames the server's kernel has not
        received whole. 0 where that is not known (a lower bound, as the count says)."""
        self._forget_delivered()
        lost = sum(events for _, events in self._frames)
        self._frames.clear()
        return lost

    def _forget_delivered(self) -> None:
        if self._unacknowledged is None:
            return
        try:
            delivered = self.written - self._unacknowledged()
        except OSError:  # the socket is gone: nothing more can be known
            self._unacknowledged = None
            self._frames.clear()
            return
        frames = self._frames
        while frames and frames[0][0] <= delivered:
            frames.popleft()
