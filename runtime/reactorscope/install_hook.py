"""Catch every reactor install: ``twisted.internet.main.installReactor`` is what the default reactor,
``--reactor=...`` of twistd and twist, and every ``xreactor.install()`` call at call time.

The hook waits for ``twisted.internet.main`` to be imported (importing Twisted early would change which
reactor the app gets), then wraps ``installReactor``. A reactor already installed is attached at once.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

MODULE = "twisted.internet.main"
_MARK = "__reactorscope_wrapped__"


def _patch(module: ModuleType, on_install: Callable[[Any], None]) -> None:
    original = module.installReactor
    if getattr(original, _MARK, False):
        return

    def installReactor(reactor: Any) -> None:
        original(reactor)  # errors (ReactorAlreadyInstalledError) reach the app unchanged
        on_install(reactor)

    installReactor.__doc__ = original.__doc__
    setattr(installReactor, _MARK, True)
    module.installReactor = installReactor


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any, on_install: Callable[[Any], None]) -> None:
        self._inner = inner
        self._on_install = on_install

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        _patch(module, self._on_install)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, on_install: Callable[[Any], None]) -> None:
        self._on_install = on_install

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self._on_install)
                return spec
        return None


def install_reactor_hook(on_install: Callable[[Any], None]) -> None:
    module = sys.modules.get(MODULE)
    if module is not None:
        _patch(module, on_install)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(on_install))
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is not None and not isinstance(reactor, ModuleType):
        on_install(reactor)  # late attach: callables captured before this moment stay untimed
