"""The hotspots model in Python: what ``--report`` and ``--fail-over`` print and check, computed the way the
telemetry server's ``SessionStore.hotspots()`` (server/src/store/sessionStore.ts) computes what the editor shows,
so that the report, the Hotspots view, the diagnostics, the CodeLens and a reopened recording agree on the same
run: the same handlers, nested handlers, blocking lines and figures. ``test/fixtures/hotspots/`` holds the two
in step (one recording, one expected result, checked by both test suites).

It is fed the frames the sender encodes (``add_events``, ``add_stall``, ``add_sites``) or their decoded form
(``ingest``, for a recording read with ``wire.decode_stream``):

- per site and kind, a histogram of durations (``histogram.py``, the twin of histogram.ts);
- handlers: the sites of top-level callbacks (kinds 1-4), and the app's nested handlers: sites of Deferred
  callbacks, coroutine steps and web renders whose file is the app's code by the session's rule (``usercode.py``,
  the HELLO metadata's ``userCode``);
- blocking lines per handler: the innermost lines of the stall samples, credited to the stalled callback's site
  and to every nested handler its stacks ran through, each with the time it held the reactor by the held rule
  of docs/protocol.md (STALL): a sample stands for the time since the previous sample of the same callback.

One difference stays, on purpose: the server keeps the newest 200 stalled callbacks with their stacks and folds
older ones into per-line totals (bounded memory for a long session), crediting the nested handlers known when it
folds them; the report runs once at exit and keeps them all. Past 200 stalls, a nested handler first seen after
older stalls were folded is credited with their lines here and not there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from reactorscope import wire
from reactorscope.histogram import Histogram
from reactorscope.usercode import UserCode

NESTED_KINDS = (wire.KIND_DEFERRED, wire.KIND_COROUTINE, wire.KIND_WEB_REQUEST)
# Samples per stalled callback whose stacks are kept (as sessionStore.ts keeps them); later ones still count.
SAMPLES_PER_STALL = 10_000

Line = Tuple[int, int]  # (site, line)


@dataclass
class BlockingLine:
    site: int
    file: str
    name: str
    line: int
    samples: int
    held_ns: int


@dataclass
class Hotspot:
    site: int
    file: str
    line: int
    name: str
    count: int
    total_ns: int
    max_ns: int
    p50_ns: float
    p95_ns: float
    p99_ns: float
    nested: bool
    """One of the app's nested handlers: its time is also in the top-level callback that ran it."""
    sampled: bool
    """Known from stall samples only (``Model._app_frames``): the app's function behind a library callback that
    has no event of its own; its calls are the stalled callbacks it was sampled in, each lasting what it held."""
    blocking_lines: List[BlockingLine] = field(default_factory=list)


@dataclass
class AppFrameShare:
    """What one stalled callback's samples held in one function of the app's code (app_frame_shares)."""

    held_ns: int = 0
    lines: Dict[Line, List[int]] = field(default_factory=dict)  # (site, line) -> [samples, held ns]


