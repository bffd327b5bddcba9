"""Gauges read by the sender thread at an interval: reactor queues, threadpool, CPU, memory, GC.

Only ``len()`` and attribute reads on the reactor (atomic under the GIL); never ``getThreadPool()``, which
would create a pool the app never asked for.
"""
from __future__ import annotations

import gc
import os
import sys
from typing import Any, List, Optional, Tuple

from reactorscope import wire
from reactorscope.recorder import Recorder

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> Optional[float]:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return float(int(statm.read().split()[1]) * _PAGE_SIZE)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource  # peak, not current: the best a system without /proc offers

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return float(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB elsewhere
    except (ImportError, OSError):
        return None


def _length(obj: Any, *names: str) -> Optional[float]:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            try:
                return float(len(value))
            except TypeError:
                continue
    return None


def read_gauges(reactor: Any, rec: Recorder) -> List[Tuple[int, float]]:
    values: List[Tuple[int, float]] = []

    def put(gauge: int, value: Optional[float]) -> None:
        if value is not None:
            values.append((gauge, value))

    if reactor is not None:
        try:
            pending = len(reactor._pendingTimedCalls) + len(reactor._newTimedCalls) - reactor._cancellations
            put(wire.GAUGE_PENDING_CALLS, float(pending))
        except (AttributeError, TypeError):
            pass
        put(wire.GAUGE_READERS, _length(reactor, "_reads", "_readers"))
        put(wire.GAUGE_WRITERS, _length(reactor, "_writes", "_writers"))
        put(wire.GAUGE_THREAD_CALL_QUEUE, _length(reactor, "threadCallQueue"))
        pool = reactor.__dict__.get("threadpool")
        team = getattr(pool, "_team", None)
        if team is not None:
            try:
                stats = team.statistics()
                put(wire.GAUGE_THREADPOOL_QUEUE, float(stats.backloggedWorkCount))
                put(wire.GAUGE_THREADPOOL_BUSY, float(stats.busyWorkerCount))
                put(wire.GAUGE_THREADPOOL_IDLE, float(stats.idleWorkerCount))
            except Exception:
                pass
    times = os.times()
    put(wire.GAUGE_CPU_USER, times.user)
    put(wire.GAUGE_CPU_SYSTEM, times.system)
    put(wire.GAUGE_RSS, resident_bytes())
    for gauge, stats in zip((wire.GAUGE_GC_GEN0, wire.GAUGE_GC_GEN1, wire.GAUGE_GC_GEN2), gc.get_stats()):
        put(gauge, float(stats.get("collections", 0)))
    put(wire.GAUGE_EVENTS_DROPPED, float(rec.events_dropped))
    put(wire.GAUGE_SAMPLES_DROPPED, float(rec.samples_dropped))
    return values
