"""Hooks on one reactor instance: time every callback its loop runs, and account busy, idle time and loop lag,
without changing what the app sees of the reactor (Twisted's own trial suite is the judge:
scripts/trial-compare.py).

- Timers: ``runUntilCurrent`` takes each due DelayedCall with the module global ``heappop`` of
  twisted.internet.base; the shim's ``heappop`` opens the call's event as it is taken and closes the previous
  one; the last is closed where the loop goes next (``doIteration``; on asyncio ``_reschedule``, which
  ``_onTimer`` calls right after ``runUntilCurrent``). Scheduled calls stay exactly as the app made them (``func``, ``args``, ``kw``, repr,
  ``getDelayedCalls()``), ``callLater`` is not wrapped, and no shim frame is on a timer's stack. Reactors
  with no iteration hook get a ``runUntilCurrent`` wrapper on the instance instead, to close the last.
- Thread calls: ``runUntilCurrent`` iterates ``threadCallQueue`` and calls each ``(f, args, kw)``; the queue
  is a list whose iterator times each entry (the entries stay the app's tuples). On asyncio, ``callFromThread``
  becomes a ``callLater(0, ...)`` on the reactor thread: it is marked so that its call is a thread call.
- I/O and the poller: ``doIteration`` and ``_doReadOrWrite`` (epoll, poll, select), ``_readOrWrite`` and the
  event loop's selector (asyncio).
- Loop lag: loop_lag.py, from the same wrappers; a heartbeat timer only for reactors with no iteration hook.

Wrappers are bound methods set on the reactor *instance*: they shadow the class's methods, which the loop looks
up on ``self`` at each pass, so other reactors (test doubles) are untouched and ``uninstall`` is a ``del``.
They carry the wrapped method's name, qualified name, doc, module, ``__wrapped__`` and signature, so they read
as the originals (``<bound method EPollReactor.doPoll of ...>``). Their parameters are positional-only.
"""
from __future__ import annotations

import functools
import heapq
import sys
from types import CodeType, MethodType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from reactorscope.loop_lag import LoopLag
from reactorscope.patches import Patches
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_IO_READ, KIND_IO_WRITE, KIND_THREAD_CALL, KIND_TIMER


