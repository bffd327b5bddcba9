"""Headless use: ``--report`` prints, at exit, the hotspots of ``model.py`` (the same handlers, nested handlers,
blocking lines and figures the editor shows for the run) as tables, the app's code first; ``--fail-over``
checks the longest top-level callback. This module only renders; the statistics are the model's.
"""
from __future__ import annotations

import os
from typing import Iterable, List, Tuple

from reactorscope.model import Hotspot, Model

USER_ROWS = 15
LIBRARY_ROWS = 8
LINES_PER_HANDLER = 5


def render(model: Model) -> str:
    hotspots = model.hotspots()
    users = [h for h in hotspots if h.file and model.is_user_file(h.file)][:USER_ROWS]
    library = [h for h in hotspots if not (h.file and model.is_user_file(h.file))][:LIBRARY_ROWS]
    lines = ["", "Reactor Scope: slowest handlers, the app's code first (by time blocked)"]
    header = ("handler", "location", "calls", "p50", "p99", "max", "total", "")
    table: List[Tuple[str, ...]] = [header]
    notes: List[int] = []  # table rows that are a note instead
    table.extend(_row(h) for h in users)
    if library:
        notes.append(len(table))
        table.append(("(library code: Twisted, the standard library, installed packages)",))
        table.extend(_row(h) for h in library)
    if len(table) == 1:
        lines.append("  (no reactor callbacks were recorded)")
    else:
        lines.extend(_format_table(table, notes, right=range(2, 7)))
    if any(h.nested and not h.sampled for h in users):
        lines.append("  (nested: a Deferred callback, coroutine step or web render run inside a reactor callback, whose row counts its time too)")
    if any(h.sampled for h in users):
        lines.append("  (sampled: the app's function a library callback ran, known from stall samples: calls are the stalls it was in, each the time it held)")
    blocked: List[Tuple[str, ...]] = [("location", "function", "held", "in handler")]
    for h in users + library:
        for b in h.blocking_lines[:LINES_PER_HANDLER]:
            blocked.append((f"{_relative(b.file)}:{b.line}", b.name or "?", f"~{_ms(b.held_ns)}", h.name or "?"))
    if len(blocked) > 1:
        lines.append("")
        lines.append("Where the reactor was blocked (sampled stacks, innermost line; held: docs/protocol.md, STALL)")
        lines.extend(_format_table(blocked, [], right=range(2, 3)))
    return "\n".join(lines) + "\n"


def _row(h: Hotspot) -> Tuple[str, ...]:
    return (
        h.name or "?",
        f"{_relative(h.file)}:{h.line}" if h.file else "?",
        str(h.count),
        _ms(h.p50_ns),
        _ms(h.p99_ns),
        _ms(h.max_ns),
        _ms(h.total_ns),
        "sampled" if h.sampled else "nested" if h.nested else "",
    )


def _ms(ns: float) -> str:
    ms = ns / 1e6
    return f"{ms:.3f} ms" if ms < 1 else f"{ms:.1f} ms"


def _relative(file: str) -> str:
    try:
        relative = os.path.relpath(file)
        return relative if not relative.startswith("..") else file
    except ValueError:
        return file


def _format_table(rows: List[Tuple[str, ...]], notes: List[int], right: Iterable[int]) -> List[str]:
    """Columns two spaces apart (the tests split rows on that), numbers (``right``) aligned right."""
    right = set(right)
    columns = len(rows[0])
    widths = [max(len(row[i]) for n, row in enumerate(rows) if n not in notes) for i in range(columns)]
    out = []
    for n, row in enumerate(rows):
        if n in notes:
            out.append("  " + row[0])
            continue
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out
