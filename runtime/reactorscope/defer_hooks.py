"""Hooks on twisted.internet.defer: Deferred callback runs and coroutine / inlineCallbacks steps.

Both are nested events: they run inside a top-level callback (a timer, an I/O event, a thread call).
- ``Deferred._runCallbacks`` runs a Deferred's pending callbacks, and chained Deferreds, in one call: one
  DEFERRED event, attributed to the first callback that is not Twisted's own pass-through.
- ``_inlineCallbacks`` is looked up as a module global each time a generator or coroutine resumes (3
  arguments in Twisted 22.4, 4 from 24.x): one COROUTINE event per resume, attributed to the generator's code.
Only the reactor thread's events are recorded: Deferreds fired in worker threads are not the reactor's time.
"""
from __future__ import annotations

import functools
import sys
import threading
from typing import Any, List

from reactorscope.patches import Patches
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_COROUTINE, KIND_DEFERRED


class DeferHooks:
    def __init__(self, rec: Recorder, sites: SiteTable) -> None:
        self.rec = rec
        self.sites = sites
        self._patches = Patches()

    def install(self, defer: Any) -> None:
        if self._patches.applied:
            return
        self._hook_run_callbacks(defer)
        self._hook_inline_callbacks(defer)

    def uninstall(self) -> None:
        self._patches.undo()

    def _hook_run_callbacks(self, defer: Any) -> None:
        Deferred = defer.Deferred
        original = Deferred.__dict__["_runCallbacks"]
        Failure = defer.Failure
        # 25.5 renamed the callback list to ``_callbacks`` (``callbacks`` warns); 22.4-24.x use ``callbacks``.
        list_name = "_callbacks" if "_callbacks" in Deferred.__init__.__code__.co_names else "callbacks"
        pass_through = tuple(f for f in (getattr(defer, "passthru", None), getattr(defer, "_failthru", None)) if f)
        rec = self.rec
        now = rec.now
        origin = rec.origin
        events = rec.events
        extend = events.extend
        limit = rec.limit
        key_of = self.sites.key_of
        get_ident = threading.get_ident

        def first_callback_key(d: Any, callbacks: List[Any]) -> Any:
            is_failure = isinstance(getattr(d, "result", None), Failure)
            for item in callbacks:
                f = item[1][0] if is_failure else item[0][0]
                if f not in pass_through:
                    return key_of(f)
            return 0

        def _runCallbacks(self: Any) -> None:
            callbacks = self.__dict__.get(list_name)
            if not callbacks or get_ident() != rec.reactor_thread:
                return original(self)
            key = first_callback_key(self, callbacks)
            t0 = now()
            try:
                return original(self)
            finally:
                t1 = now()
                if len(events) < limit:
                    extend((KIND_DEFERRED, key, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        functools.update_wrapper(_runCallbacks, original)  # reads as the original: name, doc, signature
        self._patches.set(Deferred, "_runCallbacks", _runCallbacks)

    def _hook_inline_callbacks(self, defer: Any) -> None:
        original = getattr(defer, "_inlineCallbacks", None)
        if original is None:
            return
        rec = self.rec
        now = rec.now
        origin = rec.origin
        events = rec.events
        extend = events.extend
        limit = rec.limit
        get_ident = threading.get_ident

        def _inlineCallbacks(*args: Any) -> Any:
            if get_ident() != rec.reactor_thread:
                return original(*args)
            gen = args[1]
            key = getattr(gen, "gi_code", None) or getattr(gen, "cr_code", None) or 0
            t0 = now()
            try:
                return original(*args)
            finally:
                t1 = now()
                if len(events) < limit:
                    extend((KIND_COROUTINE, key, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        functools.update_wrapper(_inlineCallbacks, original)  # reads as the original: name, doc, signature
        self._patches.set(defer, "_inlineCallbacks", _inlineCallbacks)
        # Twisted hides ``_inlineCallbacks`` from the tracebacks of Failures (``failure._extraneous``);
        # hide the wrapper the same way, so the app's tracebacks read as they did.
        extraneous = getattr(sys.modules.get("twisted.python.failure"), "_inlineCallbacksExtraneous", None)
        if isinstance(extraneous, list):
            extraneous.append(_inlineCallbacks.__code__)
            self._patches.on_undo(lambda: extraneous.remove(_inlineCallbacks.__code__))
