"""twisted.web requests as events of their own (kind 7): each Request.render, attributed to the resource's
render_<METHOD> (or its own render), nested in the HTTP channel's read; the app's responses unchanged."""
import subprocess
import sys
import threading
import types

import pytest

from helpers import APPS, Recording, first_line_of, python_env, run_python, run_shim
from reactorscope import wire
from reactorscope.clock import ManualClock
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.web_hooks import WebHooks

WEB_APP = APPS / "web_app.py"
# The HTTP server's reads run HTTPChannel.dataReceived; Twisted 22.4's HTTPChannel inherits LineReceiver's.
CHANNEL_READS = ("HTTPChannel.dataReceived", "LineReceiver.dataReceived")


def test_each_render_is_an_event_and_the_responses_are_unchanged(tmp_path):
    record = tmp_path / "rec.bin"
    plain = run_python([str(WEB_APP)])
    shimmed = run_shim(["--record", str(record), str(WEB_APP)])
    assert plain.returncode == shimmed.returncode == 0, shimmed.stderr
    assert "GET /boom 500" in plain.stdout and "logged ValueError: boom in render_GET" in plain.stdout
    assert "GET /later 200 b'later\\n'" in plain.stdout, "NOT_DONE_YET finishes later"
    assert shimmed.stdout == plain.stdout, "same responses, same failure logged from the same place"

    rec = Recording.read(record)
    renders = [e for e in rec.events if e[0] == wire.KIND_WEB_REQUEST]
    names = sorted(rec.sites[site]["name"] for _, site, _, _ in renders)
    # HEAD runs Twisted's Resource.render_HEAD, which enters the app's render_GET: that is its handler. BREW has
    # no render_BREW: the class's render, Twisted's, answers 501 and enters no app function. Routed.render
    # dispatches by itself and calls no other app function: it is the handler.
    # Before 3.11 a code object has no qualified name: Twisted's render, first interned from its code (a look
    # or a stack sample), reads "render" (docs/runtime.md, known limits).
    base_render = "Resource.render" if sys.version_info >= (3, 11) else "render"
    assert names == sorted(["Boom.render_GET", "Later.render_GET", base_render, "Routed.render",
                            "Slow.render_GET", "Slow.render_GET", "Slow.render_POST"])
    for qualname in ("Boom.render_GET", "Later.render_GET", "Routed.render", "Slow.render_GET", "Slow.render_POST"):
        site = rec.site_named(qualname)
        assert (site["file"], site["line"]) == (str(WEB_APP), first_line_of(WEB_APP, qualname))
    slow = max(e[3] for e in rec.events_at("Slow.render_GET", wire.KIND_WEB_REQUEST))  # GET, and HEAD's
    [(*_, later)] = rec.events_at("Later.render_GET", wire.KIND_WEB_REQUEST)
    assert slow > 55e6 and later < 20e6, "a render is timed until it returns (NOT_DONE_YET: at once)"
    reads = [(start, start + duration) for kind, site, start, duration in rec.events
             if kind == wire.KIND_IO_READ and rec.sites[site]["name"] in CHANNEL_READS]
    for _, _, start, duration in renders:
        assert any(begin <= start and start + duration <= end for begin, end in reads), "inside a channel's read"


