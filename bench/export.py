"""`python bench/export.py [EVENTS] [FORMAT...]`: the peak memory of `python -m reactorscope export` on a synthetic
recording of EVENTS events (default 10,000,000), for each format (default all three), against the recording's
size. The recording is written with the shim's own encoders (runtime/reactorscope/wire.py), as a long session
would be: flushes of 16,384-event EVENTS frames where every third top-level callback (timers, I/O reads) ran a
Deferred callback and a coroutine step nested in it, 200 sites, a LOOP and a GAUGES frame per flush, and a
stall with 20 stack samples every 50 flushes. Prints, measured in this run: the export's peak RSS (the child's
ru_maxrss), its wall time, and the output's size. Figures only, no pass/fail.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runtime"))

from reactorscope import wire  # noqa: E402

SITES = 200
# The export command in a child that says its own peak RSS (KiB on Linux) on stderr when done.
CHILD = ("import resource, sys; from reactorscope.cli import main; rc = main(['export'] + sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def write_recording(path: Path, events: int) -> None:
    with open(path, "wb") as out:
        out.write(wire.PREAMBLE)
        out.write(wire.encode_hello(4242, 1_700_000_000_000_000_000, {"argv": ["bench.py"], "session": "bench"}))
        out.write(wire.encode_sites([(i, 10 + i, f"/app/module{i % 7}.py", f"handler_{i}") for i in range(1, SITES + 1)]))
        t, written, flush = 0, 0, 0
        while written < events:
            starts, durations, sites, kinds = array("q"), array("q"), array("I"), array("B")
            while len(starts) < wire.EVENTS_PER_FRAME and written < events:
                top_site = 1 + written % SITES
                kind = wire.KIND_TIMER if written % 2 else wire.KIND_IO_READ
                if written % 3 == 0 and events - written >= 3:
                    # nested events first: they end before the callback around them (recorder.py)
                    for nested_kind, offset in ((wire.KIND_DEFERRED, 1_000), (wire.KIND_COROUTINE, 5_000)):
                        starts.append(t + offset), durations.append(3_000), sites.append(1 + (written * 7) % SITES)
                        kinds.append(nested_kind)
                    written += 2
                starts.append(t), durations.append(10_000), sites.append(top_site), kinds.append(kind)
                written += 1
                t += 20_000
            for chunk in wire.encode_events_frames(starts, durations, sites, kinds):
                out.write(chunk)
            out.write(wire.encode_loop(t - 1_000_000, t, 50, 500_000, 500_000, array("q", [t - 500]), array("q", [200_000])))
            out.write(wire.encode_gauges(t, [(wire.GAUGE_PENDING_CALLS, 3.0), (wire.GAUGE_RSS, 5e7)]))
            if flush % 50 == 0:
                samples = [(t + 1_000 * i, [(1 + i % SITES, 20 + i), (2, 30)]) for i in range(20)]
                out.write(wire.encode_stall(t, 1, wire.KIND_TIMER, samples))
            flush += 1


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    formats = sys.argv[2:] or ["perfetto", "chrome", "speedscope"]
    with tempfile.TemporaryDirectory(prefix="rs-export-bench-") as tmp:
        recording = Path(tmp) / "bench.rsrec"
        write_recording(recording, events)
        print(f"recording: {events:,} events, {recording.stat().st_size / 2**20:.0f} MiB")
        for fmt in formats:
            out = Path(tmp) / f"out.{fmt}"
            began = time.monotonic()
            child = subprocess.run([sys.executable, "-c", CHILD, str(recording), "--format", fmt, "-o", str(out)],
                                   check=True, cwd=ROOT / "runtime", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            took = time.monotonic() - began
            peak_kib = int(child.stderr.split()[-1])
            print(f"{fmt}: peak RSS {peak_kib / 1024:.0f} MiB, {took:.0f} s, output {out.stat().st_size / 2**20:.0f} MiB")
            os.unlink(out)


if __name__ == "__main__":
    main()
