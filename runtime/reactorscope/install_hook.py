"""Patch Twisted modules as they are imported, never importing them early (that would change which reactor
the app gets): ``when_imported(name, callback)`` runs ``callback(module)`` right after the module's code.

Reactor installs: every one (the default reactor, ``--reactor=...`` of twistd and twist, every
``xreactor.install()``) goes through ``twisted.internet.main.installReactor``, which checks that no reactor is
installed, then sets ``twisted.internet.reactor`` and ``sys.modules["twisted.internet.reactor"]``. The shim
does not wrap ``installReactor`` (a wrapper would rename it and add its frame to the app's tracebacks, e.g. of
ReactorAlreadyInstalledError). It watches the package instead: from its import until the first reactor is
hooked, the class of the ``twisted.internet`` module is a ModuleType subclass whose ``__setattr__`` sees
``reactor`` being set, after installReactor's checks, so the shim's frame is never on an error path. Once a
reactor is hooked the module's class is ModuleType again. A reactor already installed is attached at once.

The import hook hands each module back its own loader (``__loader__``, ``__spec__.loader``) before its code
runs, and leaves ``sys.meta_path`` when nothing more is awaited. Also used for ``twisted.web.server``.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Sequence

from reactorscope.console import warn

PACKAGE = "twisted.internet"
MARK = "__reactorscope_wrapped__"  # on the shim's wrappers, so that none is installed twice

ModuleCallback = Callable[[ModuleType], None]
# Called with each object installed as the reactor until it returns True (that reactor is hooked).
OnInstall = Callable[[Any], bool]


def _watch_package(package: ModuleType, on_install: OnInstall) -> None:
    if type(package) is not ModuleType:
        warn(f"could not watch reactor installs ({PACKAGE} is a {type(package).__name__}); the app runs untimed")
        return

    class InternetPackage(ModuleType):
        """twisted.internet until its reactor is installed: sees ``twisted.internet.reactor = reactor``."""

        def __setattr__(self, name: str, value: Any) -> None:
            ModuleType.__setattr__(self, name, value)
            if name == "reactor":
                try:
                    hooked = on_install(value)
                except Exception as error:  # the shim's failure must never reach installReactor's caller
                    warn(f"could not hook the reactor ({error!r}); the app runs without Reactor Scope")
                    hooked = True
                if hooked and type(self) is InternetPackage:
                    ModuleType.__setattr__(self, "__class__", ModuleType)

    package.__class__ = InternetPackage


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
        # The module sees its own loader, as without the shim (importlib.resources and pkgutil read it).
        module.__loader__ = self._inner
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._inner
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
                    if not self.waiting and self in sys.meta_path:
                        sys.meta_path.remove(self)
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


def install_reactor_hook(on_install: OnInstall) -> None:
    def watch(package: ModuleType) -> None:
        reactor = sys.modules.get("twisted.internet.reactor")
        if reactor is not None and not isinstance(reactor, ModuleType) and on_install(reactor):
            return  # late attach: callables captured before this moment stay untimed
        _watch_package(package, on_install)

    when_imported(PACKAGE, watch)
