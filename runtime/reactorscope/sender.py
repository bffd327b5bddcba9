"""The sender thread: every flush interval it drains the recorder, encodes frames (docs/protocol.md) and
writes them to each peer: the connection (connect or attach mode) and the recording. What no live
connection takes is dropped and counted, and so is what a connection given up had not delivered (as far as
that can be known: inflight.py); the recording never drops.
"""
from __future__ import annotations

import threading
from array import array
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from reactorscope import wire
from reactorscope.console import warn
from reactorscope.gauges import read_gauges
from reactorscope.recorder import EVENT_FIELDS, Recorder, StallSample
from reactorscope.metrics import MetricsView
from reactorscope.model import Model
from reactorscope.sites import SiteTable
from reactorscope.transport import Peer


class Sender:
    def __init__(
        self,
        rec: Recorder,
        sites: SiteTable,
        hello: Callable[[], bytes],
        flush_interval_s: float,
        gauge_interval_ns: int,
        connection: Any = None,
        recording: Optional[Peer] = None,
        model: Optional[Model] = None,
        reactor: Callable[[], Any] = lambda: None,
        before_flush: Callable[[int], None] = lambda now: None,
        metrics: Optional[MetricsView] = None,
    ) -> None:
        self.rec = rec
        self.sites = sites
        self.hello = hello
        self.flush_interval_s = flush_interval_s
        self.gauge_interval_ns = gauge_interval_ns
        self.connection = connection  # a transport.Connector or transport.Listener, or None
        self.recording = recording
        self.model = model  # fed what is encoded, for --report, --fail-over and --metrics
        self.metrics = metrics  # its loop figures are fed here too; a scrape reads both under model_lock
        self.model_lock = metrics.lock if metrics is not None else threading.Lock()
        self.reactor = reactor
        # Called with the time first in each flush: loop lag reports the instants an idle reactor slept through.
        self.before_flush = before_flush
        self.meta: Dict[str, Any] = {}
        self._meta_version = 0
        self._window_start = rec.now() - rec.origin
        self._last_iterations = 0
        self._last_idle = 0
        self._last_gauges = -gauge_interval_ns
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()  # one flush at a time (the thread's, or the final one at exit)
        self._reported_error = False

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        # Loop accounting starts now, when the reactor does: time before it is not the loop's.
        self._window_start = self.rec.now() - self.rec.origin
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="reactorscope-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self.flush()

    def after_fork_in_child(self) -> None:
        """In a forked child: the parent's sender thread may have held the flush lock at the fork, and no thread
        of the child will ever release it."""
        self._lock = threading.Lock()
        self._thread = None

    def set_meta(self, **values: Any) -> None:
        self.meta.update(values)
        self._meta_version += 1

    # -- one flush -----------------------------------------------------------------------------------

    def flush(self, goodbye: Optional[Tuple[int, str]] = None) -> None:
        with self._lock:
            try:
                self._flush(goodbye)
            except Exception as error:  # the sender must survive anything, and never disturb the app
                if not self._reported_error:
                    self._reported_error = True
                    warn(f"could not send telemetry ({error!r}); further errors are not shown")

    def _flush(self, goodbye: Optional[Tuple[int, str]]) -> None:
        rec = self.rec
        self.before_flush(rec.now())
        events = rec.take_events()
        lag_times, lags = rec.take_lags()
        samples = rec.take_stall_samples()
        ticks = rec.take_ticks()
        now = rec.now() - rec.origin

        n = len(events) // EVENT_FIELDS
        # Find the peer first: what no peer will take is counted before this flush's gauges are read.
        peer = self.connection.current() if self.connection is not None else None
        if self.connection is not None and peer is None:
            rec.events_dropped += n

        body: List[bytes] = []
        events_frames: List[Tuple[int, int]] = []  # (callbacks, end offset) of the EVENTS frames, first in the body
        if n:
            kinds = array("B", events[0::EVENT_FIELDS])
            # Keys are code objects (interned here, off the reactor thread) or site ids already.
            known, intern = self.sites.ids_by_key.get, self.sites.code
            site_ids = array("I", [k if k.__class__ is int else known(k) or intern(k) for k in events[1::EVENT_FIELDS]])  # type: ignore[arg-type]
            starts = array("q", events[2::EVENT_FIELDS])
            durations = array("q", events[3::EVENT_FIELDS])
            body.extend(wire.encode_events_frames(starts, durations, site_ids, kinds))
            end = 0
            for i, frame in enumerate(body):
                end += len(frame)
                events_frames.append((min(wire.EVENTS_PER_FRAME, n - i * wire.EVENTS_PER_FRAME), end))
            if self.model is not None:
                with self.model_lock:
                    self.model.add_events(site_ids, kinds, starts, durations)
        if samples:
            body.extend(self._stall_frames(samples))
        body.extend(self._loop_frame(now, lag_times, lags))
        if self.metrics is not None:
            with self.model_lock:
                self.metrics.loop.add_samples(lags, ticks)
        gauges = now - self._last_gauges >= self.gauge_interval_ns or goodbye is not None
        if gauges:
            self._last_gauges = now
        tail = [wire.encode_goodbye(*goodbye)] if goodbye is not None else []

        def payload() -> bytes:
            """The frames, with the gauges as they are now."""
            frames = body + [wire.encode_gauges(now, read_gauges(self.reactor(), rec))] if gauges else body
            return b"".join(frames + tail)

        sent = payload()
        dropped = rec.events_dropped
        if peer is not None:
            self._send(peer, sent, events_frames)
        if self.connection is not None:
            rec.events_dropped += self.connection.take_lost()
        if self.recording is not None:
            # The recording's count has what this send lost at once (the connection's has it next time): the
            # last flush of a run is counted too.
            self._send(self.recording, payload() if gauges and rec.events_dropped != dropped else sent)

    def _send(self, peer: Peer, payload: bytes, events_frames: Sequence[Tuple[int, int]] = ()) -> bool:
        """Greets a new peer (HELLO, after the preamble unless its handshake sent it), sends the sites and meta it
        lacks, then the payload (``events_frames``: its EVENTS frames, as Peer.send takes them)."""
        head: List[bytes] = []
        if not peer.greeted:
            head.append(peer.preamble + self.hello())
        rows = self.sites.rows_since(peer.sites_sent)
        if rows:
            head.append(wire.encode_sites(rows))
        if self.meta and peer.meta_version != self._meta_version:
            head.append(wire.encode_meta(self.meta))
        greeting = b"".join(head)
        ok = peer.send(greeting + payload, [(events, len(greeting) + end) for events, end in events_frames])
        if ok:
            peer.greeted = True
            peer.sites_sent += len(rows)
            peer.meta_version = self._meta_version
        return ok

    def _stall_frames(self, samples: List[StallSample]) -> List[bytes]:
        by_callback: Dict[Tuple[int, int, int], List[Tuple[int, List[Tuple[int, int]]]]] = {}
        for start, site, kind, t, stack in samples:
            by_callback.setdefault((start, site, kind), []).append((t, stack))
        if self.model is not None:
            with self.model_lock:
                for (start, site, kind), group in by_callback.items():
                    self.model.add_stall(start, site, kind, group)
        return [wire.encode_stall(start, site, kind, group) for (start, site, kind), group in by_callback.items()]

    def _loop_frame(self, now: int, lag_times: array, lags: array) -> List[bytes]:
        rec = self.rec
        reactor = self.reactor()
        iterations, idle = rec.iterations, rec.idle_ns
        start = self._window_start
        self._window_start = now
        d_iterations = iterations - self._last_iterations
        d_idle = idle - self._last_idle
        self._last_iterations, self._last_idle = iterations, idle
        running = reactor is not None and bool(getattr(reactor, "running", False))
        if not running and not d_iterations and not lags:
            return []
        window = now - start
        busy = max(0, window - d_idle)
        if self.metrics is not None:
            with self.model_lock:
                self.metrics.loop.add_window(now, window, busy, d_iterations)
        return [wire.encode_loop(start, now, d_iterations, busy, min(d_idle, window), lag_times, lags)]
