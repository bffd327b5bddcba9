"""asyncio's own callbacks under Twisted's asyncio reactor: every ``Handle`` the reactor's event loop runs that is
not Twisted's (asyncio Tasks' steps, futures' done callbacks, ``call_soon``/``call_later`` handles of native
asyncio code and of frameworks built on it, e.g. Scrapy 2.13+) is a top-level callback of its own.

Without this, an app whose work runs in asyncio Tasks on the asyncio reactor showed none of it: a Scrapy
spider whose ``parse`` blocked 60 ms a page had no event and no stall sample, since the watchdog samples only
while a top-level callback runs.

How, without a frame of the shim on the handle's stack (the shim stays invisible, docs/runtime.md): the event
loop's ready queue (``loop._ready``) becomes a deque whose ``popleft``, with which ``_run_once`` takes each
handle it runs next, ends the previous handle's event and opens the popped one's; the last one of a pass ends
where the loop goes next, its selector (reactor_hooks.py closes the open event there, as it does for timers).
Twisted's own handles are left to the reactor hooks, which time what they run: the reactor's timer
(``_onTimer``, which runs ``runUntilCurrent``), readers and writers (``callWithLogger`` -> ``_readOrWrite``), and
``callFromThread``'s handle (asyncioreactor.py's code, or the shim's own wrapper of it).

A Task's step is attributed to the Task's coroutine (its code object); any other handle to its callback. These
events are of the timer kind: what asyncio's loop calls soon or later.
"""
from __future__ import annotations

import asyncio
import collections
import os
from types import CodeType
from typing import Any, Callable, Dict, List, Optional, Set

from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_TIMER

_SHIM = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _twisted_handle_code(code: CodeType, twisted_codes: Set[CodeType]) -> bool:
    """Whether a handle with this callback code is Twisted's (or the shim's own wrapper of one)."""
    file = code.co_filename
    return code in twisted_codes or file.startswith(_SHIM) or (file.endswith("asyncioreactor.py") and "twisted" in file)


class AsyncioHooks:
    def __init__(self, rec: Recorder, sites: SiteTable) -> None:
        self.rec = rec
        self.sites = sites
        self.stop_codes: Set[object] = set()
        self._undo: Optional[Callable[[], None]] = None

    def install(self, reactor: Any, open_: List[Any], close_open: Callable[[int], None]) -> None:
        """``open_`` and ``close_open``: the reactor hooks' slot for the top-level event open now, and what ends
        it (at the loop's selector, and here at the next handle)."""
        loop: Any = getattr(reactor, "_asyncioEventloop", None)
        ready = getattr(loop, "_ready", None)
        if type(ready) is not collections.deque or self._undo is not None:
            return  # not a stdlib event loop (uvloop): Twisted's callbacks only
        from twisted.python.log import callWithLogger

        twisted_codes: Set[CodeType] = {callWithLogger.__code__}
        skip_by_code: Dict[CodeType, bool] = {}
        rec = self.rec
        now = rec.now
        key_of = self.sites.key_of

        def key_for(callback: Any) -> Any:
            """The handle's site key; None for Twisted's own handles (not timed here)."""
            owner = getattr(callback, "__self__", None)
            if isinstance(owner, asyncio.Future):  # a Task's step or wake-up: its coroutine
                get_coro = getattr(owner, "get_coro", None)
                coro = get_coro() if get_coro is not None else None
                code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None) or getattr(coro, "ag_code", None)
                if code is not None:
                    return code
            code = getattr(callback, "__code__", None)
            if code.__class__ is CodeType:
                skip = skip_by_code.get(code)
                if skip is None:
                    skip = skip_by_code[code] = _twisted_handle_code(code, twisted_codes)
                if skip:
                    return None
            return key_of(callback)

        class TimedReady(collections.deque):  # type: ignore[type-arg]
            """The loop's ready queue; ``popleft`` is where ``_run_once`` takes the handle it runs next."""

            __slots__ = ()

            def popleft(self) -> Any:
                handle = collections.deque.popleft(self)
                t = now()
                if open_[0] is not None:
                    close_open(t)
                if rec.current is not None or getattr(handle, "_cancelled", True):
                    return handle
                try:
                    key = key_for(handle._callback)
                except Exception:  # an odd callable: unattributed, never an app error
                    key = 0
                if key is not None:
                    rec.current = open_[0] = [t, key, KIND_TIMER, 0]
                return handle

        TimedReady.__name__ = TimedReady.__qualname__ = "deque"
        TimedReady.__module__ = "collections"
        loop._ready = TimedReady(ready)

        def undo() -> None:
            if type(loop._ready) is TimedReady:
                loop._ready = collections.deque(loop._ready)

        self._undo = undo
        # The watchdog's stacks end at the frame that runs a handle (the loop's own).
        self.stop_codes.add(asyncio.events.Handle._run.__code__)

    def uninstall(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None
