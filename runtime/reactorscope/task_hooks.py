"""Hook on twisted.internet.task's cooperative tasks: each work unit as a nested COROUTINE event.

``task.cooperate(iterator)`` and ``task.coiterate(iterator)`` hand the iterator to a ``Cooperator``, whose
``_tick`` (a timer: the top-level event, ``Cooperator._tick``) calls ``CooperativeTask._oneWorkUnit`` for one
``next(iterator)`` per task in turn until its time slice is used. Each ``_oneWorkUnit`` is one event here,
attributed to the app's code that ``next`` runs (attribution.py ``iterator_code``): the generator when it is
the app's, else the one it delegates to (``gi_yieldfrom``), else what a library generator iterates or calls (a
framework's ``(callback(x) for x in items)``), else the iterator's own code. The look through a library
generator's frame is kept per task (weakly); an app generator costs one dict lookup per unit. Patched on the
class when ``twisted.internet.task`` is imported; only the reactor thread's work units are recorded.
"""
from __future__ import annotations

import threading
import weakref
from types import CodeType, ModuleType
from typing import Any, Optional, Tuple

from reactorscope.attribution import AppCode, AppHooks, MAX_TRIES
from reactorscope.install_hook import MARK
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.usercode import UserCode
from reactorscope.wire import KIND_COROUTINE


class TaskHooks(AppHooks):
    def __init__(self, rec: Recorder, sites: SiteTable, user_code: Optional[UserCode] = None,
                 app: Optional[AppCode] = None) -> None:
        super().__init__(rec, sites, user_code, app)
        # CooperativeTask -> the key its work units get, for tasks whose iterator is not the app's generator
        self._by_task: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()

    def key_of_iterator(self, task: Any, it: Any) -> Tuple[Any, bool]:
        """What a work unit of ``task`` is attributed to (a code object, or a site id), and whether that is
        final (else it is looked for again after the unit ran)."""
        code = getattr(it, "gi_code", None)
        if code.__class__ is CodeType and self.app.is_app(code):
            return code, True
        if getattr(it, "gi_yieldfrom", None) is not None:  # changes from one unit to the next: not kept
            found = self.app.iterator_code(it)
            if found is not None:
                return found, True
        known = self._by_task.get(task)
        if known is not None and known.__class__ is not int:
            return known, True
        key: Any
        found = self.app.iterator_code(it)
        if found is not None:
            key = found
        elif code.__class__ is CodeType:
            key = code
        else:
            kind = type(it)
            key = self.sites.named(f"{getattr(kind, '__module__', None) or 'builtins'}.{kind.__qualname__}")
        # Not found yet: a lazily built chain may lead to the app later; looked again, MAX_TRIES times in all.
        tries = (known or 0) + 1
        final = found is not None or tries >= MAX_TRIES
        try:
            self._by_task[task] = key if final else tries
        except TypeError:  # a task type without weak references: looked up each time
            final = True
        return key, final

    def install(self, task_module: ModuleType) -> None:
        CooperativeTask = getattr(task_module, "CooperativeTask", None)
        original = getattr(CooperativeTask, "__dict__", {}).get("_oneWorkUnit")
        if original is None or self._patches.applied or getattr(original, MARK, False):
            return
        rec = self.rec
        now, origin, events, extend, limit = rec.sink()
        get_ident = threading.get_ident
        key_of_iterator = self.key_of_iterator

        def _oneWorkUnit(self: Any) -> None:
            if get_ident() != rec.reactor_thread:
                return original(self)
            iterator = self._iterator
            try:
                key, final = key_of_iterator(self, iterator)
            except Exception:  # an odd iterator: unattributed, never an app error
                key, final = 0, True
            t0 = now()
            try:
                return original(self)
            finally:
                t1 = now()
                if not final:  # a library iterator whose chain to the app's code its first units build
                    try:
                        key = key_of_iterator(self, iterator)[0]
                    except Exception:
                        pass
                if len(events) < limit:
                    extend((KIND_COROUTINE, key, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        _oneWorkUnit.__doc__ = original.__doc__
        _oneWorkUnit.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(_oneWorkUnit, MARK, True)
        self._patches.set(CooperativeTask, "_oneWorkUnit", _oneWorkUnit)

    def uninstall(self) -> None:
        self._patches.undo()
