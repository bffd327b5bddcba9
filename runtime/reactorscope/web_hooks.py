"""Hook on twisted.web: each request's render as a nested WEB_REQUEST event, inside its HTTP channel's read.

``twisted.web.server.Request.render(resrc)`` runs the resource's ``render`` for one request: one event per
call, attributed to the user's method that renders. A resource class that keeps ``Resource.render`` (which
dispatches on the method) is attributed to its ``render_<METHOD>``, or to ``render`` when it has none; a class
that overrides ``render`` (Klein's, say) to that ``render``. ``Request.render`` is patched on the class when
``twisted.web.server`` is imported (install_hook.when_imported). Only the reactor thread's renders are recorded,
timed as the Deferred events of defer_hooks.py are.
"""
from __future__ import annotations

import functools
import threading
from types import ModuleType
from typing import Any, Dict, Tuple

from reactorscope.install_hook import MARK
from reactorscope.patches import Patches
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_WEB_REQUEST

RENDER_SITES_CACHED = 1024  # (class, method) pairs; the method is the client's to choose, so bounded


class RenderSites:
    """The site of what rendering a request with a resource runs; interned once per (class, method), through
    the function so that it is ``Class.method`` on every Python."""

    def __init__(self, sites: SiteTable, base_render: Any) -> None:
        self._sites = sites
        self._base_render = base_render
        self._cache: Dict[Tuple[type, Any], int] = {}

    def __call__(self, resource: Any, method: Any) -> int:
        pair = (type(resource), method)
        key = self._cache.get(pair)
        if key is None:
            key = self._resolve(pair[0], method)
            if len(self._cache) < RENDER_SITES_CACHED:
                self._cache[pair] = key
        return key

    def _resolve(self, cls: type, method: Any) -> int:
        render = getattr(cls, "render", None)
        handler = render
        if render is self._base_render and isinstance(method, bytes):
            try:
                handler = getattr(cls, "render_" + method.decode("ascii"), None) or render
            except UnicodeDecodeError:
                pass  # Resource.render fails such a request itself
        return 0 if handler is None else self._sites.callable(handler)


class WebHooks:
    def __init__(self, rec: Recorder, sites: SiteTable) -> None:
        self.rec = rec
        self.sites = sites
        self._patches = Patches()

    def install(self, server: ModuleType) -> None:
        Request = server.Request
        original = Request.__dict__["render"]
        if self._patches.applied or getattr(original, MARK, False):
            return
        render_sites = RenderSites(self.sites, server.resource.Resource.render)
        rec = self.rec
        now = rec.now
        origin = rec.origin
        events = rec.events
        extend = events.extend
        limit = rec.limit
        get_ident = threading.get_ident

        def render(self: Any, resrc: Any) -> Any:
            if get_ident() != rec.reactor_thread:
                return original(self, resrc)
            try:
                key = render_sites(resrc, self.method)
            except Exception:  # an odd resource or method: unattributed, never an app error
                key = 0
            t0 = now()
            try:
                return original(self, resrc)
            finally:
                t1 = now()
                if len(events) < limit:
                    extend((KIND_WEB_REQUEST, key, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        functools.update_wrapper(render, original)  # reads as the original: name, doc, signature
        setattr(render, MARK, True)
        self._patches.set(Request, "render", render)

    def uninstall(self) -> None:
        self._patches.undo()
