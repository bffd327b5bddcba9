"""Loop lag without a timer on the reactor: what a heartbeat timer would measure, read from the loop's own pace.

A heartbeat (a DelayedCall every lag interval) is visible to the app: it is in ``reactor.getDelayedCalls()``,
trial's janitor reports it as a DirtyReactorAggregateError, and it wakes an idle reactor. Instead, for each due
instant T (one per lag interval, rescheduled from when it was served, as a heartbeat reschedules itself):

- the loop was waiting in the poller at T: a heartbeat would have woken it at once, lag 0 (sample at T);
- else: the lag is the time from T until the loop next came back to its poller (``doIteration``; asyncio: the
  event loop's selector), sampled at that moment: with a heartbeat due, that poll would have returned at once
  and the heartbeat run right after it.

The reactor thread reports its waits (``wait_started``, which also serves what is due, and ``wait_ended``);
the sender thread calls ``catch_up`` each flush so that an idle reactor still reports its zeros while it
sleeps. Both take one lock, and only when a sample is due (every lag interval at most).
"""
from __future__ import annotations

import threading

from reactorscope.recorder import Recorder

NEVER = 1 << 62  # next_due before start(): no sample is ever due


class LoopLag:
    def __init__(self, rec: Recorder, interval_ns: int) -> None:
        self.rec = rec
        self.interval_ns = max(1, interval_ns)
        self.next_due = NEVER  # read without the lock on the hot path: ``if t >= lag.next_due``
        self.waiting_since = 0  # perf ns when the loop entered the poller; 0 when it is not waiting
        self.wait_start = 0  # the last finished wait
        self.wait_end = 0
        self._lock = threading.Lock()

    def start(self, now: int) -> None:
        with self._lock:
            if self.next_due == NEVER:
                self.next_due = now + self.interval_ns

    def stop(self) -> None:
        with self._lock:
            self.next_due = NEVER

    def wait_started(self, t: int) -> None:
        """The loop enters its poller at ``t``: the instants due since it last did are served now. With metrics on
        (``rec.ticks``), the pass's tick is recorded: from the poller's last return to now."""
        ticks = self.rec.ticks
        if ticks is not None and self.wait_end:
            ticks.append(t - self.wait_end)
        if t >= self.next_due:
            self.serviced(t)
        self.waiting_since = t

    def wait_ended(self, t: int) -> None:
        since = self.waiting_since
        if since:
            self.wait_start = since
            self.wait_end = t
            self.waiting_since = 0

    def serviced(self, t: int) -> None:
        """Reactor thread: the loop comes back to its poller at ``t``; every instant due by then gets its sample."""
        with self._lock:
            due = self.next_due
            if due > t:
                return
            interval = self.interval_ns
            wait_start, wait_end = self.wait_start, self.wait_end
            rec = self.rec
            origin = rec.origin
            while due <= t:
                if wait_start <= due < wait_end:  # the loop was waiting in the poller then
                    rec.lag_times.append(due - origin)
                    rec.lags.append(0)
                    due += interval
                else:
                    rec.lag_times.append(t - origin)
                    rec.lags.append(t - due)
                    due = t + interval
            self.next_due = due

    def catch_up(self, now: int) -> None:
        """Sender thread: the instants due while the loop has been waiting in the poller up to ``now`` (read
        before this call: a wait still going on when it is read afterwards covered everything up to ``now``)."""
        if self.next_due > now:
            return
        with self._lock:
            since = self.waiting_since
            if not since:
                return
            due = self.next_due
            rec = self.rec
            origin = rec.origin
            while since <= due <= now:
                rec.lag_times.append(due - origin)
                rec.lags.append(0)
                due += self.interval_ns
            self.next_due = due
