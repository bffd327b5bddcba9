"""What the hooks change in Twisted, and how to put it back: every hook class patches through one of these."""
from __future__ import annotations

from typing import Any, Callable, List


class Patches:
    def __init__(self) -> None:
        self._undo: List[Callable[[], None]] = []

    @property
    def applied(self) -> bool:
        return bool(self._undo)

    def set(self, obj: Any, name: str, value: Any) -> None:
        """Sets ``obj.name``; undoing restores the object's own attribute, or removes the one this added."""
        had_own = name in getattr(obj, "__dict__", {})
        previous = obj.__dict__.get(name) if had_own else None
        setattr(obj, name, value)

        def restore() -> None:
            if had_own:
                setattr(obj, name, previous)
            else:
                try:
                    delattr(obj, name)
                except AttributeError:
                    pass

        self._undo.append(restore)

    def on_undo(self, undo: Callable[[], None]) -> None:
        """Another change to take back, made by the caller."""
        self._undo.append(undo)

    def undo(self) -> None:
        """Takes every change back, newest first."""
        for restore in reversed(self._undo):
            restore()
        self._undo.clear()
