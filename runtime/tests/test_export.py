"""`python -m reactorscope export`: the golden recording (test/fixtures/hotspots/) in Chrome's Trace Event JSON and
speedscope's format, read back here and held to what the recording holds (decoded with wire.py) and to the
hotspots expected.json gives for it. The Perfetto file is decoded with Perfetto's published schema on the
TypeScript side (test/unit/perfettoExport.test.ts, protobufjs)."""
import json
import os
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from reactorscope import wire
from reactorscope.export import reading

from helpers import run_python
from hotspots_fixture import EXPECTED, RECORDING


def export(tmp_path: Path, fmt: str, recording: Path = RECORDING) -> Tuple[Path, Dict[str, object]]:
    out = tmp_path / f"out.{fmt}"
    result = run_python(["-m", "reactorscope", "export", str(recording), "--format", fmt, "-o", str(out)])
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


def recorded() -> Dict[str, object]:
    """What the recording holds, straight from the decoder: events (label, kind), stall samples, counter points."""
    frames = wire.decode_stream(RECORDING.read_bytes())
    sites = {}
    events: List[Tuple[str, int]] = []
    samples = counters = 0
    for frame in frames:
        body = frame.body
        if frame.type == wire.SITES:
            for s in body["sites"]:
                sites[s["id"]] = reading.Site(s["id"], s["line"], s["file"], s["name"])
        elif frame.type == wire.EVENTS:
            events += [(reading.label(sites.get(site)), kind) for site, kind in zip(body["site"], body["kind"])]
        elif frame.type == wire.STALL:
            samples += len(body["samples"])
        elif frame.type == wire.GAUGES:
            counters += sum(1 for gauge, _ in body["values"] if gauge in reading.GAUGE_NAMES)
        elif frame.type == wire.LOOP:
            counters += len(body["lags"]) + (1 if body["busyNs"] + body["idleNs"] > 0 else 0)
    return {"events": events, "samples": samples, "counters": counters}


def expected_handler(name: str) -> Dict[str, object]:
    return next(h for h in json.loads(EXPECTED.read_text())["handlers"] if h["name"] == name)


def label_of(handler: Dict[str, object], line: object = None) -> str:
    return f"{handler['name']} {handler['file']}:{handler['line'] if line is None else line}"


def test_chrome_holds_every_event_nested_as_it_ran(tmp_path):
    out, written = export(tmp_path, "chrome")
    trace = json.loads(out.read_text())["traceEvents"]
    truth = recorded()
    complete = [e for e in trace if e["ph"] == "X"]
    assert Counter(e["name"] for e in complete) == Counter(name for name, _ in truth["events"])
    assert written["slices"] == len(complete) == len(truth["events"])
    assert sum(1 for e in trace if e["ph"] == "i") == truth["samples"] == written["samples"]
    assert sum(1 for e in trace if e["ph"] == "C") == truth["counters"] == written["counters"]
    # The render_GET (a web request, kind 7) lies inside an I/O read (kind 2) on that read's lane.
    render = label_of(expected_handler("Page.render_GET"))
    (web,) = [e for e in complete if e["name"] == render]
    assert web["tid"] == wire.KIND_IO_READ
    assert any(e["cat"] == "I/O reads" and e["ts"] <= web["ts"] and web["ts"] + web["dur"] <= e["ts"] + e["dur"]
               for e in complete if e is not web and e["tid"] == web["tid"])
    names = {e["args"]["name"] for e in trace if e["ph"] == "M" and e["name"] == "thread_name"}
    assert set(reading.LANE_NAMES.values()) <= names


def speedscope_stacks(profile, frames):
    """Replays an evented profile: checks it opens and closes properly in time order; returns the stacks opened."""
    stack: List[int] = []
    opened: List[Tuple[str, ...]] = []
    at = profile["startValue"]
    for event in profile["events"]:
        assert event["at"] >= at
        at = event["at"]
        if event["type"] == "O":
            stack.append(event["frame"])
            opened.append(tuple(frames[f]["name"] for f in stack))
        else:
            assert stack and stack.pop() == event["frame"]
    assert not stack and at <= profile["endValue"]
    return opened