class StallRecord:
    """One stalled callback, as its STALL frames arrive (in any order, in any number of frames)."""

    def __init__(self, start: int, site: int, kind: int) -> None:
        self.start = start
        self.site = site
        self.kind = kind
        self.times: List[int] = []
        self.innermost: List[Optional[Line]] = []
        self.stacks: List[Tuple[Line, ...]] = []
        self.sample_stacks: List[int] = []  # the first SAMPLES_PER_STALL samples' stacks, as indexes into stacks
        self._stack_ids: Dict[Tuple[Line, ...], int] = {}

    def add(self, t: int, stack: Sequence[Sequence[int]]) -> None:
        frames = tuple((int(s), int(line)) for s, line in stack)
        self.times.append(t)
        self.innermost.append(frames[0] if frames else None)
        if len(self.times) <= SAMPLES_PER_STALL:
            stack_id = self._stack_ids.get(frames)
            if stack_id is None:
                stack_id = self._stack_ids[frames] = len(self.stacks)
                self.stacks.append(frames)
            self.sample_stacks.append(stack_id)

    def weights(self) -> List[int]:
        """Each sample's weight by the held rule, in the order the samples came (the order of ``times``)."""
        weights = [0] * len(self.times)
        previous = self.start
        for i in sorted(range(len(self.times)), key=self.times.__getitem__):
            t = self.times[i]
            weights[i] = max(0, t - previous)
            previous = max(previous, t)
        return weights

    def line_shares(self) -> Dict[Line, List[int]]:
        """(site, line) -> [samples, held ns]: the held rule of docs/protocol.md (STALL). In time order, each
        sample weighs the time since the previous sample of this callback (the first: since its start);
        a line holds the weights of the samples whose innermost frame it is."""
        shares: Dict[Line, List[int]] = {}
        for line, weight in zip(self.innermost, self.weights()):
            if line is None:
                continue
            share = shares.get(line)
            if share is None:
                shares[line] = [1, weight]
            else:
                share[0] += 1
                share[1] += weight
        return shares

    def app_frame_shares(self, is_app: Callable[[int], bool], skip: Set[int]) -> Dict[int, AppFrameShare]:
        """The app's code behind a library callback (sessionStore.ts's StallRecord.appFrameShares is the twin):
        for each sample whose stack is kept, the outermost frame in the app's code (``is_app``), unless ``skip``
        has it; that site holds the sample's weight, and its innermost line the same."""
        out: Dict[int, AppFrameShare] = {}
        weights = self.weights()
        outermost = [next((site for site, _ in reversed(stack) if is_app(site)), -1) for stack in self.stacks]
        for i, stack_id in enumerate(self.sample_stacks):
            app = outermost[stack_id]
            line = self.innermost[i]
            if app < 0 or app in skip or line is None:
                continue
            share = out.get(app)
            if share is None:
                share = out[app] = AppFrameShare()
            share.held_ns += weights[i]
            total = share.lines.get(line)
            if total is None:
                share.lines[line] = [1, weights[i]]
            else:
                total[0] += 1
                total[1] += weights[i]
        return out


