"""Chrome's Trace Event Format (JSON, the "JSON Object Format": ``{"traceEvents": [...]}``), written as the
recording is read (reading.py), one event per line: Perfetto's UI, chrome://tracing and speedscope open it.

- every callback is a complete event (``"ph": "X"``, ``ts`` and ``dur`` in microseconds from the session
  origin) on its lane's thread (``tid`` = the lane: its kind), nested events on the lane of the callback they
  ran in, so they nest under it; the names are reading.label(), the same frames as the speedscope export. No
  ``args`` on them: speedscope's Chrome importer would make them part of the frame's name;
- stall samples are instant events (``"ph": "i"``, thread scope) on a lane of their own, with the stack
  (innermost first) and the time the sample held the reactor (the held rule of docs/protocol.md) in ``args``;
- loop lag, busy share and the gauges are counters (``"ph": "C"``);
- lanes and the process are named with metadata events (``"ph": "M"``).
"""
from __future__ import annotations

import json
from typing import Dict, IO, Iterable

from reactorscope.export import reading

STALL_LANE = 100  # the tid of the stall samples' lane


def _us(ns: int) -> float:
    return ns / 1000.0


def write(items: Iterable[reading.Item], out: IO[str]) -> Dict[str, int]:
    """Writes the trace to ``out``; returns what it wrote by kind of event (``slices``, ``samples``, ``counters``)."""
    sites: Dict[int, reading.Site] = {}
    pid = 0
    counts = {"slices": 0, "samples": 0, "counters": 0}
    dumps = json.dumps
    out.write('{"displayTimeUnit": "ms", "traceEvents": [\n')
    first = True
    named = False  # a shim that reconnected sent HELLO again

    def emit(event: Dict[str, object]) -> None:
        nonlocal first
        out.write(("" if first else ",\n") + dumps(event, separators=(",", ":")))
        first = False

    for item in items:
        if isinstance(item, reading.Group):
            for s in item.slices:
                emit({"ph": "X", "name": reading.label(sites.get(s.site)), "cat": reading.LANE_NAMES_ALL[reading.lane_of(s.kind)],
                      "ts": _us(s.start), "dur": _us(s.end - s.start), "pid": pid, "tid": item.lane})
            counts["slices"] += len(item.slices)
        elif isinstance(item, reading.Sample):
            stack = [reading.label(sites.get(site), line) for site, line in item.stack]
            emit({"ph": "i", "s": "t", "name": stack[0] if stack else "stall sample", "cat": "stall",
                  "ts": _us(item.t), "pid": pid, "tid": STALL_LANE,
                  "args": {"stack": stack, "heldMs": item.held_ns / 1e6,
                           "callback": reading.label(sites.get(item.callback_site))}})
            counts["samples"] += 1
        elif isinstance(item, reading.Counter):
            emit({"ph": "C", "name": item.name, "ts": _us(item.t), "pid": pid, "args": {"value": item.value}})
            counts["counters"] += 1
        elif isinstance(item, reading.Site):
            sites[item.id] = item
        elif isinstance(item, reading.Hello) and not named:
            pid, named = item.pid, True
            argv = item.metadata.get("argv")
            emit({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                  "args": {"name": " ".join(argv) if isinstance(argv, list) else f"pid {pid}"}})
            for lane, name in sorted(reading.LANE_NAMES_ALL.items()):
                emit({"ph": "M", "name": "thread_name", "pid": pid, "tid": lane, "args": {"name": name}})
            emit({"ph": "M", "name": "thread_name", "pid": pid, "tid": STALL_LANE, "args": {"name": "stall samples"}})
    out.write("\n]}\n")
    return counts
