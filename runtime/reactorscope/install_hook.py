"""Patch Twisted modules as they are imported, never importing them early (that would change which reactor
the app gets): ``when_imported(name, callback)`` runs ``callback(module)`` right after the module's code.

Used for ``twisted.internet.main.installReactor``, which every reactor install calls (the default reactor,
``--reactor=...`` of twistd and twist, every ``xreactor.install()``; a reactor already installed is attached
at once), and for ``twisted.web.server`` (web_hooks.py).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Sequence

from reactorscope.console import warn

MODULE = "twisted.internet.main"
MARK = "__reactorscope_wrapped__"  # on the shim's wrappers, so that none is installed twice

ModuleCallback = Callable[[ModuleType], None]


def _patch(module: ModuleType, on_install: Callable[[Any], None]) -> None:
    original = module.installReactor
    if getattr(original, MARK, False):
        return

    def installReactor(reactor: Any) -> None:
        original(reactor)  # errors (ReactorAlreadyInstalledError) reach the app unchanged
        on_install(reactor)

    installReactor.__doc__ = original.__doc__
    setattr(installReactor, MARK, True)
    module.installReactor = installReactor


def _call(callback: ModuleCallback, module: ModuleType) -> None:
    try:
        callback(module)
    except Exception as error:  # the shim's failure must not fail the app's import
        warn(f"could not hook {module.__name__} ({error!r}); the app runs without that part")


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any, callbacks: List[ModuleCallback]) -> None:
        self._inner = inner
        self._callbacks = callbacks

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)  # the module's own errors reach the app unchanged
        for callback in self._callbacks:
            _call(callback, module)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.waiting: Dict[str, List[ModuleCallback]] = {}

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in self.waiting:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self.waiting.pop(fullname))
                return spec
        return None


def when_imported(name: str, callback: ModuleCallback) -> None:
    """Runs ``callback(module)`` once the module ``name`` has been imported: now, if it already has been."""
    module = sys.modules.get(name)
    if module is not None:
        _call(callback, module)
        return
    finder = next((f for f in sys.meta_path if isinstance(f, _Finder)), None)
    if finder is None:
        finder = _Finder()
        sys.meta_path.insert(0, finder)
    finder.waiting.setdefault(name, []).append(callback)


def install_reactor_hook(on_install: Callable[[Any], None]) -> None:
    when_imported(MODULE, lambda module: _patch(module, on_install))
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is not None and not isinstance(reactor, ModuleType):
        on_install(reactor)  # late attach: callables captured before this moment stay untimed
