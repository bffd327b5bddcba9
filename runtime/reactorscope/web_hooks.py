"""Hook on twisted.web: each request's render as a nested WEB_REQUEST event, inside its HTTP channel's read.

``twisted.web.server.Request.render(resrc)`` runs the resource's ``render`` for one request: one event per
call, attributed to the app's function the request enters. A resource class that keeps ``Resource.render``
(which dispatches on the method) and has the app's ``render_<METHOD>`` is attributed to it, at no cost per
request. Otherwise what the render runs is not known before it runs: a class that overrides ``render`` (a
dispatcher: Klein's ``KleinResource``, an app's servlet router), or a library resource's method
(``Resource.render_HEAD``, a wrapper resource). For those the render runs with a profile function on the
reactor thread that notes the first ``APP_CALLS`` functions of the app's code entered, not counting the methods
of the resource's own class hierarchy (attribution.py ``FirstAppCall``, at most ``PROFILE_BUDGET`` events). The
event is attributed to the first of them that not every route of that (class, method) enters: where the routes
part, which is the servlet or route an app's own dispatcher picks, past the helpers every request goes through
(Synapse's ``run_in_background``, a logging context). While only one route has been seen, or when a route enters
nothing of its own, to the first; when none is entered, to the render as before. A (class, method) pair
whose renders entered no app function ``GIVE_UP_AFTER`` times in a row is no longer looked into. The look is
skipped when the thread already has a profile function. ``Request.render`` is patched on the class when
``twisted.web.server`` is imported (install_hook.when_imported). Only the reactor thread's renders are recorded,
timed as the Deferred events of defer_hooks.py are.
"""
from __future__ import annotations

import functools
import re
import threading
from types import CodeType, FunctionType, ModuleType
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from reactorscope.attribution import AppCode, AppHooks, FirstAppCall
from reactorscope.install_hook import MARK
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_WEB_REQUEST

RENDER_SITES_CACHED = 1024  # (class, method) pairs; the method is the client's to choose, so bounded
GIVE_UP_AFTER = 16  # renders of one (class, method) in a row that entered no app function, none ever: stop looking
ROUTES_CACHED = 512  # paths (ids masked) remembered per (class, method), oldest forgotten first
APP_CALLS = 48  # app functions noted per look, in the order first entered
# A path segment that is an id (all digits, or a long hex or UUID-like run): masked, so /item/7 and /item/8 are
# one route to remember.
ID_SEGMENT = re.compile(rb"(?<=/)(?:\d+|[0-9A-Fa-f-]{16,})(?=/|$)")
_UNKNOWN: Any = object()


class RenderSite:
    """What rendering with one (class, method) is attributed to: ``key`` (a site id), and whether to look for
    the app function entered inside the resource's ``render`` (``within``, its code; None: do not look), not
    counting ``skip`` (a dispatcher's own class hierarchy). ``routes`` remembers what each path (ids masked)
    entered, so that a path's look costs once."""

    __slots__ = ("key", "within", "skip", "misses", "routes", "common", "_first")

    def __init__(self, key: int, within: Optional[CodeType] = None, skip: FrozenSet[CodeType] = frozenset()) -> None:
        self.key = key
        self.within = within
        self.skip = skip
        self.misses = 0  # looks in a row that found nothing; -1 once one found an app function
        self.routes: Dict[Any, Tuple[CodeType, ...]] = {}
        # What every route that entered the app's code entered (None until two routes did): the dispatch path.
        self.common: Optional[FrozenSet[CodeType]] = None
        self._first: Optional[Tuple[Any, FrozenSet[CodeType]]] = None  # the first route that entered any, and what

    def known(self, route: Any) -> Any:
        """What a render of ``route`` entered last time: its app codes (maybe none), or ``_UNKNOWN``."""
        return self.routes.get(route, _UNKNOWN)

    def handler(self, entered: Tuple[CodeType, ...]) -> Optional[CodeType]:
        """Of the app codes a route entered, the first that not every route enters (see the module's header)."""
        common = self.common
        if common is not None:
            for code in entered:
                if code not in common:
                    return code
        return entered[0] if entered else None

    def entered(self, route: Any, found: Tuple[CodeType, ...]) -> None:
        routes = self.routes
        if len(routes) >= ROUTES_CACHED:
            del routes[next(iter(routes))]
        routes[route] = found
        if found:
            codes = frozenset(found)
            if self._first is None:
                self._first = (route, codes)
            elif self.common is None:
                if route != self._first[0]:
                    self.common = self._first[1] & codes
            else:
                self.common = self.common & codes
            self.misses = -1
        elif self.misses >= 0:
            self.misses += 1
            if self.misses >= GIVE_UP_AFTER:
                self.within = None


