"""Hooks on one reactor instance: time every callback its loop runs, and account busy and idle time.

Wrappers are set as attributes of the reactor *instance*: they shadow the class's methods, which the loop
looks up on ``self`` at each pass, so other reactors (test doubles) are untouched and ``uninstall`` is a
``del``. Wrapper parameters are positional-only, so ``callLater(1, fn, f=2)`` still reaches ``fn``.

Reactor families (docs/architecture.md, facts in shared notes):
- poll-like (epoll, poll) and select: ``doIteration`` (the poller) and ``_doReadOrWrite`` (one ready fd);
- asyncio: ``_readOrWrite`` (bound into each handle at ``addReader`` time) and the event loop's selector.
"""
from __future__ import annotations

from types import CodeType
from typing import Any, Callable, Dict, Optional, Set, Tuple

from reactorscope.patches import Patches
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_IO_READ, KIND_IO_WRITE, KIND_THREAD_CALL, KIND_TIMER


def make_top_level_runner(rec: Recorder, sites: SiteTable, kind: int) -> Callable[..., Any]:
    """A trampoline that runs ``f(*args, **kw)`` as one top-level callback of ``kind`` and records it.

    Fixed arity (``run(f, args, kw)``, as the callLater wrapper schedules it) and no site lookup: it stores
    the callable's code object and the sender interns it. Both measured: star-args and a dict lookup per
    call were most of the shim's cost per callback.
    """
    now = rec.now
    origin = rec.origin
    extend = rec.events.extend
    events = rec.events
    limit = rec.limit
    key_of = sites.key_of

    def run(f: Any, args: Tuple[Any, ...], kw: Dict[str, Any], /) -> Any:
        try:
            key = f.__code__
            if key.__class__ is not CodeType:
                key = key_of(f)
        except AttributeError:  # partials, LoopingCalls, builtins: resolved now, cached per code
            key = key_of(f)
        t0 = now()
        rec.current = current = [t0, key, kind, 0]
        try:
            return f(*args, **kw) if kw else f(*args)
        finally:
            t1 = now()
            current[3] = t1
            rec.current = None
            if len(events) < limit:
                extend((kind, key, t0 - origin, t1 - t0))
            else:
                rec.events_dropped += 1

    run.__qualname__ = run.__name__ = "reactorscope_timed_call"
    return run


# Attributes through which Twisted's protocol wrappers hold the protocol they wrap: TLS and other
# ProtocolWrappers; endpoints' _WrappingProtocol (connectProtocol, client endpoints, Agent); twisted.web's
# _GenericHTTPChannelProtocol (HTTPChannel or H2Connection).
WRAPPED_PROTOCOL_ATTRIBUTES = ("wrappedProtocol", "_wrappedProtocol", "_channel")
MAX_WRAPPERS = 8
_UNKNOWN = "?"  # not a valid attribute name: marks a protocol type not looked at yet


def _wrapper_link(protocol: Any) -> Optional[str]:
    """The attribute through which ``protocol`` wraps another protocol, if it does."""
    for name in WRAPPED_PROTOCOL_ATTRIBUTES:
        inner = getattr(protocol, name, None)
        if inner is not None and hasattr(inner, "dataReceived"):
            return name
    return None


