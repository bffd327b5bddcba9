"""A recording read once, front to back, as what the exporters write: sites, callbacks nested as they ran,
stall samples with the time each held the reactor, and counter points. Memory stays bounded whatever the
recording's size: the file is fed to wire.StreamDecoder in 1 MiB chunks and every item is handed on as soon as
it is whole.

Nesting. EVENTS arrive in the order callbacks ended (runtime/reactorscope/recorder.py appends an event when its
callback returns), so the nested events (kinds 5-7: Deferred callbacks, coroutine steps, web renders) of a
top-level callback (kinds 1-4) arrive before it. They wait in ``pending`` until a top-level callback arrives; those
that lie inside it become its group, the rest (nested events that ran outside any recorded top-level callback)
become groups of their own, on their own kind's lane. ``pending`` is capped at PENDING_LIMIT (a callback that
fires more nested events than that gets them as groups of their own). Groups come out in the order they ran,
each sorted by start, with every slice clamped inside the one around it, so a viewer that needs properly nested
open/close events (speedscope) gets them.

The held rule (docs/protocol.md, STALL) needs the previous sample of the same stalled callback; the last sample
time is kept for the STALL_KEYS most recent stalled callbacks only (a stall's samples come while it lasts).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from reactorscope import wire

CHUNK_BYTES = 1 << 20
PENDING_LIMIT = 65_536
STALL_KEYS = 1024

# Lane names by kind, as the Reactor Timeline shows them (webview/src/timelineModel.ts, KIND_NAMES).
LANE_NAMES = {
    wire.KIND_TIMER: "timers",
    wire.KIND_IO_READ: "I/O reads",
    wire.KIND_IO_WRITE: "I/O writes",
    wire.KIND_THREAD_CALL: "thread calls",
    wire.KIND_DEFERRED: "Deferreds",
    wire.KIND_COROUTINE: "coroutines",
    wire.KIND_WEB_REQUEST: "web requests",
}
OTHER_LANE = 0  # kinds this version does not know
LANE_NAMES_ALL = {**LANE_NAMES, OTHER_LANE: "other"}

# Counter names (docs/protocol.md, GAUGES and LOOP).
GAUGE_NAMES = {
    wire.GAUGE_PENDING_CALLS: "pending delayed calls",
    wire.GAUGE_READERS: "readers",
    wire.GAUGE_WRITERS: "writers",
    wire.GAUGE_THREADPOOL_QUEUE: "threadpool queue",
    wire.GAUGE_THREADPOOL_BUSY: "threadpool busy workers",
    wire.GAUGE_THREADPOOL_IDLE: "threadpool idle workers",
    wire.GAUGE_THREAD_CALL_QUEUE: "callFromThread queue",
    wire.GAUGE_CPU_USER: "CPU user (s)",
    wire.GAUGE_CPU_SYSTEM: "CPU system (s)",
    wire.GAUGE_RSS: "RSS (bytes)",
    wire.GAUGE_GC_GEN0: "GC gen 0",
    wire.GAUGE_GC_GEN1: "GC gen 1",
    wire.GAUGE_GC_GEN2: "GC gen 2",
    wire.GAUGE_EVENTS_DROPPED: "events dropped",
    wire.GAUGE_SAMPLES_DROPPED: "stall samples dropped",
}
LAG_COUNTER = "loop lag (ms)"
BUSY_COUNTER = "busy (%)"
COUNTER_NAMES = [LAG_COUNTER, BUSY_COUNTER] + [GAUGE_NAMES[g] for g in sorted(GAUGE_NAMES)]


@dataclass
class Site:
    id: int
    line: int
    file: str
    name: str


@dataclass
class Slice:
    start: int
    end: int
    site: int
    kind: int
    depth: int = 0


@dataclass
class Group:
    """One tree of slices that ran together: a top-level callback and what ran nested in it (or nested events
    that ran outside any recorded callback). ``slices`` are sorted by start, the root first at depth 0."""

    lane: int
    slices: List[Slice]


@dataclass
class Sample:
    callback_start: int
    callback_site: int
    kind: int
    t: int
    held_ns: int
    stack: List[Tuple[int, int]]  # (site, line), innermost first


@dataclass
class Counter:
    name: str
    t: int
    value: float


@dataclass
class Hello:
    pid: int
    origin_wall_ns: int
    metadata: Dict[str, Any]


Item = Union[Hello, Site, Group, Sample, Counter]


def lane_of(kind: int) -> int:
    return kind if kind in LANE_NAMES else OTHER_LANE


def nest(slices: List[Slice]) -> List[Slice]:
    """Sort by start (longest first on ties), set depths, and clamp each slice inside the one around it."""
    slices.sort(key=lambda s: (s.start, -s.end))
    stack: List[Slice] = []
    for s in slices:
        while stack and s.start >= stack[-1].end:
            stack.pop()
        if stack:
            s.end = min(s.end, stack[-1].end)
        s.depth = len(stack)
        stack.append(s)
    return slices


def _forest(slices: List[Slice]) -> Iterator[Group]:
    """Nested events with no top-level callback around them: one group per outermost slice."""
    group: List[Slice] = []
    for s in nest(slices):
        if s.depth == 0 and group:
            yield Group(lane_of(group[0].kind), group)
            group = []
        group.append(s)
    if group:
        yield Group(lane_of(group[0].kind), group)


class Reader:
    """Items of one recording, in stream order (groups in the order they ran)."""

    def __init__(self) -> None:
        self.pending: List[Slice] = []
        self.last_sample: "OrderedDict[Tuple[int, int], int]" = OrderedDict()
        self.loop_start: Optional[int] = None
        self.damage: Optional[wire.ProtocolError] = None
        self.truncated_bytes = 0

    def items_of_file(self, path: Union[str, "os.PathLike[str]"]) -> Iterator[Item]:
        decoder = wire.StreamDecoder()
        with open(path, "rb") as stream:
            try:
                while True:
                    chunk = stream.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    for frame in decoder.feed(chunk):
                        yield from self.items_of_frame(frame)
            except wire.ProtocolError as error:
                self.damage = error  # what decoded before the damage stands (docs/protocol.md)
        self.truncated_bytes = decoder.pending_bytes
        yield from self.flush()

    def flush(self) -> Iterator[Group]:
        pending, self.pending = self.pending, []
        yield from _forest(pending)

    def items_of_frame(self, frame: wire.Frame) -> Iterator[Item]:
        body = frame.body
        if frame.type == wire.EVENTS:
            yield from self._events(body["start"], body["duration"], body["site"], body["kind"])
        elif frame.type == wire.SITES:
            for s in body["sites"]:
                yield Site(s["id"], s["line"], s["file"], s["name"])
        elif frame.type == wire.STALL:
            yield from self._stall(body)
        elif frame.type == wire.GAUGES:
            for gauge, value in body["values"]:
                name = GAUGE_NAMES.get(gauge)
                if name is not None:
                    yield Counter(name, body["t"], value)
        elif frame.type == wire.LOOP:
            for t, lag in zip(body["lagTimes"], body["lags"]):
                yield Counter(LAG_COUNTER, t, lag / 1e6)
            total = body["busyNs"] + body["idleNs"]
            if total > 0:
                yield Counter(BUSY_COUNTER, body["end"], 100.0 * body["busyNs"] / total)
        elif frame.type == wire.HELLO:
            yield Hello(body["pid"], body["originWallNs"], body["metadata"])

    def _events(self, starts: List[int], durations: List[int], sites: List[int], kinds: List[int]) -> Iterator[Group]:
        pending = self.pending
        for start, duration, site, kind in zip(starts, durations, sites, kinds):
            s = Slice(start, start + max(duration, 0), site, kind)
            if kind not in wire.TOP_LEVEL_KINDS:
                pending.append(s)
                if len(pending) >= PENDING_LIMIT:
                    yield from self.flush()
                    pending = self.pending
                continue
            if not pending:
                yield Group(lane_of(kind), [s])
                continue
            inside = [p for p in pending if p.start >= s.start and p.end <= s.end]
            if len(inside) != len(pending):
                yield from _forest([p for p in pending if not (p.start >= s.start and p.end <= s.end)])
            pending.clear()
            yield Group(lane_of(kind), nest([s] + inside))

    def _stall(self, body: Dict[str, Any]) -> Iterator[Sample]:
        key = (body["callbackStart"], body["site"])
        last = self.last_sample.pop(key, body["callbackStart"])
        for sample in sorted(body["samples"], key=lambda s: s["t"]):
            t = sample["t"]
            held = max(t - last, 0)
            last = max(last, t)
            stack = [(site, line) for site, line in sample["stack"]]
            yield Sample(key[0], key[1], body["kind"], t, held, stack)
        self.last_sample[key] = last
        if len(self.last_sample) > STALL_KEYS:
            self.last_sample.popitem(last=False)


def label(site: Optional[Site], line: Optional[int] = None) -> str:
    """A frame's name in every format: the function's name and where it is (base name:line), so that handlers of
    the same name in different files stay apart, and the same in every viewer."""
    if site is None or site.id == 0:
        return "(unknown)"
    return f"{site.name} {os.path.basename(site.file)}:{site.line if line is None else line}"


UNKNOWN_SITE = Site(0, 0, "", "(unknown)")  # an event or frame whose site the recording does not hold