def bound_wrapper(obj: Any, original: Any, wrapper: Callable[..., Any]) -> Any:
    """``wrapper(self, ...)`` as a method of ``obj`` that reads as ``original`` (a bound method or function)."""
    functools.update_wrapper(wrapper, getattr(original, "__func__", original))
    return MethodType(wrapper, obj)


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
        self.io_sites = IoSites(sites)
        self.lag = LoopLag(rec, int(lag_interval_s * 1e9))
        # Code of the frames that call into the app (runUntilCurrent, the I/O wrappers): the watchdog's stacks
        # end there.
        self.stop_codes: Set[object] = set()
        self.timers_timed = False
        self._open: List[Any] = [None]  # the timer event open now, as rec.current's [t0, key, kind, 0]
        self._thread_calls: Set[Any] = set()  # asyncio: the DelayedCalls that callFromThread made
        self._io_ns = [0]  # time in I/O callbacks during the current poller pass, so idle = pass - I/O
        self._heartbeat: List[Any] = [None, None]  # fallback lag: [DelayedCall, its function]
        self._selector_timed = False  # asyncio: the event loop's selector is hooked (loop lag from it)

    # -- install -----------------------------------------------------------------------------------

    def install(self, reactor: Any) -> bool:
        """Hooks ``reactor``: True once it is the hooked reactor; False for an object that is no reactor (a
        test's stand-in), which stays untouched."""
        if self.reactor is not None:
            return self.reactor is reactor
        if not all(callable(getattr(reactor, name, None)) for name in ("callLater", "callWhenRunning", "runUntilCurrent")):
            return False
        self.reactor = reactor
        if hasattr(reactor, "_asyncioEventloop") and hasattr(reactor, "_readOrWrite"):
            self.family = "asyncio"
            if self._hook_timers(reactor):
                self._hook_asyncio_reschedule(reactor)
            self._hook_asyncio_call_from_thread(reactor)
            self._set(reactor, "_readOrWrite", self._io_wrapper(reactor, reactor._readOrWrite, lambda rest: rest[0]))
            self._hook_asyncio_selector(reactor)
        elif hasattr(reactor, "_doReadOrWrite") and hasattr(reactor, "doIteration"):
            poll_in = getattr(reactor, "_POLL_IN", None)
            if poll_in is not None:
                self.family = "poll"
                is_read: Callable[[Tuple[Any, ...]], bool] = lambda rest: bool(rest[1] & poll_in)  # noqa: E731
            else:
                self.family = "select"
                is_read = lambda rest: rest[0] == "doRead"  # noqa: E731
            self._hook_timers(reactor)
            self._set(reactor, "_doReadOrWrite", self._io_wrapper(reactor, reactor._doReadOrWrite, is_read))
            self._set(reactor, "doIteration", self._iteration_wrapper(reactor, reactor.doIteration))
        else:
            # An unknown reactor (kqueue, GUI reactors...): timers and thread calls only, loop lag by heartbeat.
            self.family = "other"
            if self._hook_timers(reactor):
                self._hook_run_until_current(reactor)
        return True

    def uninstall(self) -> None:
        call = self._heartbeat[0]
        if call is not None and call.active():
            call.cancel()
        self.lag.stop()
        self._patches.undo()
        self.reactor = None

    def _set(self, obj: Any, name: str, value: Any) -> None:
        self._patches.set(obj, name, value)

    def _close(self) -> Callable[[List[Any], int], None]:
        """Ends a top-level event opened as ``rec.current = [t0, key, kind, 0]`` at ``t1``, and records it."""
        rec = self.rec
        _, origin, events, extend, limit = rec.sink()

        def close(current: List[Any], t1: int) -> None:
            current[3] = t1
            rec.current = None
            if len(events) < limit:
                t0 = current[0]
                extend((current[2], current[1], t0 - origin, t1 - t0))
            else:
                rec.events_dropped += 1

        return close

    # -- timers and thread calls ---------------------------------------------------------------------

    def _hook_timers(self, reactor: Any) -> bool:
        """The ``heappop`` runUntilCurrent takes due calls with, and threadCallQueue. False when runUntilCurrent
        is not Twisted's as known (22.4 to 26.10): timers and thread calls are then untimed."""
        function = getattr(reactor.runUntilCurrent, "__func__", None)
        code = getattr(function, "__code__", None)
        module = sys.modules.get(getattr(function, "__module__", None) or "")
        if (
            code is None
            or module is None
            or "heappop" not in code.co_names
            or getattr(function, "__globals__", None) is not module.__dict__
            or module.__dict__.get("heappop") is not heapq.heappop
        ):
            return False
        self.timers_timed = True
        self.stop_codes.add(code)
        self._set(module, "heappop", self._timed_heappop(reactor))
        self._hook_thread_call_queue(reactor, code)
        return True

    @property
    def open_event(self) -> List[Any]:
        """The slot of the top-level event that the next one, or the loop's poller, ends (asyncio_hooks.py uses
        it for asyncio's handles)."""
        return self._open

    def close_timer(self) -> Callable[[int], None]:
        """Ends the timer event still open, if any, at ``t``: where the loop goes after runUntilCurrent."""
        close = self._close()
        open_ = self._open

        def close_open(t: int) -> None:
            current = open_[0]
            if current is not None:
                open_[0] = None
                close(current, t)

        return close_open

    def _hook_asyncio_reschedule(self, reactor: Any) -> None:
        """asyncio: ``_onTimer`` runs ``runUntilCurrent`` then ``_reschedule``: the last timer event ends there.
        (``callLater`` calls ``_reschedule`` too, from inside callbacks: only ``_onTimer``'s call closes.)"""
        original = reactor._reschedule
        on_timer = getattr(getattr(reactor, "_onTimer", None), "__func__", None)
        on_timer_code = getattr(on_timer, "__code__", None)
        if on_timer_code is None:
            self._hook_run_until_current(reactor)
            return
        now = self.rec.now
        open_ = self._open
        close_open = self.close_timer()
        getframe = sys._getframe

        def _reschedule(self_: Any, /) -> None:
            if open_[0] is not None and getframe(1).f_code is on_timer_code:
                close_open(now())
            return original()

        self._set(reactor, "_reschedule", bound_wrapper(reactor, original, _reschedule))

    def _hook_run_until_current(self, reactor: Any) -> None:
        """For reactors with no iteration hook: the last timer event ends when runUntilCurrent returns. This
        wrapper's frame is on the stack of every timer (it is the one such frame)."""
        original = reactor.runUntilCurrent
        now = self.rec.now
        close_open = self.close_timer()

        def runUntilCurrent(self_: Any, /) -> None:
            try:
                return original()
            finally:
                close_open(now())

        self._set(reactor, "runUntilCurrent", bound_wrapper(reactor, original, runUntilCurrent))

    def _timed_heappop(self, reactor: Any) -> Callable[..., Any]:
        """``heappop`` for runUntilCurrent: closes the previous call's event, opens the popped call's.

        Only this reactor's pops inside its runUntilCurrent are timed; cancelled calls and calls whose time was
        delayed (pushed back, not run) open no event. One ``now()`` per pop serves both events.
        """
        rec = self.rec
        now, origin, events, extend, limit = rec.sink()
        key_of = self.sites.key_of
        open_ = self._open
        thread_calls = self._thread_calls
        heartbeat = self._heartbeat
        pop = heapq.heappop

        def heappop(heap: List[Any], /) -> Any:
            call = pop(heap)
            if heap is reactor._pendingTimedCalls:  # this reactor's runUntilCurrent (the one caller)
                t = now()
                current = open_[0]
                if current is not None:
                    open_[0] = None
                    current[3] = t
                    rec.current = None
                    if len(events) < limit:
                        t0 = current[0]
                        extend((current[2], current[1], t0 - origin, t - t0))
                    else:
                        rec.events_dropped += 1
                if call.cancelled or call.delayed_time > 0:
                    if thread_calls and call.cancelled:
                        thread_calls.discard(call)
                    return call
                f = call.func
                if f is heartbeat[1]:
                    return call
                kind = KIND_TIMER
                if thread_calls and call in thread_calls:
                    thread_calls.discard(call)
                    kind = KIND_THREAD_CALL
                try:
                    key = f.__code__
                    if key.__class__ is not CodeType:
                        key = key_of(f)
                except AttributeError:  # partials, LoopingCalls, builtins: resolved now, cached per code
                    key = key_of(f)
                rec.current = current = [t, key, kind, 0]
                open_[0] = current
            return call

        functools.update_wrapper(heappop, pop)
        return heappop

    def _hook_thread_call_queue(self, reactor: Any, run_until_current: CodeType) -> None:
        """``threadCallQueue`` as a list whose iteration by runUntilCurrent times each ``(f, args, kw)``."""
        queue = reactor.__dict__.get("threadCallQueue")
        if type(queue) is not list:
            return
        rec = self.rec
        now = rec.now
        close = self._close()
        key_of = self.sites.key_of
        getframe = sys._getframe

        def timed(entries: List[Any]) -> Any:
            current = None
            try:
                for entry in list.__iter__(entries):
                    try:
                        key = key_of(entry[0])
                    except Exception:  # an entry the rules do not know: unattributed, never an app error
                        key = 0
                    rec.current = current = [now(), key, KIND_THREAD_CALL, 0]
                    yield entry
                    close(current, now())  # resumed: runUntilCurrent is done with that entry
                    current = None
            finally:  # runUntilCurrent stops after the calls it counted: the generator is closed then
                if current is not None:
                    close(current, now())

        class ThreadCallQueue(list):  # type: ignore[type-arg]
            """reactor.threadCallQueue: a list; runUntilCurrent's iteration times each entry (reactorscope)."""

            __slots__ = ()

            def __iter__(self) -> Any:
                if getframe(1).f_code is run_until_current and self is reactor.__dict__.get("threadCallQueue"):
                    return timed(self)
                return list.__iter__(self)  # anyone else's iteration is a list's

        # Entries a thread appends while the queue is swapped would be lost: this runs when the reactor is
        # installed, before the app has threads that call into it (a late attach takes the small risk).
        timed_queue = ThreadCallQueue(queue)
        reactor.threadCallQueue = timed_queue
        del queue[:]

        def restore() -> None:
            if reactor.__dict__.get("threadCallQueue") is timed_queue:
                reactor.threadCallQueue = list(timed_queue)

        self._patches.on_undo(restore)

    def _hook_asyncio_call_from_thread(self, reactor: Any) -> None:
        """asyncio's callFromThread schedules ``callLater(0, f, ...)`` on the loop; the same, marked as a thread
        call (the DelayedCall is the app's own, untouched)."""
        original = reactor.callFromThread
        function = getattr(original, "__func__", None)
        if getattr(function, "__qualname__", None) != "AsyncioSelectorReactor.callFromThread":
            return  # another implementation: its calls are timed as timers
        loop = reactor._asyncioEventloop
        thread_calls = self._thread_calls

        def callFromThread(self_: Any, f: Any, /, *args: Any, **kwargs: Any) -> None:
            loop.call_soon_threadsafe(lambda: thread_calls.add(self_.callLater(0, f, *args, **kwargs)))

        self._set(reactor, "callFromThread", bound_wrapper(reactor, original, callFromThread))

    # -- I/O and the poller ------------------------------------------------------------------------

    def _io_wrapper(self, reactor: Any, original: Callable[..., Any], is_read: Callable[[Tuple[Any, ...]], bool]) -> Any:
        rec = self.rec
        now, origin, events, extend, limit = rec.sink()
        io_sites = self.io_sites
        io_ns = self._io_ns
        lag = self.lag
        open_ = self._open
        close_open = self.close_timer()

        def io(self_: Any, selectable: Any, /, *rest: Any) -> Any:
            read = is_read(rest)
            kind = KIND_IO_READ if read else KIND_IO_WRITE
            try:
                site = io_sites(selectable, read)
            except Exception:  # a selectable the rules do not know: unattributed, never an app error
                site = 0
            t0 = now()
            if open_[0] is not None:  # asyncio: a timer ran just before, in the same pass of the event loop
                close_open(t0)
            if lag.waiting_since:  # the first ready fd of this pass: the poller returned
                lag.wait_ended(t0)
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
        return bound_wrapper(reactor, original, io)

    def _iteration_wrapper(self, reactor: Any, original: Callable[..., Any]) -> Any:
        rec = self.rec
        now = rec.now
        io_ns = self._io_ns
        lag = self.lag
        open_ = self._open
        close_open = self.close_timer()

        def doIteration(self_: Any, timeout: Optional[float]) -> Any:
            io_before = io_ns[0]
            t0 = now()
            if open_[0] is not None:  # the last timer of runUntilCurrent, which the loop ran just before
                close_open(t0)
            lag.wait_started(t0)
            try:
                return original(timeout)
            finally:
                t1 = now()
                if lag.waiting_since:  # no fd was ready: the whole pass was the wait
                    lag.wait_ended(t1)
                rec.idle_ns += t1 - t0 - (io_ns[0] - io_before)
                rec.iterations += 1

        return bound_wrapper(reactor, original, doIteration)

    def _hook_asyncio_selector(self, reactor: Any) -> None:
        selector = getattr(reactor._asyncioEventloop, "_selector", None)
        select = getattr(selector, "select", None)
        if select is None or not hasattr(selector, "__dict__"):
            return  # not a stdlib selector loop (e.g. uvloop): no idle accounting, lag by heartbeat
        rec = self.rec
        now = rec.now
        lag = self.lag
        open_ = self._open
        close_open = self.close_timer()

        def timed_select(self_: Any, timeout: Optional[float] = None) -> Any:
            t0 = now()
            if open_[0] is not None:  # the last timer that _onTimer's runUntilCurrent ran
                close_open(t0)
            lag.wait_started(t0)
            try:
                return select(timeout)
            finally:
                t1 = now()
                lag.wait_ended(t1)
                rec.idle_ns += t1 - t0
                rec.iterations += 1

        self._set(selector, "select", bound_wrapper(selector, select, timed_select))
        self._selector_timed = True

    # -- loop lag ------------------------------------------------------------------------------------

    def start_lag(self) -> None:
        """Loop lag from the loop's own pace (loop_lag.py); a heartbeat timer where there is no iteration hook."""
        if self.reactor is None:
            return
        if self.family in ("poll", "select") or self._selector_timed:
            self.lag.start(self.rec.now())
            return
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        """Fallback for reactors with no iteration hook (kqueue, GUI reactors, uvloop): a DelayedCall every
        lag interval, compared on the monotonic clock. It is visible in ``getDelayedCalls()``."""
        reactor = self.reactor
        rec = self.rec
        now = rec.now
        interval_s = self.lag_interval_s
        interval_ns = int(interval_s * 1e9)
        heartbeat = self._heartbeat

        def beat(expected: int) -> None:
            t = now()
            rec.lag_times.append(t - rec.origin)
            rec.lags.append(t - expected)
            heartbeat[0] = reactor.callLater(interval_s, beat, now() + interval_ns)

        heartbeat[1] = beat
        heartbeat[0] = reactor.callLater(interval_s, beat, now() + interval_ns)
