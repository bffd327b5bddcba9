"""The Prometheus view of a session (``--metrics``): what the series are and their values, read from the hotspots
model the report uses (model.py: per-handler histograms, blocking lines) plus the loop's figures the sender
hands it each flush (lag samples, tick times, busy time), and the gauges read at scrape time (gauges.py).

One model, many views: the series are computed at each scrape from ``Model`` under ``lock``, the lock the
sender holds while it feeds the model, so a scrape never sees half a flush and never runs on the reactor
thread. Rendering (the text format, or prometheus_client's registry) is exposition.py's; docs/runtime.md
(Prometheus metrics) lists the series. Cardinality is bounded: the ``TOP_HANDLERS`` handlers and ``TOP_LINES``
blocking lines with the most time, the rest summed into one ``other`` series each.
"""
from __future__ import annotations

import os
import sys
import threading
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from reactorscope import __version__, wire
from reactorscope.gauges import read_gauges
from reactorscope.histogram import Histogram
from reactorscope.model import Model
from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable

# Synapse's buckets for python_twisted_reactor_tick_time (synapse/metrics/_reactor_metrics.py), in seconds; the
# lag and callback histograms use them too, so that one dashboard compares them.
BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
TOP_HANDLERS = 20
TOP_LINES = 20
OTHER = "other"
# Stalled callbacks kept whole when only --metrics reads the model (Model.stalls_kept; the server keeps 200 too).
METRICS_STALLS_KEPT = 200
BUSY_WINDOW_NS = 1_000_000_000  # reactorscope_reactor_busy_ratio: over the flush windows of the last second

# Gauges read at scrape time (gauges.py): wire id -> (name, type, help).
GAUGE_SERIES = {
    wire.GAUGE_PENDING_CALLS: ("reactorscope_reactor_delayed_calls", "gauge", "DelayedCalls scheduled on the reactor"),
    wire.GAUGE_READERS: ("reactorscope_reactor_readers", "gauge", "Selectables the reactor reads from"),
    wire.GAUGE_WRITERS: ("reactorscope_reactor_writers", "gauge", "Selectables the reactor writes to"),
    wire.GAUGE_THREAD_CALL_QUEUE: ("reactorscope_reactor_thread_calls_queued", "gauge",
                                   "callFromThread calls waiting for the reactor thread"),
    wire.GAUGE_THREADPOOL_QUEUE: ("reactorscope_threadpool_queued", "gauge", "Work waiting for a thread of the reactor's pool"),
    wire.GAUGE_THREADPOOL_BUSY: ("reactorscope_threadpool_working", "gauge", "Threads of the reactor's pool running work"),
    wire.GAUGE_THREADPOOL_IDLE: ("reactorscope_threadpool_idle", "gauge", "Idle threads of the reactor's pool"),
    wire.GAUGE_EVENTS_DROPPED: ("reactorscope_events_dropped_total", "counter",
                                "Callbacks measured but not delivered to the telemetry server (a lower bound)"),
    wire.GAUGE_SAMPLES_DROPPED: ("reactorscope_samples_dropped_total", "counter", "Stack samples dropped (buffer full)"),
}

