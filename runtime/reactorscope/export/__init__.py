"""``python -m reactorscope export REC --format perfetto|chrome|speedscope -o FILE``: a recording (docs/protocol.md)
in a format other viewers open. reading.py reads the recording once, streaming; chrome.py, speedscope.py and
perfetto.py each write one format from what it reads. docs/runtime.md, "Export", says what each holds.
"""
from __future__ import annotations

import os
from typing import Dict, Union

from reactorscope.export import chrome, perfetto, reading, speedscope

FORMATS = ("perfetto", "chrome", "speedscope")


def export(recording: Union[str, "os.PathLike[str]"], fmt: str, output: Union[str, "os.PathLike[str]"]) -> Dict[str, object]:
    """Writes ``recording`` to ``output`` in ``fmt``; returns what was written (counts by kind of event) and, for
    a damaged or cut recording, where it stopped (what decoded before stands, as everywhere)."""
    if os.path.exists(output) and os.path.samefile(recording, output):
        raise ValueError(f"{os.fspath(output)} is the recording itself: writing there would destroy it")
    reader = reading.Reader()
    items = reader.items_of_file(recording)
    if fmt == "perfetto":
        with open(output, "wb") as binary:
            counts = perfetto.write(items, binary)
    elif fmt == "chrome":
        with open(output, "w", encoding="utf-8") as text:
            counts = chrome.write(items, text)
    elif fmt == "speedscope":
        with open(output, "w", encoding="utf-8") as text:
            counts = speedscope.write(items, text, os.path.basename(os.fspath(recording)))
    else:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    result: Dict[str, object] = dict(counts)
    if reader.damage is not None:
        result["damage"] = f"{reader.damage} (at byte {reader.damage.offset}, after {reader.damage.frame} frames)"
    if reader.truncated_bytes:
        result["truncatedBytes"] = reader.truncated_bytes
    return result
