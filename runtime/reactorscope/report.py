"""Headless use: per-handler statistics over the top-level callbacks and twisted.web requests, and the lines
where stalls were sampled, printed as a table at exit (``--report``) and checked against ``--fail-over``."""
from __future__ import annotations

import os
import random
from array import array
from typing import Dict, List, Optional, Set, Tuple

from reactorscope.recorder import StallSample
from reactorscope.sites import SiteTable
from reactorscope.wire import KIND_WEB_REQUEST, TOP_LEVEL_KINDS

RESERVOIR = 4096  # durations kept per handler for percentiles; exact below this many calls


class HandlerStats:
    __slots__ = ("count", "total", "max", "samples")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.max = 0
        self.samples = array("q")


class Summary:
    def __init__(self, sample_interval_ns: int, stall_threshold_ns: int, rng: Optional[random.Random] = None) -> None:
        self.handlers: Dict[int, HandlerStats] = {}
        self.web_requests: Set[int] = set()  # handlers that are web request renders, not top-level callbacks
        self.sample_interval_ns = sample_interval_ns
        self.stall_threshold_ns = stall_threshold_ns
        self.max_ns = 0  # longest top-level callback: what held the reactor
        # Stalled callbacks, keyed by (start, site): lines sampled in each, and the callback's duration.
        self._stall_lines: Dict[Tuple[int, int], Dict[Tuple[int, int], int]] = {}
        self._durations: Dict[Tuple[int, int], int] = {}
        self._rng = rng or random.Random(0)

    def add_events(self, sites: array, kinds: array, starts: array, durations: array) -> None:
        handlers = self.handlers
        for site, kind, start, duration in zip(sites, kinds, starts, durations):
            if kind in TOP_LEVEL_KINDS:
                if duration > self.max_ns:
                    self.max_ns = duration
                if duration >= self.stall_threshold_ns:
                    # Only these can have stall samples, which may be drained before, with or after the event.
                    self._durations[(start, site)] = duration
            elif kind == KIND_WEB_REQUEST:
                self.web_requests.add(site)
            else:
                continue
            stats = handlers.get(site)
            if stats is None:
                stats = handlers[site] = HandlerStats()
            stats.count += 1
            stats.total += duration
            if duration > stats.max:
                stats.max = duration
            if len(stats.samples) < RESERVOIR:
                stats.samples.append(duration)
            else:
                slot = self._rng.randrange(stats.count)
                if slot < RESERVOIR:
                    stats.samples[slot] = duration

    def add_stall_samples(self, samples: List[StallSample]) -> None:
        for start, site, _kind, _t, stack in samples:
            if stack:
                lines = self._stall_lines.setdefault((start, site), {})
                lines[stack[0]] = lines.get(stack[0], 0) + 1

    def stalled_lines(self) -> Dict[Tuple[int, int], int]:
        """(site, line) -> ns the reactor was held there: each stalled callback's duration, shared out
        between its sampled lines in proportion to their samples."""
        held: Dict[Tuple[int, int], int] = {}
        for key, lines in self._stall_lines.items():
            count = sum(lines.values())
            duration = self._durations.get(key, count * self.sample_interval_ns)
            for line, n in lines.items():
                held[line] = held.get(line, 0) + duration * n // count
        return held

    def render(self, sites: SiteTable, limit: int = 15) -> str:
        lines = ["", "Reactor Scope: slowest handlers (top-level reactor callbacks, and twisted.web requests)"]
        rows = sorted(self.handlers.items(), key=lambda item: item[1].max, reverse=True)[:limit]
        table = [("handler", "location", "calls", "p50", "p99", "max", "total")]
        for site, stats in rows:
            ordered = sorted(stats.samples)
            table.append(
                (
                    _name(sites, site),
                    _location(sites, site),
                    str(stats.count),
                    _ms(_percentile(ordered, 0.50)),
                    _ms(_percentile(ordered, 0.99)),
                    _ms(stats.max),
                    _ms(stats.total),
                )
            )
        if len(table) == 1:
            lines.append("  (no reactor callbacks were recorded)")
        else:
            lines.extend(_format_table(table))
        if any(site in self.web_requests for site, _ in rows):
            lines.append("  (a web request ran inside an HTTP channel's read: its time is in that read's row too)")
        stalled = self.stalled_lines()
        if stalled:
            lines.append("")
            lines.append("Where the reactor was blocked (sampled stacks, innermost line)")
            stalls = sorted(stalled.items(), key=lambda item: item[1], reverse=True)[:limit]
            table = [("location", "function", "held")]
            for (site, line), held in stalls:
                table.append((f"{_file(sites, site)}:{line}", _name(sites, site), f"~{_ms(held)}"))
            lines.extend(_format_table(table))
        return "\n".join(lines) + "\n"


def _percentile(ordered: List[int], q: float) -> int:
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(ns: int) -> str:
    ms = ns / 1e6
    return f"{ms:.3f} ms" if ms < 1 else f"{ms:.1f} ms"


def _file(sites: SiteTable, site: int) -> str:
    if site <= 0 or site > len(sites):
        return "?"
    file = sites.row(site)[2]
    try:
        relative = os.path.relpath(file)
        return relative if not relative.startswith("..") else file
    except ValueError:
        return file


def _location(sites: SiteTable, site: int) -> str:
    if site <= 0 or site > len(sites):
        return "?"
    return f"{_file(sites, site)}:{sites.row(site)[1]}"


def _name(sites: SiteTable, site: int) -> str:
    return sites.row(site)[3] if 0 < site <= len(sites) else "?"


def _format_table(rows: List[Tuple[str, ...]]) -> List[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out
