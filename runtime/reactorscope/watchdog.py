"""The stall sampler: a thread that, while the reactor thread has been inside one top-level callback longer
than the threshold, samples that thread's stack every few milliseconds until the callback returns.

It depends only on the recorder (what runs now, since when) and ``sys._current_frames``, never on the
reactor, so it works while the reactor is stuck. Between stalls it wakes at half the threshold, which costs
nothing measurable; C code that holds the GIL is invisible to it until it lets go.
"""
from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Callable, List, Optional, Set, Tuple

from reactorscope.recorder import Recorder
from reactorscope.sites import SiteTable

MAX_DEPTH = 64


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
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="reactorscope-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self._thread = None

    def _run(self) -> None:
        idle_wait = self.threshold_ns / 2e9
        sample_wait = self.sample_interval_ns / 1e9
        while not self._stop.is_set():
            try:
                stalled = self.check()
            except Exception:  # never let the sampler die or disturb the app
                stalled = False
            if self._wait(sample_wait if stalled else idle_wait):
                return

    def check(self) -> bool:
        """Takes one sample if the reactor is stalled now; says whether it is."""
        current = self.rec.current
        if current is None:
            return False
        start, key, kind, _end = current
        now = self.rec.now()
        if now - start < self.threshold_ns:
            return False
        frame = sys._current_frames().get(self.rec.reactor_thread)
        if frame is None or self.rec.current is not current:
            return False
        stack = self.stack(frame)
        origin = self.rec.origin
        self.rec.add_stall_sample((start - origin, self.sites.resolve(key), kind, now - origin, stack))
        return True

    def stack(self, frame: Optional[FrameType]) -> List[Tuple[int, int]]:
        """(site, line) pairs from the innermost frame out to the callback the reactor called."""
        out: List[Tuple[int, int]] = []
        code_site = self.sites.code
        while frame is not None and len(out) < MAX_DEPTH:
            code = frame.f_code
            if code in self.stop_codes:
                break
            out.append((code_site(code), frame.f_lineno or 0))
            frame = frame.f_back
        return out
