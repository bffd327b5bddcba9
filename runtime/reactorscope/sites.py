"""Source locations interned as small integer ids, sent once each (SITES frames)."""
from __future__ import annotations

import functools
import threading
from types import CodeType
from typing import Any, Dict, List, Optional, Tuple

SiteRow = Tuple[int, int, str, str]  # id, first line, file, name
WITH_COUNT_CLOSURE = ("LoopingCall.withCount.<locals>.counter", "twisted.internet.task")


def _with_count_target(f: Any) -> Any:
    """The user's function inside ``LoopingCall.withCount(f)``'s closure (cell ``countCallable``), else None."""
    if (getattr(f, "__qualname__", None), getattr(f, "__module__", None)) != WITH_COUNT_CLOSURE:
        return None
    try:
        return f.__closure__[f.__code__.co_freevars.index("countCallable")].cell_contents
    except (AttributeError, IndexError, TypeError, ValueError):  # another Twisted's closure: left as it is
        return None


class SiteTable:
    """Thread-safe: the reactor thread and the watchdog both intern; reads of the dict need no lock."""

    def __init__(self) -> None:
        # code object (or name) -> id; hot paths call ``ids_by_key.get`` directly.
        self.ids_by_key: Dict[Any, int] = {}
        self._rows: List[SiteRow] = []
        self._lock = threading.Lock()

    def code(self, code: CodeType, qualname: Optional[str] = None) -> int:
        """``qualname`` names the site where the code object cannot (Python < 3.11 has no co_qualname)."""
        try:
            return self.ids_by_key[code]
        except KeyError:
            name = getattr(code, "co_qualname", None) or qualname or code.co_name
            return self._add(code, code.co_firstlineno, code.co_filename, name)

    def named(self, key: str, file: str = "", line: int = 0) -> int:
        """A site with no code object (a builtin): keyed by name."""
        try:
            return self.ids_by_key[key]
        except KeyError:
            return self._add(key, line, file, key)

    def key_of(self, f: Any) -> Any:
        """What the hot paths store for a callable: its code object when it has one (interned later, off the
        reactor thread), else the site id, resolved now."""
        code = getattr(f, "__code__", None)
        return code if code.__class__ is CodeType else self.callable(f)

    def resolve(self, key: Any) -> int:
        """A stored key (code object or site id) as a site id."""
        return key if key.__class__ is int else self.code(key)

    def callable(self, f: Any) -> int:
        """The site of what calling ``f`` runs: a function, a bound method, a partial, a LoopingCall..."""
        code = getattr(f, "__code__", None)  # functions, and bound methods (which forward __code__)
        if code is not None:
            site = self.ids_by_key.get(code)
            if site is not None:
                return site
        return self._slow_callable(f, 0)

    def _slow_callable(self, f: Any, depth: int) -> int:
        if depth < 8:
            if isinstance(f, functools.partial):
                return self._slow_callable(f.func, depth + 1)
            counted = _with_count_target(f)
            if counted is not None:
                return self._slow_callable(counted, depth + 1)
            code = getattr(f, "__code__", None)
            if isinstance(code, CodeType):
                return self.code(code, getattr(f, "__qualname__", None))
            # twisted.internet.task.LoopingCall and similar callables that wrap a user function as ``f``
            inner = getattr(f, "f", None)
            if inner is not None and callable(inner) and inner is not f:
                return self._slow_callable(inner, depth + 1)
            call = getattr(type(f), "__call__", None)  # noqa: B004 (the type's function, for its code)
            code = getattr(call, "__code__", None)
            if isinstance(code, CodeType):
                return self.code(code, getattr(call, "__qualname__", None))
        name = getattr(f, "__qualname__", None) or type(f).__qualname__
        module = getattr(f, "__module__", None) or ""
        return self.named(f"{module}.{name}" if module else name)

    def _add(self, key: Any, line: int, file: str, name: str) -> int:
        with self._lock:
            site = self.ids_by_key.get(key)
            if site is None:
                site = len(self._rows) + 1
                self._rows.append((site, line, file, name))
                self.ids_by_key[key] = site
            return site

    def rows_since(self, count: int) -> List[SiteRow]:
        """Rows added after the first ``count``: what a connection has not been sent yet."""
        return self._rows[count:]

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, site: int) -> SiteRow:
        return self._rows[site - 1]
