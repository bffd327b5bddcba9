"""Perfetto's protobuf trace format, encoded by hand with protowire.py, written as the recording is read
(reading.py). Field numbers from Perfetto's published protos (github.com/google/perfetto, commit ec5d16b1;
test/fixtures/perfetto/perfetto_trace.proto is the merged copy the tests decode with):

- protos/perfetto/trace/trace.proto: Trace.packet = 1
- protos/perfetto/trace/trace_packet.proto: TracePacket.timestamp = 8, trusted_packet_sequence_id = 10,
  track_event = 11, sequence_flags = 13 (SEQ_INCREMENTAL_STATE_CLEARED = 1), track_descriptor = 60
- protos/perfetto/trace/track_event/track_descriptor.proto: TrackDescriptor.uuid = 1, name = 2, process = 3,
  parent_uuid = 5, counter = 8
- protos/perfetto/trace/track_event/process_descriptor.proto: ProcessDescriptor.pid = 1, process_name = 6
- protos/perfetto/trace/track_event/counter_descriptor.proto: CounterDescriptor (empty: a counter track)
- protos/perfetto/trace/track_event/track_event.proto: TrackEvent.debug_annotations = 4, type = 9
  (TYPE_SLICE_BEGIN 1, TYPE_SLICE_END 2, TYPE_INSTANT 3, TYPE_COUNTER 4), track_uuid = 11, categories = 22,
  name = 23, double_counter_value = 44, callstack = 55 (InlineCallstack.frames = 1, outermost first;
  Frame.function_name = 1, source_file = 2, line_number = 3), callstack_weight = 57
- protos/perfetto/trace/track_event/debug_annotation.proto: DebugAnnotation.double_value = 5,
  string_value = 6, name = 10

The trace: one process track (the app's pid), under it one track per lane (the timeline's lanes, by kind) with
each callback a slice (begin/end) and what ran nested in it as slices inside it on the same track; a "stall
samples" track of instant events, each with its stack as an inline callstack weighed by the time it held the
reactor (ns, the held rule of docs/protocol.md); one counter track per counter (loop lag, busy share, gauges).
Times are ns from the session origin. Slices, samples and counters each go on a packet sequence of their own,
so that each sequence's timestamps never go back.
"""
from __future__ import annotations

from typing import BinaryIO, Dict, Iterable, List, Tuple

from reactorscope.export import reading
from reactorscope.export.protowire import double, message, string, uint

PROCESS_TRACK = 1
LANE_TRACK_BASE = 0x100
STALL_TRACK = 0x200
COUNTER_TRACK_BASE = 0x300
SEQ_SLICES, SEQ_SAMPLES, SEQ_COUNTERS = 1, 2, 3

SLICE_BEGIN, SLICE_END, INSTANT, COUNTER = 1, 2, 3, 4
SEQ_INCREMENTAL_STATE_CLEARED = 1

COUNTER_TRACKS = {name: COUNTER_TRACK_BASE + i for i, name in enumerate(reading.COUNTER_NAMES)}


def _packet(body: bytes) -> bytes:
    return message(1, body)  # Trace.packet


def _event(sequence: int, timestamp: int, track_event: bytes) -> bytes:
    return _packet(uint(8, timestamp) + uint(10, sequence) + message(11, track_event))


def _descriptor(sequence: int, descriptor: bytes, first: bool = False) -> bytes:
    return _packet(uint(10, sequence) + (uint(13, SEQ_INCREMENTAL_STATE_CLEARED) if first else b"") + message(60, descriptor))


def descriptors(pid: int, process_name: str) -> bytes:
    out = [_descriptor(SEQ_SLICES, uint(1, PROCESS_TRACK) + message(3, uint(1, pid) + string(6, process_name)), True)]
    for lane, name in sorted(reading.LANE_NAMES_ALL.items()):
        out.append(_descriptor(SEQ_SLICES, uint(1, LANE_TRACK_BASE + lane) + uint(5, PROCESS_TRACK) + string(2, name)))
    out.append(_descriptor(SEQ_SAMPLES, uint(1, STALL_TRACK) + uint(5, PROCESS_TRACK) + string(2, "stall samples"), True))
    first = True
    for name, uuid in COUNTER_TRACKS.items():
        out.append(_descriptor(SEQ_COUNTERS, uint(1, uuid) + uint(5, PROCESS_TRACK) + string(2, name) + message(8, b""), first))
        first = False
    return b"".join(out)


def write(items: Iterable[reading.Item], out: BinaryIO) -> Dict[str, int]:
    """Writes the trace to ``out``; returns what it wrote (``slices``, ``samples``, ``counters``)."""
    sites: Dict[int, reading.Site] = {}
    unknown = reading.UNKNOWN_SITE
    counts = {"slices": 0, "samples": 0, "counters": 0}
    described = False
    clock = {SEQ_SLICES: 0, SEQ_SAMPLES: 0, SEQ_COUNTERS: 0}

    def at(sequence: int, t: int) -> int:
        clock[sequence] = max(clock[sequence], t)
        return clock[sequence]

    for item in items:
        if not described and not isinstance(item, reading.Hello):
            out.write(descriptors(0, "unknown"))
            described = True
        if isinstance(item, reading.Group):
            track = uint(11, LANE_TRACK_BASE + item.lane)
            end_event = uint(9, SLICE_END) + track
            stack: List[Tuple[int, int]] = []
            for s in item.slices:
                while len(stack) > s.depth:
                    out.write(_event(SEQ_SLICES, at(SEQ_SLICES, stack.pop()[1]), end_event))
                site = sites.get(s.site, unknown)
                begin = (uint(9, SLICE_BEGIN) + track + string(22, reading.LANE_NAMES_ALL[reading.lane_of(s.kind)])
                         + string(23, reading.label(site)))
                out.write(_event(SEQ_SLICES, at(SEQ_SLICES, s.start), begin))
                stack.append((s.site, s.end))
            while stack:
                out.write(_event(SEQ_SLICES, at(SEQ_SLICES, stack.pop()[1]), end_event))
            counts["slices"] += len(item.slices)
        elif isinstance(item, reading.Sample):
            frames = []
            for site_id, line in reversed(item.stack):
                site = sites.get(site_id, unknown)
                frames.append(message(1, string(1, site.name) + string(2, site.file) + uint(3, line)))
            leaf = reading.label(sites.get(item.stack[0][0]), item.stack[0][1]) if item.stack else "stall sample"
            callback = reading.label(sites.get(item.callback_site))
            body = (uint(9, INSTANT) + uint(11, STALL_TRACK) + string(22, "stall") + string(23, leaf)
                    + message(55, b"".join(frames)) + double(57, float(item.held_ns))
                    + message(4, string(10, "held_ms") + double(5, item.held_ns / 1e6))
                    + message(4, string(10, "callback") + string(6, callback)))
            out.write(_event(SEQ_SAMPLES, at(SEQ_SAMPLES, item.t), body))
            counts["samples"] += 1
        elif isinstance(item, reading.Counter):
            body = uint(9, COUNTER) + uint(11, COUNTER_TRACKS[item.name]) + double(44, float(item.value))
            out.write(_event(SEQ_COUNTERS, at(SEQ_COUNTERS, item.t), body))
            counts["counters"] += 1
        elif isinstance(item, reading.Site):
            sites[item.id] = item
        elif isinstance(item, reading.Hello) and not described:
            argv = item.metadata.get("argv")
            out.write(descriptors(item.pid, " ".join(argv) if isinstance(argv, list) else f"pid {item.pid}"))
            described = True
    if not described:
        out.write(descriptors(0, "unknown"))
    return counts