class Model:
    def __init__(self, user_code: Optional[UserCode] = None) -> None:
        """``user_code``: the session's rule; without one, the HELLO metadata's (or the fallback rule)."""
        self.user_code = user_code
        self._fallback = UserCode()  # for a recording whose HELLO has no userCode (an older shim)
        self.sites: Dict[int, Tuple[int, str, str]] = {}  # id -> (first line, file, name)
        self.histograms: Dict[int, Histogram] = {}  # site * 256 + kind
        self.stalls: Dict[Tuple[int, int], StallRecord] = {}  # (callback start, site)
        # With a number, only that many newest stalled callbacks are kept whole and older ones are folded into
        # ``folded_lines`` (line_stalls() counts them; hotspots() does not): --metrics without --report, so a
        # long-running service does not grow with its stalls. None (--report, a recording) keeps them all.
        self.stalls_kept: Optional[int] = None
        self.folded_lines: Dict[Line, List[int]] = {}

    # -- input -------------------------------------------------------------------------------------------

    def add_sites(self, rows: Iterable[Tuple[int, int, str, str]]) -> None:
        for site, line, file, name in rows:
            self.sites[site] = (line, file, name)

    def add_events(self, sites: Sequence[int], kinds: Sequence[int], starts: Sequence[int], durations: Sequence[int]) -> None:
        histograms = self.histograms
        key, histogram = -1, None
        for site, kind, duration in zip(sites, kinds, durations):
            k = site * 256 + kind
            if k != key or histogram is None:
                key = k
                histogram = histograms.get(k)
                if histogram is None:
                    histogram = histograms[k] = Histogram()
            histogram.record(duration)

    def add_stall(self, callback_start: int, site: int, kind: int, samples: Iterable[Tuple[int, Sequence[Sequence[int]]]]) -> None:
        record = self.stalls.get((callback_start, site))
        if record is None:
            record = self.stalls[(callback_start, site)] = StallRecord(callback_start, site, kind)
        for t, stack in samples:
            record.add(t, stack)
        if self.stalls_kept is not None:
            while len(self.stalls) > self.stalls_kept:
                oldest = self.stalls.pop(next(iter(self.stalls)))
                _add_line_shares(self.folded_lines, oldest)

    def ingest(self, frame: wire.Frame) -> None:
        """A decoded frame (``wire.decode_stream``), as the server ingests it."""
        body = frame.body
        if frame.type in (wire.HELLO, wire.META):
            description = body["metadata"].get("userCode")
            if self.user_code is None or description is not None:
                self.user_code = UserCode.from_description(description)
        elif frame.type == wire.SITES:
            self.add_sites((s["id"], s["line"], s["file"], s["name"]) for s in body["sites"])
        elif frame.type == wire.EVENTS:
            self.add_events(body["site"], body["kind"], body["start"], body["duration"])
        elif frame.type == wire.STALL:
            self.add_stall(body["callbackStart"], body["site"], body["kind"], ((s["t"], s["stack"]) for s in body["samples"]))

    # -- output ------------------------------------------------------------------------------------------

    @property
    def max_top_level_ns(self) -> int:
        """The longest callback the reactor loop ran: what held the reactor (``--fail-over``)."""
        return max((h.max for k, h in self.histograms.items() if k % 256 in wire.TOP_LEVEL_KINDS), default=0)

    def is_user_file(self, file: str) -> bool:
        return (self.user_code or self._fallback).is_user_file(file)

    def nested_handler_sites(self) -> Set[int]:
        """Sites of nested callbacks (Deferred, coroutine, web render) in the app's code."""
        out: Set[int] = set()
        for key in self.histograms:
            site = key // 256
            if site in out or key % 256 not in NESTED_KINDS:
                continue
            where = self.sites.get(site)
            if where is not None and self.is_user_file(where[1]):
                out.add(site)
        return out

    def _credited_sites(self, record: StallRecord, nested: Set[int]) -> List[int]:
        credited = [record.site]
        seen = {record.site}
        for stack in record.stacks:
            for site, _line in stack:
                if site not in seen and site in nested:
                    credited.append(site)
                seen.add(site)
        return credited

    def _app_frame_skip(self, nested: Set[int]) -> Set[int]:
        """The sites _app_frames never names: those with events of their own (nested handlers, top-level ones)."""
        skip = set(nested)
        skip.update(key // 256 for key in self.histograms if key % 256 in wire.TOP_LEVEL_KINDS)
        return skip

    def _app_frames(self, record: StallRecord, skip: Set[int]) -> Dict[int, AppFrameShare]:
        """The app's functions behind a stalled library callback (a framework's dispatch: ``Cooperator._tick``
        running a crawler's callback, a framework's asyncio Task, Klein's or another resource's own ``render``):
        per sample, the outermost frame in the app's code. None when the stalled callback is the app's own, and
        never a site with events of its own (a nested handler or a top-level callback). As sessionStore.ts."""
        if not self._is_app_site(record.site):
            return record.app_frame_shares(self._is_app_site, skip)
        return {}

    def _is_app_site(self, site: int) -> bool:
        where = self.sites.get(site)
        return where is not None and bool(where[1]) and self.is_user_file(where[1])

    def _lines_by_callback_site(self, nested: Set[int], app_frames: Dict[int, Dict[int, AppFrameShare]]
                                ) -> Dict[int, Dict[Line, List[int]]]:
        """``app_frames``: per record (by id), its _app_frames, as hotspots() computed them."""
        by_site: Dict[int, Dict[Line, List[int]]] = {}

        def add(site: int, line: Line, samples: int, held: int) -> None:
            lines = by_site.setdefault(site, {})
            total = lines.get(line)
            if total is None:
                lines[line] = [samples, held]
            else:
                total[0] += samples
                total[1] += held

        for record in self.stalls.values():
            shares = record.line_shares()
            for site in self._credited_sites(record, nested):
                for line, (samples, held) in shares.items():
                    add(site, line, samples, held)
            for site, share in app_frames.get(id(record), {}).items():
                for line, (samples, held) in share.lines.items():
                    add(site, line, samples, held)
        return by_site

    def handler_histograms(self, nested: Optional[Set[int]] = None) -> Dict[int, Histogram]:
        """Per handler site, the durations of its callbacks: top-level callbacks' sites, and the app's nested
        handlers (``nested``: nested_handler_sites()). hotspots() and the metrics (metrics.py) read these."""
        nested = self.nested_handler_sites() if nested is None else nested
        by_site: Dict[int, Histogram] = {}
        for key, histogram in self.histograms.items():
            site = key // 256
            if key % 256 in wire.TOP_LEVEL_KINDS or site in nested:
                by_site.setdefault(site, Histogram()).merge(histogram)
        return by_site

    def line_stalls(self) -> Dict[Line, List[int]]:
        """(site, line) -> [stalled callbacks whose samples were at that line, held ns by the held rule]: the
        blocking lines over all handlers, each stall counted once per line (metrics.py)."""
        out = {line: list(total) for line, total in self.folded_lines.items()}
        for record in self.stalls.values():
            _add_line_shares(out, record)
        return out

    def hotspots(self) -> List[Hotspot]:
        """As SessionStore.hotspots(): handlers by the time their callbacks held the reactor, longest first."""
        nested = self.nested_handler_sites()
        by_site = self.handler_histograms(nested)
        sampled: Set[int] = set()
        skip = self._app_frame_skip(nested)
        app_frames = {id(record): self._app_frames(record, skip) for record in self.stalls.values()}
        for frames in app_frames.values():
            for site, share in frames.items():
                sampled.add(site)
                by_site.setdefault(site, Histogram()).record(share.held_ns)
        lines = self._lines_by_callback_site(nested, app_frames)
        for site in lines:
            by_site.setdefault(site, Histogram())
        out: List[Hotspot] = []
        for site, h in by_site.items():
            line, file, name = self.sites.get(site, (0, "", ""))
            blocking = [
                BlockingLine(s, self.sites.get(s, (0, "", ""))[1], self.sites.get(s, (0, "", ""))[2], number, n, held)
                for (s, number), (n, held) in lines.get(site, {}).items()
            ]
            blocking.sort(key=lambda b: (-b.held_ns, b.site, b.line))
            out.append(
                Hotspot(site, file, line, name, h.count, h.total, h.max, h.percentile(0.5), h.percentile(0.95),
                        h.percentile(0.99), site in nested or site in sampled, site in sampled, blocking)
            )
        out.sort(key=lambda spot: (-spot.total_ns, spot.site))
        return out


def _add_line_shares(totals: Dict[Line, List[int]], record: StallRecord) -> None:
    """Adds one stalled callback to per-line [stalls, held ns] totals (line_stalls)."""
    for line, (_samples, held) in record.line_shares().items():
        total = totals.get(line)
        if total is None:
            totals[line] = [1, held]
        else:
            total[0] += 1
            total[1] += held


def from_recording(data: bytes) -> Model:
    """The model of a recording (``--record`` FILE's bytes), as the server reads it back."""
    model = Model()
    for frame in wire.decode_stream(data):
        model.ingest(frame)
    return model


def summary_of(hotspot: Hotspot) -> Dict[str, Any]:
    """A hotspot as test/fixtures/hotspots/expected.json writes it (files by base name: the recording's paths
    are the machine's that made it)."""
    return {
        "name": hotspot.name,
        "file": os.path.basename(hotspot.file),
        "line": hotspot.line,
        "calls": hotspot.count,
        "p50Ns": hotspot.p50_ns,
        "p99Ns": hotspot.p99_ns,
        "maxNs": hotspot.max_ns,
        "totalNs": hotspot.total_ns,
        "nested": hotspot.nested,
        "sampled": hotspot.sampled,
        "blockingLines": [
            {"name": b.name, "file": os.path.basename(b.file), "line": b.line, "samples": b.samples, "heldNs": b.held_ns}
            for b in hotspot.blocking_lines
        ],
    }