def test_speedscope_opens_every_callback_in_its_parent_and_weighs_samples_by_the_held_rule(tmp_path):
    out, written = export(tmp_path, "speedscope")
    document = json.loads(out.read_text())
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = document["shared"]["frames"]
    evented, sampled = document["profiles"]
    opened = speedscope_stacks(evented, frames)
    truth = recorded()
    assert Counter(stack[-1] for stack in opened) == Counter(name for name, _ in truth["events"])
    assert written["slices"] == len(opened)
    # The inlineCallbacks step (coroutine) ran inside Twisted's timer that fired it.
    step = label_of(expected_handler("flow"))
    assert any(len(stack) > 1 and stack[-1] == step for stack in opened)
    # Stall samples: the weight of the samples whose leaf is a blocking line is its held time in expected.json.
    assert len(sampled["samples"]) == len(sampled["weights"]) == truth["samples"] == written["samples"]
    held: Counter = Counter()
    for path, weight in zip(sampled["samples"], sampled["weights"]):
        held[frames[path[-1]]["name"]] += weight
    for handler_name in ("slow_timer", "Page.render_GET"):
        handler = expected_handler(handler_name)
        for line in handler["blockingLines"]:
            assert held[label_of(line)] == line["heldNs"], line
    assert sampled["endValue"] == sum(sampled["weights"])


def test_a_cut_recording_exports_what_it_holds(tmp_path):
    data = RECORDING.read_bytes()
    cut = tmp_path / "cut.rsrec"
    cut.write_bytes(data[: len(data) * 2 // 3])
    whole_frames = wire.decode_stream(cut.read_bytes())
    events = sum(len(f.body["start"]) for f in whole_frames if f.type == wire.EVENTS)
    out, written = export(tmp_path, "chrome", cut)
    assert written["truncatedBytes"] > 0
    assert sum(1 for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X") == events == written["slices"]


def test_nested_events_of_no_recorded_callback_get_their_own_lane_and_a_full_pending_list_is_let_go():
    r = reading.Reader()
    # Two coroutine steps with no top-level callback around them, then a timer with a Deferred inside it.
    starts, durations = [10, 100, 210, 200], [5, 10, 30, 100]
    sites, kinds = [1, 2, 3, 4], [wire.KIND_COROUTINE, wire.KIND_COROUTINE, wire.KIND_DEFERRED, wire.KIND_TIMER]
    groups = list(r._events(starts, durations, sites, kinds)) + list(r.flush())
    assert [(g.lane, [(s.site, s.depth) for s in g.slices]) for g in groups] == [
        (wire.KIND_COROUTINE, [(1, 0)]), (wire.KIND_COROUTINE, [(2, 0)]), (wire.KIND_TIMER, [(4, 0), (3, 1)])]
    n = reading.PENDING_LIMIT
    flood = list(r._events(list(range(n)), [1] * n, [5] * n, [wire.KIND_DEFERRED] * n))
    assert sum(len(g.slices) for g in flood) == n and not r.pending


@pytest.mark.parametrize("fmt", ["nonsense"])
def test_an_unknown_format_is_refused(tmp_path, fmt):
    result = run_python(["-m", "reactorscope", "export", str(RECORDING), "--format", fmt, "-o", os.devnull])
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_the_recording_is_never_written_over_and_an_unwritable_output_is_said(tmp_path):
    copy = tmp_path / "run.rsrec"
    copy.write_bytes(RECORDING.read_bytes())
    link = tmp_path / "same.json"
    link.symlink_to(copy)
    result = run_python(["-m", "reactorscope", "export", str(copy), "--format", "chrome", "-o", str(link)])
    assert result.returncode == 2 and "is the recording itself" in result.stderr
    assert copy.read_bytes() == RECORDING.read_bytes()
    result = run_python(["-m", "reactorscope", "export", str(copy), "--format", "chrome", "-o", str(tmp_path / "no" / "dir.json")])
    assert result.returncode == 2 and "No such file or directory" in result.stderr and "Traceback" not in result.stderr