class IoSites:
    """Which handler an I/O event is attributed to, cached per (transport, innermost protocol) type."""

    def __init__(self, sites: SiteTable) -> None:
        self._sites = sites
        self._cache: Dict[Tuple[Any, ...], int] = {}
        # Protocol type -> its wrapper attribute (or None): one dict lookup per protocol on the hot path.
        self._links: Dict[type, Optional[str]] = {}

    def __call__(self, selectable: Any, read: bool) -> int:
        protocol = getattr(selectable, "protocol", None)
        if self._links.get(type(protocol), _UNKNOWN) is not None:  # a wrapper, or a type not seen yet
            protocol = self._innermost(protocol)
        factory = None
        if protocol is not None:
            key: Tuple[Any, ...] = (type(selectable), type(protocol), read)
        else:  # a listening port: what it runs depends on its factory
            factory = getattr(selectable, "factory", None)
            key = (type(selectable), type(factory), getattr(factory, "protocol", None), read)
        site = self._cache.get(key)
        if site is None:
            site = self._cache[key] = self._resolve(selectable, protocol, factory, read)
        return site

    def _innermost(self, protocol: Any) -> Any:
        links = self._links
        depth = 0
        while depth < MAX_WRAPPERS:
            link = links.get(type(protocol), _UNKNOWN)
            if link is _UNKNOWN:
                link = links[type(protocol)] = _wrapper_link(protocol)
            inner = getattr(protocol, link, None) if link is not None else None
            if inner is None:
                break
            protocol = inner
            depth += 1
        return protocol

    def _resolve(self, selectable: Any, protocol: Any, factory: Any, read: bool) -> int:
        if read and protocol is not None:
            for name in ("dataReceived", "datagramReceived"):
                handler = getattr(type(protocol), name, None)
                if handler is not None:
                    return self._sites.callable(handler)
        if read and protocol is None:
            # A listening port: accepting a connection runs the factory's protocol's connectionMade.
            protocol_class = getattr(factory, "protocol", None)
            handler = getattr(protocol_class, "connectionMade", None)
            if handler is None:
                handler = getattr(type(factory), "buildProtocol", None)
            if handler is not None:
                return self._sites.callable(handler)
        method = getattr(type(selectable), "doRead" if read else "doWrite", None)
        if method is not None:
            return self._sites.callable(method)
        return self._sites.named(type(selectable).__qualname__)