def route_of(path: Any) -> Any:
    return ID_SEGMENT.sub(b"#", path) if isinstance(path, bytes) else None


class RenderSites:
    """The site of what rendering a request with a resource runs; interned once per (class, method), through
    the function so that it is ``Class.method`` on every Python."""

    def __init__(self, sites: SiteTable, base_render: Any, app: AppCode) -> None:
        self._sites = sites
        self._base_render = base_render
        self._app = app
        self._cache: Dict[Tuple[type, Any], RenderSite] = {}

    def __call__(self, resource: Any, method: Any) -> RenderSite:
        pair = (type(resource), method)
        site = self._cache.get(pair)
        if site is None:
            site = self._resolve(pair[0], method)
            if len(self._cache) < RENDER_SITES_CACHED:
                self._cache[pair] = site
        return site

    def _resolve(self, cls: type, method: Any) -> RenderSite:
        render = getattr(cls, "render", None)
        handler = render
        if render is self._base_render and isinstance(method, bytes):
            try:
                handler = getattr(cls, "render_" + method.decode("ascii"), None) or render
            except UnicodeDecodeError:
                pass  # Resource.render fails such a request itself
        if handler is None:
            return RenderSite(0)
        key = self._sites.callable(handler)
        code = getattr(handler, "__code__", None)
        within = getattr(render, "__code__", None)
        if within.__class__ is not CodeType:
            return RenderSite(key)
        if render is not self._base_render:  # a dispatcher: the app function it enters, not its own steps
            return RenderSite(key, within, _own_codes(cls))
        if code.__class__ is CodeType and self._app.is_app(code):
            return RenderSite(key)  # the app's render_<METHOD>: that is the handler
        return RenderSite(key, within)  # a library's render_<METHOD> (render_HEAD, a wrapper's)


def _own_codes(cls: type) -> FrozenSet[CodeType]:
    """The code of every function defined in the class and its bases: a dispatcher's own steps."""
    codes: List[CodeType] = []
    for klass in getattr(cls, "__mro__", (cls,)):
        for value in vars(klass).values():
            function = getattr(value, "__func__", value)  # staticmethod, classmethod
            if isinstance(function, FunctionType):
                codes.append(function.__code__)
    return frozenset(codes)


class WebHooks(AppHooks):

    def install(self, server: ModuleType) -> None:
        Request = server.Request
        original = Request.__dict__["render"]
        if self._patches.applied or getattr(original, MARK, False):
            return
        render_sites = RenderSites(self.sites, server.resource.Resource.render, self.app)
        first_app_call = FirstAppCall(self.app, APP_CALLS)
        look = first_app_call.start
        stop_looking = first_app_call.stop_all
        rec = self.rec
        now, origin, events, extend, limit = rec.sink()
        get_ident = threading.get_ident

        def render(self: Any, resrc: Any) -> Any:
            if get_ident() != rec.reactor_thread:
                return original(self, resrc)
            looking = False
            try:
                site: Any = render_sites(resrc, self.method)  # a RenderSite (an error leaves the render unattributed)
                key: Any = site.key
                if site.within is not None:
                    route = route_of(getattr(self, "path", None))
                    known = site.known(route)
                    if known is _UNKNOWN:
                        looking = look(site.within, site.skip)
                    elif known:
                        key = site.handler(known)
            except Exception:  # an odd resource, method or path: unattributed, never an app error
                site = None
                key = 0
            t0 = now()
            try:
                return original(self, resrc)
            finally:
                t1 = now()
                if looking:
                    found = stop_looking()
                    site.entered(route, found)
                    if found:
                        key = site.handler(found)
                if len(events) < limit:
                    extend((KIND_WEB_REQUEST, key, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        functools.update_wrapper(render, original)  # reads as the original: name, doc, signature
        setattr(render, MARK, True)
        self._patches.set(Request, "render", render)

    def uninstall(self) -> None:
        self._patches.undo()
