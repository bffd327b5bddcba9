"""speedscope's file format (https://www.speedscope.app/file-format-schema.json; the spec is
src/lib/file-format-spec.ts in jlfwong/speedscope), written as the recording is read (reading.py):

- profile 1, "reactor thread", evented (``"type": "evented"``, unit nanoseconds from the session origin): every
  callback opens (``"O"``) and closes (``"C"``) its frame, the nested ones inside the callback they ran in, in the
  order they ran; the reactor thread runs one top-level callback at a time, so the events nest properly;
- profile 2, "stall samples", sampled: each stack sample of a stalled callback (outermost frame first), weighed
  by the time it held the reactor (the held rule of docs/protocol.md, STALL, in nanoseconds).

Frame names are reading.label(), as in the Chrome export. speedscope wants ``shared.frames`` as one list; it is
written last (JSON does not mind the order of keys), and the sampled profile's two arrays go through temporary
files, so memory holds only the frames (one per site, or per site and line for samples).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from typing import Dict, IO, Iterable, List, Tuple

from reactorscope import __version__
from reactorscope.export import reading

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


class _Frames:
    def __init__(self) -> None:
        self.index: Dict[Tuple[int, int], int] = {}
        self.frames: List[Dict[str, object]] = []

    def of(self, site: reading.Site, line: int) -> int:
        key = (site.id, line)
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.frames)
            self.frames.append({"name": reading.label(site, line), "file": site.file, "line": line})
        return found


def write(items: Iterable[reading.Item], out: IO[str], name: str = "recording") -> Dict[str, int]:
    """Writes the file to ``out``; returns what it wrote (``slices``, ``samples``)."""
    sites: Dict[int, reading.Site] = {}
    unknown = reading.UNKNOWN_SITE
    frames = _Frames()
    counts = {"slices": 0, "samples": 0}
    clock = 0  # the last "at" written: events never go back in time
    first_event = True
    samples_file = tempfile.TemporaryFile("w+", encoding="utf-8")
    weights_file = tempfile.TemporaryFile("w+", encoding="utf-8")
    total_weight = 0
    out.write('{"$schema": %s, "exporter": %s, "name": %s, "activeProfileIndex": 0,\n"profiles": [\n'
              % (json.dumps(SCHEMA), json.dumps(f"reactorscope {__version__}"), json.dumps(name)))
    out.write('{"type": "evented", "name": "reactor thread", "unit": "nanoseconds", "startValue": 0, "events": [\n')

    def event(kind: str, frame: int, at: int) -> None:
        nonlocal clock, first_event
        clock = max(clock, at)
        out.write('%s{"type":"%s","frame":%d,"at":%d}' % ("" if first_event else ",\n", kind, frame, clock))
        first_event = False

    with samples_file, weights_file:
        for item in items:
            if isinstance(item, reading.Group):
                stack: List[Tuple[int, int]] = []  # (frame, end) of the open slices
                for s in item.slices:
                    while len(stack) > s.depth:
                        frame, end = stack.pop()
                        event("C", frame, end)
                    site = sites.get(s.site, unknown)
                    frame = frames.of(site, site.line)
                    event("O", frame, s.start)
                    stack.append((frame, s.end))
                while stack:
                    frame, end = stack.pop()
                    event("C", frame, end)
                counts["slices"] += len(item.slices)
            elif isinstance(item, reading.Sample):
                path = [frames.of(sites.get(site, unknown), line) for site, line in reversed(item.stack)]
                samples_file.write(("," if counts["samples"] else "") + json.dumps(path, separators=(",", ":")))
                weights_file.write(("," if counts["samples"] else "") + str(item.held_ns))
                total_weight += item.held_ns
                counts["samples"] += 1
            elif isinstance(item, reading.Site):
                sites[item.id] = item
        out.write('\n], "endValue": %d},\n' % clock)
        out.write('{"type": "sampled", "name": "stall samples", "unit": "nanoseconds", "startValue": 0, '
                  '"endValue": %d, "samples": [' % total_weight)
        samples_file.seek(0)
        shutil.copyfileobj(samples_file, out)
        out.write('],\n"weights": [')
        weights_file.seek(0)
        shutil.copyfileobj(weights_file, out)
        out.write(']}\n],\n"shared": {"frames": ')
        json.dump(frames.frames, out)
        out.write("}}\n")
    return counts

