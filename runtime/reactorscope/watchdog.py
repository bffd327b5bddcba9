"""The stall sampler: a thread that samples the reactor thread's stack every sample interval while a top-level
callback runs, and keeps those samples to itself until it knows whether the callback is a stall (ran at least
the threshold).

Why from the callback's start, not from the threshold on: when the first sample came only once the threshold
had passed (50-75 ms in, with the default 50 ms), a callback a little over the threshold had one or two
samples, all taken near its end, and its whole time went to whatever ran last (a short function at the end
of a long loop, say). Now each sample stands for the time since the previous sample of the same callback (the
first: since the callback's start), so a stall's samples cover it from its start.

The rule for the samples of the running callback: kept here (tentative) while it is under the threshold;
published, with every later one, once it has run the threshold (so a long stall still streams live); when it
ends (``end`` set on its ``[start, key, kind, end]`` list, see recorder.py), published if it lasted the
threshold, else dropped. Callbacks under the threshold cost one stack walk per sample and send nothing.

It depends only on the recorder (what runs now, since when, and when it ended) and ``sys._current_frames``,
never on the reactor, so it works while the reactor is stuck. Cheap by construction: nothing but a read of
``rec.current`` when no callback runs (``sys._current_frames`` is called only while one does), and a kept
sample is (code, line) pairs, turned into site ids only when published. What it costs a busy reactor is
measured by bench/sampler.py (docs/performance.md). C code that holds the GIL is invisible to it until it
lets go, and a CPU-bound callback holds the GIL for the interpreter's switch interval (5 ms by default)
before the sampler gets it: the sampler shortens its next wait by that delay.
"""
from __future__ import annotations

import sys
import threading
import time
from types import FrameType
from typing import Any, Callable, List, Optional, Set, Tuple

from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable

MAX_DEPTH = 64
# Tentative samples kept for one callback (a threshold of 10 s at 5 ms); beyond this they are dropped and
# counted as dropped samples if the callback turns out a stall.
MAX_KEPT = 2000

RawStack = List[Tuple[Any, int]]  # (code object, line), innermost first


class Watchdog:
    def __init__(
        self,
        rec: Recorder,
        sites: SiteTable,
        threshold_ns: int,
        sample_interval_ns: int,
        stop_codes: Set[object],
        wait: Optional[Callable[[float], bool]] = None,
    ) -> None:
        self.rec = rec
        self.sites = sites
        self.threshold_ns = threshold_ns
        self.sample_interval_ns = sample_interval_ns
        # Frames of these code objects (the shim's trampolines) end a stack: above them is the reactor loop.
        self.stop_codes = stop_codes
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._timer = time.perf_counter  # how late a wake is (replaced by a fake in tests)
        self._thread: Optional[threading.Thread] = None
        # The callback the samples below are of (the recorder's list for it), and whether it is known a stall.
        self._held: Optional[List[Any]] = None
        self._kept: List[Tuple[int, RawStack]] = []
        self._kept_dropped = 0
        self._published = False

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="reactorscope-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        self._thread = None

    def _run(self) -> None:
        interval = self.sample_interval_ns / 1e9
        shortest = interval / 5
        wait = interval
        clock = self._timer
        while True:
            try:
                self.check()
            except Exception:  # never let the sampler die or disturb the app
                pass
            before = clock()
            if self._wait(wait):
                break
            # A wake is late by the time it waited for the GIL: a CPU-bound reactor thread lets go of it only
            # after the switch interval (5 ms by default). The next wait is that much shorter (not below a
            # fifth of the interval), so CPU-bound code is sampled about every interval, not every two.
            late = clock() - before - wait
            wait = max(shortest, interval - max(0.0, late))
        try:
            self.settle()  # a stall that ended since the last wake still gets its samples sent
        except Exception:
            pass

    def check(self) -> bool:
        """One wake: settles the callback whose samples are kept if it has ended, then samples the reactor
        thread if a top-level callback runs. Says whether it took a sample."""
        rec = self.rec
        current = rec.current
        held = self._held
        if held is not None and (current is not held or held[3]):
            self.settle()
        if current is None:
            return False
        if current is not self._held:
            self._held = current
            self._kept = []
            self._kept_dropped = 0
            self._published = False
        frame = sys._current_frames().get(rec.reactor_thread or 0)
        if frame is None:
            return False
        stack = self._raw_stack(frame)
        now = rec.now()
        if current[3] or rec.current is not current:
            return False  # it returned while this sample was taken: the stack may be the next one's
        if self._published:
            self._publish([(now, stack)])
        elif now - current[0] >= self.threshold_ns:
            kept = self._kept
            kept.append((now, stack))
            self._kept = []
            self._published = True
            self._publish(kept)
        elif len(self._kept) < MAX_KEPT:
            self._kept.append((now, stack))
        else:
            self._kept_dropped += 1
        return True

    def settle(self) -> None:
        """The held callback has ended (or the sampler stops): its kept samples are published if it lasted
        the threshold, else dropped. A callback still running keeps what it has only if already published."""
        held = self._held
        if held is None:
            return
        end = held[3]
        if end and not self._published and end - held[0] >= self.threshold_ns:
            self._publish(self._kept)
        self._held = None
        self._kept = []
        self._kept_dropped = 0
        self._published = False

    def _publish(self, samples: List[Tuple[int, RawStack]]) -> None:
        held = self._held
        if held is None:
            return
        rec = self.rec
        origin = rec.origin
        code_site = self.sites.code
        start = held[0] - origin
        site = self.sites.resolve(held[1])
        kind = held[2]
        for t, raw in samples:
            rec.add_stall_sample((start, site, kind, t - origin, [(code_site(code), line) for code, line in raw]))
        rec.samples_dropped += self._kept_dropped
        self._kept_dropped = 0

    def _raw_stack(self, frame: Optional[FrameType]) -> RawStack:
        """(code, line) pairs from the innermost frame out to the callback the reactor called."""
        out: RawStack = []
        stop_codes = self.stop_codes
        while frame is not None and len(out) < MAX_DEPTH:
            code = frame.f_code
            if code in stop_codes:
                break
            out.append((code, frame.f_lineno or 0))
            frame = frame.f_back
        return out
