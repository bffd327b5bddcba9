"""Hooks on twisted.internet.defer: Deferred callback runs and coroutine / inlineCallbacks steps.

Both are nested events: they run inside a top-level callback (a timer, an I/O event, a thread call).
- ``Deferred._runCallbacks`` runs a Deferred's pending callbacks, and chained Deferreds, in one call: one
  DEFERRED event, attributed to the first pending callback in the app's code; when none is, to the first app
  callable a library callback wraps (deferLater's closure, a partial, ``inlineCallbacks``; attribution.py);
  else to the first callback that is not Twisted's own pass-through.
- ``_inlineCallbacks`` is looked up as a module global each time a generator or coroutine resumes (3
  arguments in Twisted 22.4, 4 from 24.x): one COROUTINE event per resume, attributed to the generator's code.
Only the reactor thread's events are recorded: Deferreds fired in worker threads are not the reactor's time.
"""
from __future__ import annotations

import functools
import sys
import threading
from types import CodeType, CoroutineType, GeneratorType
from typing import Any, List

from reactorscope.attribution import AppHooks
from reactorscope.wire import KIND_COROUTINE, KIND_DEFERRED


class DeferHooks(AppHooks):
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
        now, origin, events, extend, limit = rec.sink()
        key_of = self.sites.key_of
        get_ident = threading.get_ident
        app = self.app
        info_of = app.info.get
        classify = app.classify
        callable_code = app.callable_code

        def first_callback_key(d: Any, callbacks: List[Any]) -> Any:
            is_failure = isinstance(getattr(d, "result", None), Failure)
            # The first callback in the app's code: one dict lookup per callback, cached per code object.
            # On the way: the first that is not a pass-through, and whether any may wrap an app callable (a
            # closure, a partial, a callable object).
            fallback = None
            wraps = False
            for item in callbacks:
                f = item[1][0] if is_failure else item[0][0]
                code = getattr(f, "__code__", None)
                if code.__class__ is CodeType:
                    info = info_of(code)
                    if info is None:
                        info = classify(code)
                    if info is True:
                        return code
                    if info:
                        wraps = True
                elif f not in pass_through:
                    wraps = True
                if fallback is None and f not in pass_through:
                    fallback = f
            # None is the app's: the first app callable that a library callback wraps, else the first that is
            # not a pass-through (all of Twisted's own, or all the library's).
            if wraps:
                for item in callbacks:
                    f = item[1][0] if is_failure else item[0][0]
                    if f not in pass_through:
                        found = callable_code(f)
                        if found is not None:
                            return found
            return 0 if fallback is None else key_of(fallback)

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
        now, origin, events, extend, limit = rec.sink()
        get_ident = threading.get_ident
        app = self.app
        info_of = app.info.get
        classify = app.classify
        iterator_code = app.iterator_code
        awaitable_code = app.awaitable_code

        code_attribute = {GeneratorType: "gi_code", CoroutineType: "cr_code"}.get

        def step_key(gen: Any) -> Any:
            """A code object or site id; None for an object without code, looked at once the step ran."""
            name = code_attribute(type(gen))
            code = getattr(gen, name, None) if name else (getattr(gen, "gi_code", None) or getattr(gen, "cr_code", None))
            if code is None:
                return None
            info = info_of(code)
            if info is None:
                info = classify(code)
            if info is True:
                return code
            # A library coroutine: the app's one it awaits or delegates to now, if any (attributes only, no
            # frame is read: this runs at every resume).
            return iterator_code(gen, False) or code

        def _inlineCallbacks(*args: Any) -> Any:
            if get_ident() != rec.reactor_thread:
                return original(*args)
            try:
                key = step_key(args[1])
            except Exception:  # an odd awaitable: unattributed, never an app error
                key = 0
            t0 = now()
            try:
                return original(*args)
            finally:
                t1 = now()
                if key is None:
                    # An async generator's __anext__() driven as a coroutine (a crawler's output): its chain of
                    # async generators is built by its first step, so it is looked through after the step.
                    try:
                        key = awaitable_code(args[1]) or 0
                    except Exception:
                        key = 0
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
