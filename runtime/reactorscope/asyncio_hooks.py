"""Hook on asyncio's own callbacks under Twisted's asyncio reactor: every ``Handle`` the reactor's event loop runs
that is not Twisted's (asyncio Tasks' steps, futures' done callbacks, ``call_soon``/``call_later`` handles of
native asyncio code and of frameworks built on it, e.g. Scrapy 2.13+) is a top-level callback of its own.

Without this, an app whose work runs in asyncio Tasks on the asyncio reactor showed none of it: a Scrapy
spider whose ``parse`` blocked 60 ms a page had no event and no stall sample, since the watchdog samples only
while a top-level callback runs. ``asyncio.events.Handle._run`` is patched on the class (the event loop calls
``handle._run()`` for each ready handle, and TimerHandle inherits it); only handles of the hooked reactor's loop
are timed. Twisted's own handles are left to the reactor hooks, which time what they run: the reactor's timer
(``_onTimer``, which runs ``runUntilCurrent``), readers and writers (``callWithLogger`` -> ``_readOrWrite``), and
``callFromThread``'s handle (asyncioreactor.py's own code).

A Task's step is attributed to the Task's coroutine (its code object); any other handle to its callback. These
events are of the timer kind (docs/runtime.md): what asyncio's loop calls soon or later.
"""
from __future__ import annotations

import asyncio.events
from types import CodeType
from typing import Any, Callable, Optional, Set

from reactorscope.patches import Patches
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_TIMER

# Files whose callables are the reactor's own handles (their work is timed by the reactor hooks).
_TWISTED_HANDLE_FILES = ("asyncioreactor.py",)


def _is_twisted_handle(callback: Any, twisted_codes: Set[CodeType]) -> bool:
    code = getattr(callback, "__code__", None)
    if code is None:
        return False
    return code in twisted_codes or code.co_filename.endswith(_TWISTED_HANDLE_FILES) and "twisted" in code.co_filename


class AsyncioHooks:
    def __init__(self, rec: Recorder, sites: SiteTable) -> None:
        self.rec = rec
        self.sites = sites
        self._patches = Patches()
        self.stop_codes: Set[object] = set()

    def install(self, reactor: Any) -> None:
        loop = getattr(reactor, "_asyncioEventloop", None)
        if loop is None or self._patches.applied:
            return
        handle_class = asyncio.events.Handle
        original: Callable[[Any], Any] = handle_class.__dict__["_run"]
        from twisted.python.log import callWithLogger

        twisted_codes: Set[CodeType] = {callWithLogger.__code__}
        # key_of's answer per callback code: None for Twisted's own handles (not timed).
        own: dict = {}
        rec = self.rec
        now = rec.now
        origin = rec.origin
        events = rec.events
        extend = events.extend
        limit = rec.limit
        key_of = self.sites.key_of

        def key_for(callback: Any) -> Optional[Any]:
            owner = getattr(callback, "__self__", None)
            if isinstance(owner, asyncio.Future):  # a Task's step or wake-up: its coroutine
                get_coro = getattr(owner, "get_coro", None)
                coro = get_coro() if get_coro is not None else None
                code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None) or getattr(coro, "ag_code", None)
                if code is not None:
                    return code
            code = getattr(callback, "__code__", None)
            if code is not None:
                skip = own.get(code)
                if skip is None:
                    skip = own[code] = _is_twisted_handle(callback, twisted_codes)
                if skip:
                    return None
            return key_of(callback)

        def _run(self: Any) -> Any:
            if self._loop is not loop or rec.current is not None:
                return original(self)
            try:
                key = key_for(self._callback)
            except Exception:  # an odd callable: unattributed, never an app error
                key = 0
            if key is None:
                return original(self)
            t0 = now()
            rec.current = current = [t0, key, KIND_TIMER, 0]
            try:
                return original(self)
            finally:
                t1 = now()
                current[3] = t1
                rec.current = None
                if len(events) < limit:
                    extend((KIND_TIMER, key, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        _run.__name__ = original.__name__
        _run.__qualname__ = original.__qualname__
        _run.__doc__ = original.__doc__
        _run.__module__ = original.__module__
        _run.__wrapped__ = original  # type: ignore[attr-defined]
        self.stop_codes.update((_run.__code__, original.__code__))
        self._patches.set(handle_class, "_run", _run)

    def uninstall(self) -> None:
        self._patches.undo()