class ReactorHooks:
    def __init__(self, rec: Recorder, sites: SiteTable, lag_interval_s: float) -> None:
        self.rec = rec
        self.sites = sites
        self.lag_interval_s = lag_interval_s
        self.reactor: Any = None
        self.family = ""
        self._patches = Patches()
        self.run_timer = make_top_level_runner(rec, sites, KIND_TIMER)
        self.run_thread_call = make_top_level_runner(rec, sites, KIND_THREAD_CALL)
        # Code of the wrappers that call into the app: the watchdog's stacks end there.
        self.stop_codes: Set[object] = {self.run_timer.__code__, self.run_thread_call.__code__}
        self.io_sites = IoSites(sites)
        self._heartbeat_call: Any = None
        self._original_call_later: Optional[Callable[..., Any]] = None

    # -- install -----------------------------------------------------------------------------------

    def install(self, reactor: Any) -> None:
        if self.reactor is not None:
            return
        self.reactor = reactor
        if hasattr(reactor, "_asyncioEventloop") and hasattr(reactor, "_readOrWrite"):
            self.family = "asyncio"
            self._hook_call_later(reactor)
            self._hook_call_from_thread(reactor)
            self._set(reactor, "_readOrWrite", self._io_wrapper(reactor._readOrWrite, lambda rest: rest[0]))
            self._hook_asyncio_selector(reactor)
        elif hasattr(reactor, "_doReadOrWrite") and hasattr(reactor, "doIteration"):
            poll_in = getattr(reactor, "_POLL_IN", None)
            if poll_in is not None:
                self.family = "poll"
                is_read: Callable[[Tuple[Any, ...]], bool] = lambda rest: bool(rest[1] & poll_in)  # noqa: E731
            else:
                self.family = "select"
                is_read = lambda rest: rest[0] == "doRead"  # noqa: E731
            self._hook_call_later(reactor)
            self._hook_call_from_thread(reactor)
            self._set(reactor, "_doReadOrWrite", self._io_wrapper(reactor._doReadOrWrite, is_read))
            self._set(reactor, "doIteration", self._iteration_wrapper(reactor.doIteration))
        else:
            # An unknown reactor (kqueue, GUI reactors...): timers and thread calls only.
            self.family = "other"
            self._hook_call_later(reactor)
            self._hook_call_from_thread(reactor)

    def uninstall(self) -> None:
        if self._heartbeat_call is not None and self._heartbeat_call.active():
            self._heartbeat_call.cancel()
        self._patches.undo()
        self.reactor = None

    def _set(self, obj: Any, name: str, value: Any) -> None:
        self._patches.set(obj, name, value)

    # -- timers and thread calls ---------------------------------------------------------------------

    def _hook_call_later(self, reactor: Any) -> None:
        original = reactor.callLater
        self._original_call_later = original
        run_timer = self.run_timer
        run_thread_call = self.run_thread_call

        def callLater(delay: float, f: Any, /, *args: Any, **kw: Any) -> Any:
            if f is run_thread_call:  # asyncio's callFromThread goes through callLater(0, ...)
                return original(delay, f, *args, **kw)
            return original(delay, run_timer, f, args, kw)

        self._set(reactor, "callLater", callLater)

    def _hook_call_from_thread(self, reactor: Any) -> None:
        original = reactor.callFromThread
        run_thread_call = self.run_thread_call

        def callFromThread(f: Any, /, *args: Any, **kw: Any) -> Any:
            return original(run_thread_call, f, args, kw)

        self._set(reactor, "callFromThread", callFromThread)

    # -- I/O and the poller ------------------------------------------------------------------------

    def _io_wrapper(self, original: Callable[..., Any], is_read: Callable[[Tuple[Any, ...]], bool]) -> Callable[..., Any]:
        rec = self.rec
        now = rec.now
        origin = rec.origin
        events = rec.events
        extend = events.extend
        limit = rec.limit
        io_sites = self.io_sites
        # Time spent in I/O callbacks during the current poller pass, so idle = pass - I/O.
        self._io_ns = io_ns = [0]

        def io(selectable: Any, /, *rest: Any) -> Any:
            read = is_read(rest)
            kind = KIND_IO_READ if read else KIND_IO_WRITE
            try:
                site = io_sites(selectable, read)
            except Exception:  # a selectable the rules do not know: unattributed, never an app error
                site = 0
            t0 = now()
            rec.current = current = [t0, site, kind, 0]
            try:
                return original(selectable, *rest)
            finally:
                t1 = now()
                current[3] = t1
                rec.current = None
                io_ns[0] += t1 - t0
                if len(events) < limit:
                    extend((kind, site, t0 - origin, t1 - t0))
                else:
                    rec.events_dropped += 1

        self.stop_codes.add(io.__code__)
        return io

    def _iteration_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        rec = self.rec
        now = rec.now
        io_ns = self._io_ns

        def doIteration(timeout: Optional[float], /) -> Any:
            io_before = io_ns[0]
            t0 = now()
            try:
                return original(timeout)
            finally:
                elapsed = now() - t0
                rec.idle_ns += elapsed - (io_ns[0] - io_before)
                rec.iterations += 1

        return doIteration

    def _hook_asyncio_selector(self, reactor: Any) -> None:
        selector = getattr(reactor._asyncioEventloop, "_selector", None)
        select = getattr(selector, "select", None)
        if select is None or not hasattr(selector, "__dict__"):
            return  # not a stdlib selector loop (e.g. uvloop): no idle accounting
        rec = self.rec
        now = rec.now

        def timed_select(timeout: Optional[float] = None) -> Any:
            t0 = now()
            try:
                return select(timeout)
            finally:
                rec.idle_ns += now() - t0
                rec.iterations += 1

        self._set(selector, "select", timed_select)

    # -- loop lag ------------------------------------------------------------------------------------

    def start_heartbeat(self) -> None:
        """Loop lag: a timer on the original, untraced callLater, compared on the monotonic clock."""
        call_later = self._original_call_later
        if call_later is None:
            return
        rec = self.rec
        now = rec.now
        interval_s = self.lag_interval_s
        interval_ns = int(interval_s * 1e9)

        def beat(expected: int) -> None:
            t = now()
            rec.lag_times.append(t - rec.origin)
            rec.lags.append(t - expected)
            self._heartbeat_call = call_later(interval_s, beat, now() + interval_ns)

        self._heartbeat_call = call_later(interval_s, beat, now() + interval_ns)
