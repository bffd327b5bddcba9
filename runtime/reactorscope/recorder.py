"""What the reactor thread writes and the sender thread drains: a flat list of event fields, loop counters,
lag samples, stall samples. Only ints, code objects and tuples of them live here (no callables: they would keep Deferreds
and coroutines alive and slow the garbage collector). Events go into a plain list, four ints at a time:
``list.extend`` of a 4-tuple measured 64 ns here against 431 ns for ``array('q').extend``; the sender
turns the list into typed columns.

Thread rules: the reactor thread appends; the sender drains with ``n = len(buf); part = buf[:n];
del buf[:n]``, each step atomic under the GIL, so nothing appended in between is lost.
"""
from __future__ import annotations

import threading
from array import array
from typing import Any, Callable, Iterable, List, Optional, Tuple

from reactorscope.clock import Clock

EVENT_FIELDS = 4  # kind, key (code object or site id), start (ns from origin), duration (ns)

# (callback start, callback site, callback kind, sample time, stack of (site, line) innermost first)
StallSample = Tuple[int, int, int, int, List[Tuple[int, int]]]


class Recorder:
    def __init__(self, clock: Clock, buffer_events: int) -> None:
        self.now = clock.now_ns
        self.origin = clock.now_ns()
        self.origin_wall_ns = clock.wall_ns()
        self.events: List[int] = []
        self.limit = buffer_events * EVENT_FIELDS
        self.events_dropped = 0
        # The thread that runs the reactor: the main thread until the reactor starts elsewhere (e.g. crochet).
        self.reactor_thread = threading.main_thread().ident
        # The top-level callback the reactor thread runs now, as [start, key, kind, end], or None. The list is
        # made whole before it is stored here (one store, so the watchdog never sees half of an update); ``end``
        # is 0 while it runs and its end time once it returned, so the watchdog that kept a reference learns
        # how long a callback it sampled lasted. Replaced, never reused: a new callback is a new list.
        self.current: Optional[List[Any]] = None
        # Loop accounting since the start (the sender takes differences per window).
        self.iterations = 0
        self.idle_ns = 0
        self.lag_times = array("q")
        self.lags = array("q")
        # Per loop pass, the time from the poller's return to its next call (ns; Synapse's tick time): kept only
        # when metrics are served (metrics.py), else None and never touched.
        self.ticks: Optional[array] = None
        self.stall_samples: List[StallSample] = []
        self.samples_limit = 100_000
        self.samples_dropped = 0

    def sink(self) -> Tuple[Callable[[], int], int, List[Any], Callable[[Iterable[Any]], None], int]:
        """What a hook binds to locals for its hot path (attribute lookups per callback cost measurably):
        ``now, origin, events, extend, limit = rec.sink()``. An event is recorded as
        ``extend((kind, key, start - origin, duration))`` while ``len(events) < limit``, else counted in
        ``events_dropped``."""
        return self.now, self.origin, self.events, self.events.extend, self.limit

    def take_events(self) -> List[int]:
        events = self.events
        n = len(events)
        part = events[:n]
        del events[:n]
        return part

    def take_lags(self) -> Tuple[array, array]:
        n = len(self.lags)
        times, lags = self.lag_times[:n], self.lags[:n]
        del self.lag_times[:n], self.lags[:n]
        return times, lags

    def take_ticks(self) -> array:
        ticks = self.ticks
        if ticks is None:
            return array("q")
        n = len(ticks)
        part = ticks[:n]
        del ticks[:n]
        return part

    def take_stall_samples(self) -> List[StallSample]:
        samples = self.stall_samples
        n = len(samples)
        part = samples[:n]
        del samples[:n]
        return part

    def add_stall_sample(self, sample: StallSample) -> None:
        if len(self.stall_samples) < self.samples_limit:
            self.stall_samples.append(sample)
        else:
            self.samples_dropped += 1

    def reset_after_fork(self) -> None:
        """In a forked child: the parent's unsent data is the parent's to send."""
        del self.events[:]
        del self.lag_times[:], self.lags[:]
        if self.ticks is not None:
            del self.ticks[:]
        del self.stall_samples[:]
        self.current = None