def hooked_render(code: str) -> list:
    result = subprocess.run([sys.executable, "-c", "import sys\nfrom reactorscope import session, config\n" + code],
                            capture_output=True, text=True, env=python_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_twisted_web_is_hooked_on_import_once_and_never_imported_early():
    assert hooked_render(
        "s = session.start(config.Settings())\n"
        "print(sorted(m for m in sys.modules if m.startswith('twisted')))\n"
        "from twisted.web import server\n"
        "hooked = server.Request.render\n"
        "s.attach_web(server)\n"
        "print(getattr(hooked, '__reactorscope_wrapped__', False), server.Request.render is hooked)\n"
        "print(hooked.__wrapped__.__code__.co_filename == server.__file__)\n"
    ) == ["[]", "True True", "True"]


def test_twisted_web_imported_before_the_session_is_hooked_at_once():
    assert hooked_render(
        "from twisted.web import server\n"
        "session.start(config.Settings())\n"
        "print(getattr(server.Request.render, '__reactorscope_wrapped__', False))\n"
    ) == ["True"]


class BaseResource:
    """Stands for twisted.web's Resource: dispatches to render_<METHOD>."""

    def render(self, request):
        return getattr(self, "render_" + request.method.decode("ascii"))(request)


class Page(BaseResource):
    def render_GET(self, request):
        return b"page"


class OwnRender(BaseResource):
    def render(self, request):
        raise KeyError("own")


class FakeRequest:
    def __init__(self, method):
        self.method = method

    def render(self, resrc):
        return resrc.render(self)


def test_the_render_hook_names_the_users_method_and_changes_nothing():
    rec = Recorder(ManualClock(), buffer_events=1000)
    rec.reactor_thread = threading.get_ident()
    sites = SiteTable()
    hooks = WebHooks(rec, sites)
    original = FakeRequest.render
    server = types.SimpleNamespace(Request=FakeRequest, resource=types.SimpleNamespace(Resource=BaseResource))
    hooks.install(server)
    hooks.install(server)
    assert FakeRequest.render.__wrapped__ is original, "installed once"
    try:
        assert FakeRequest(b"GET").render(Page()) == b"page"
        with pytest.raises(KeyError, match="own"):
            FakeRequest(b"GET").render(OwnRender())
        with pytest.raises(UnicodeDecodeError):  # a method that is not ASCII: the resource's own failure
            FakeRequest(b"\xff").render(Page())
        with pytest.raises(AttributeError):
            FakeRequest(b"PUT").render(Page())
        worker = threading.Thread(target=FakeRequest(b"GET").render, args=(Page(),))
        worker.start()
        worker.join()
    finally:
        hooks.uninstall()
    assert FakeRequest.render is original
    kinds, keys = rec.events[0::4], rec.events[1::4]
    assert set(kinds) == {wire.KIND_WEB_REQUEST}
    assert [sites.row(key)[3] for key in keys] == [
        "Page.render_GET", "OwnRender.render", "BaseResource.render", "BaseResource.render"
    ], "the worker thread's render is not the reactor's"


def show_item(request):
    return b"item"


def list_items(request):
    return b"items"


class Router(BaseResource):
    """A dispatcher that overrides render, as Klein's resource does: the handler is the function it picks."""

    routes = {b"items": list_items, b"item": show_item}

    def render(self, request):
        return self.dispatch(request)

    def dispatch(self, request):  # its own class's method: not the handler
        return self.routes[request.path.split(b"/")[1]](request)


class PathRequest:
    def __init__(self, method, path):
        self.method = method
        self.path = path

    def render(self, resrc):
        return resrc.render(self)


def test_a_dispatchers_request_is_attributed_to_the_app_function_it_enters_once_per_route():
    rec = Recorder(ManualClock(), buffer_events=1000)
    rec.reactor_thread = threading.get_ident()
    sites = SiteTable()
    hooks = WebHooks(rec, sites)
    hooks.install(types.SimpleNamespace(Request=PathRequest, resource=types.SimpleNamespace(Resource=BaseResource)))
    profiles = []
    try:
        for path in (b"/item/7", b"/items", b"/item/8", b"/item/9f1c2e44-0b7a-4c55-9d1e-4f3b2a1c0d9e"):
            assert PathRequest(b"GET", path).render(Router()) in (b"item", b"items")
            profiles.append(sys.getprofile())
        assert PathRequest(b"GET", b"/").render(Page()) == b"page"
    finally:
        hooks.uninstall()
    assert profiles == [None] * 4, "the look ends with the render"
    names = [sites.row(sites.resolve(key))[3] for key in rec.events[1::4]]
    assert names == ["show_item", "list_items", "show_item", "show_item", "Page.render_GET"]


def in_context(f, request):
    """A helper of the app's that every request goes through first (Synapse's run_in_background, a logging
    context): not a handler."""
    return f(request)


def log_request(request):
    return None


class AppRouter(BaseResource):
    """An app's own dispatcher (its class overrides render): every route goes through in_context and
    log_request first, then the servlet the path picks."""

    routes = {b"items": list_items, b"item": show_item}

    def render(self, request):
        log_request(request)
        return in_context(self.routes[request.path.split(b"/")[1]], request)


def test_an_apps_own_dispatcher_names_where_its_routes_part_not_the_helpers_every_request_enters():
    rec = Recorder(ManualClock(), buffer_events=1000)
    rec.reactor_thread = threading.get_ident()
    sites = SiteTable()
    hooks = WebHooks(rec, sites)
    hooks.install(types.SimpleNamespace(Request=PathRequest, resource=types.SimpleNamespace(Resource=BaseResource)))
    try:
        for path in (b"/item/1", b"/items", b"/item/2", b"/items", b"/item/3"):
            assert PathRequest(b"GET", path).render(AppRouter()) in (b"item", b"items")
    finally:
        hooks.uninstall()
    names = [sites.row(sites.resolve(key))[3] for key in rec.events[1::4]]
    # The first route seen alone: its first app function. From the second route on, where the routes part.
    assert names == ["log_request", "list_items", "show_item", "list_items", "show_item"]
