"""`python -m reactorscope` with the stall sampler swapped, for bench/sampler.py to compare against:

    python sampler_modes.py MODE run [options] SCRIPT [ARGS...]

MODE ``old``: the sampler as it was before issue 10 (wakes every half threshold, samples only once a callback
has run the threshold, at the sample interval from then on); ``off``: no sampler thread; ``new``: the shim's
own. The rest of the command line is what ``python -m reactorscope`` takes. Bench-only: the shim has no switch
for this, since users should not have one.
"""
import sys

from reactorscope import session
from reactorscope.cli import main
from reactorscope.watchdog import Watchdog


class OldWatchdog(Watchdog):
    """The watchdog's loop and check before issue 10 (git show a1b855f:runtime/reactorscope/watchdog.py)."""

    def _run(self):
        idle_wait = self.threshold_ns / 2e9
        sample_wait = self.sample_interval_ns / 1e9
        while not self._stop.is_set():
            try:
                stalled = self.old_check()
            except Exception:
                stalled = False
            if self._wait(sample_wait if stalled else idle_wait):
                return

    def old_check(self):
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
        stack = [(self.sites.code(code), line) for code, line in self._raw_stack(frame)]
        origin = self.rec.origin
        self.rec.add_stall_sample((start - origin, self.sites.resolve(key), kind, now - origin, stack))
        return True


class NoWatchdog(Watchdog):
    def start(self):
        pass


mode = sys.argv.pop(1)
session.Watchdog = {"old": OldWatchdog, "off": NoWatchdog, "new": Watchdog}[mode]
sys.exit(main())
