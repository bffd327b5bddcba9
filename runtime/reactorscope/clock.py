"""Clocks, injectable so tests can drive time by hand."""
from __future__ import annotations

import time
from typing import Callable

try:
    from typing import Protocol
except ImportError:  # Python < 3.8 is not supported; keeps type checkers on older stubs quiet
    Protocol = object  # type: ignore[assignment,misc]


class Clock(Protocol):
    now_ns: Callable[[], int]
    """Monotonic nanoseconds: event times and durations. Must be cheap: it runs twice per callback."""
    wall_ns: Callable[[], int]
    """Unix time in nanoseconds: read once, to map monotonic times to wall time."""


class SystemClock:
    now_ns = staticmethod(time.perf_counter_ns)
    wall_ns = staticmethod(time.time_ns)


class ManualClock:
    """A clock for tests: time moves only when ``advance`` says so."""

    def __init__(self, start_ns: int = 1_000_000_000, wall_ns: int = 1_700_000_000_000_000_000) -> None:
        self._now = start_ns
        self._wall_offset = wall_ns - start_ns

    def now_ns(self) -> int:
        return self._now

    def wall_ns(self) -> int:
        return self._now + self._wall_offset

    def advance(self, ns: int) -> None:
        self._now += ns