Labels = Tuple[Tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: ``samples`` are (suffix, labels, value), suffix "" or ``_bucket``/``_sum``/``_count``."""

    name: str
    type: str  # gauge, counter, histogram
    help: str
    samples: List[Tuple[str, Labels, float]] = field(default_factory=list)

    def add_histogram(self, labels: Labels, histogram: Histogram, scale: float = 1e-9) -> None:
        for bound, n in zip(BUCKETS_S, histogram.cumulative([round(b / scale) for b in BUCKETS_S])):
            self.samples.append(("_bucket", labels + (("le", _number(bound)),), float(n)))
        self.samples.append(("_bucket", labels + (("le", "+Inf"),), float(histogram.count)))
        self.samples.append(("_sum", labels, histogram.total * scale))
        self.samples.append(("_count", labels, float(histogram.count)))


def _number(value: float) -> str:
    return repr(float(value))


class LoopTotals:
    """The loop's figures over the run, fed by the sender thread each flush (sender.py, under the view's lock)."""

    def __init__(self) -> None:
        self.lag = Histogram()
        self.ticks = Histogram()
        self.busy_ns = 0
        self.iterations = 0
        self.windows: Deque[Tuple[int, int, int]] = deque()  # (end, busy, length) of the last second's windows

    def add_window(self, end: int, length: int, busy: int, iterations: int) -> None:
        self.busy_ns += busy
        self.iterations += iterations
        self.windows.append((end, busy, length))
        while self.windows and self.windows[0][0] < end - BUSY_WINDOW_NS:
            self.windows.popleft()

    def add_samples(self, lags: Sequence[int], ticks: Sequence[int]) -> None:
        for value in lags:
            self.lag.record(value)
        for value in ticks:
            self.ticks.record(value)

    @property
    def busy_ratio(self) -> float:
        length = sum(w[2] for w in self.windows)
        return sum(w[1] for w in self.windows) / length if length else 0.0


class MetricsView:
    def __init__(self, model: Model, sites: SiteTable, rec: Recorder, reactor: Callable[[], Any],
                 meta: Callable[[], Dict[str, Any]]) -> None:
        self.model = model
        self.sites = sites
        self.rec = rec
        self.reactor = reactor
        self.meta = meta
        self.loop = LoopTotals()
        self.lock = threading.Lock()  # held by the sender while it feeds model and loop, and by collect()
        if rec.ticks is None:
            rec.ticks = array("q")  # the loop hooks record tick times from now on (loop_lag.py)

    def collect(self) -> List[Family]:
        """Every family, as of now. Called from the metrics thread (or prometheus_client's), never the reactor's."""
        gauges = read_gauges(self.reactor(), self.rec)
        with self.lock:
            model = self.model
            model.add_sites(self.sites.rows_since(len(model.sites)))
            families = [self._build_info(), *self._loop_families(), self._handlers(model), *self._lines(model)]
        for gauge, value in gauges:
            series = GAUGE_SERIES.get(gauge)
            if series is not None:
                families.append(Family(series[0], series[1], series[2], [("", (), value)]))
        return families

    def _build_info(self) -> Family:
        meta = self.meta()
        labels = (
            ("version", __version__),
            ("python", ".".join(map(str, sys.version_info[:3]))),
            ("twisted", str(meta.get("twisted", ""))),
            ("reactor", str(meta.get("reactor", ""))),
            ("pid", str(os.getpid())),
        )
        return Family("reactorscope_build_info", "gauge", "Reactor Scope, Python, Twisted and the reactor: always 1",
                      [("", labels, 1.0)])

    def _loop_families(self) -> List[Family]:
        loop = self.loop
        tick = Family("python_twisted_reactor_tick_time", "histogram",
                      "Tick time of the Twisted reactor (sec): from the poller's return to its next call")
        tick.add_histogram((), loop.ticks)
        lag = Family("reactorscope_loop_lag_seconds", "histogram",
                     "Loop lag: how late a timer due every 50 ms would have run (docs/runtime.md)")
        lag.add_histogram((), loop.lag)
        return [
            tick,
            lag,
            Family("reactorscope_reactor_busy_seconds_total", "counter",
                   "Time the reactor thread spent running callbacks (not waiting in its poller)",
                   [("", (), loop.busy_ns / 1e9)]),
            Family("reactorscope_reactor_busy_ratio", "gauge", "Share of the last second the reactor was busy (0-1)",
                   [("", (), loop.busy_ratio)]),
            Family("reactorscope_reactor_iterations_total", "counter", "Passes of the reactor loop",
                   [("", (), float(loop.iterations))]),
        ]

    def _where(self, site: int, line: Optional[int] = None) -> Tuple[str, str]:
        first, file, name = self.model.sites.get(site, (0, "", ""))
        return name or f"site {site}", f"{file}:{first if line is None else line}"

    def _handlers(self, model: Model) -> Family:
        family = Family("reactorscope_callback_duration_seconds", "histogram",
                        f"Durations of each handler's callbacks: the {TOP_HANDLERS} handlers with the most time, "
                        "the rest as handler=\"other\"")
        by_site = sorted(model.handler_histograms().items(), key=lambda item: (-item[1].total, item[0]))
        merged: Dict[Labels, Histogram] = {}
        for rank, (site, histogram) in enumerate(by_site):
            if rank < TOP_HANDLERS:
                name, location = self._where(site)
                labels: Labels = (("handler", name), ("location", location))
            else:
                labels = (("handler", OTHER), ("location", ""))
            merged.setdefault(labels, Histogram()).merge(histogram)
        for labels, histogram in merged.items():
            family.add_histogram(labels, histogram)
        return family

    def _lines(self, model: Model) -> List[Family]:
        stalls = Family("reactorscope_stalls_total", "counter",
                        f"Stalled callbacks sampled at each blocking line (innermost frame): the {TOP_LINES} lines "
                        "that held the reactor longest, the rest as function=\"other\"")
        held = Family("reactorscope_stall_held_seconds_total", "counter",
                      "Time each blocking line held the reactor, by the held rule of docs/protocol.md (STALL)")
        totals: Dict[Labels, List[int]] = {}
        ranked = sorted(model.line_stalls().items(), key=lambda item: (-item[1][1], item[0]))
        for rank, ((site, line), (count, held_ns)) in enumerate(ranked):
            if rank < TOP_LINES:
                name, location = self._where(site, line)
                labels: Labels = (("function", name), ("location", location))
            else:
                labels = (("function", OTHER), ("location", ""))
            total = totals.setdefault(labels, [0, 0])
            total[0] += count
            total[1] += held_ns
        for labels, (count, held_ns) in totals.items():
            stalls.samples.append(("", labels, float(count)))
            held.samples.append(("", labels, held_ns / 1e9))
        return [stalls, held]
