"""The stall sampler (issue 10): where it puts the time of stalls a little over the threshold, and what it
costs a busy reactor, in one run.

    python bench/sampler.py [--runs N] [--callbacks N] [--repeat N] [--size N] [--cpu C]

Accuracy: runtime/tests/apps/near_threshold_app.py (N callbacks of 55-95 ms with the default 50 ms threshold,
each a loop on one line, the true line, then 3-5 ms in a decoy, last), run as a user would under the real shim
(`python -m reactorscope run --record FILE`), the recording decoded with wire.py (through the runtime tests'
helpers; "gap ms" is the median time between two samples of a callback). Held time by the rule of issue 10 (a sample stands for the time since the previous sample of its
callback, the first since the callback's start; helpers.held_by_line): the share at the true line, at the
decoy and elsewhere. For comparison, the sampler as it was before (apps/sampler_modes.py old), with the rule
of report.py before issue 10 (each stall's duration shared by sample count) and with the new rule.

Cost: workloads.py's `mixed` (short callLater(0) callbacks in 100 chains, 10 of them long, about 60 ms) in a
fresh process per mode, every process pinned to one core with taskset, modes interleaved, N rounds: bare (no
shim), bare again (the spread between the two bare runs of a round is the noise floor), the shim without a
sampler, with the old one, with the new one (every hook and the sender on, writing a recording, in all three).
Medians of the workload's own wall time and of the process's CPU time (all threads) over the same span, and
ratios of medians. And one wake of the sampler timed alone, in this process, against a thread blocked 10 frames
deep: nothing running, a callback under the threshold (sample kept), a stall (sample published); what it
does not show is the GIL hand-over a wake forces on a CPU-bound reactor thread.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from overhead import HERE, RUNTIME, interleaved, workload_args, workload_figures

sys.path[:0] = [str(RUNTIME), str(RUNTIME / "tests")]
from helpers import APPS, Recording, held_by_line, line_of  # noqa: E402

APP = APPS / "near_threshold_app.py"
MODES = HERE / "apps" / "sampler_modes.py"


def shim_command(mode, record):
    """The interpreter and the shim with sampler ``mode`` (new: the shim as users run it), up to the app."""
    if mode == "new":
        return [sys.executable, "-m", "reactorscope", "run", "--record", str(record)]
    return [sys.executable, str(MODES), mode, "run", "--record", str(record)]


def accuracy_run(mode, callbacks, seed, tmp):
    record = tmp / f"accuracy-{mode}.bin"
    env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    command = [*shim_command(mode, record), str(APP), str(callbacks), str(seed)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"{mode} accuracy run failed:\n{result.stderr}")
    rec = Recording.read(record)
    true_line = (rec.site_named("spin")["id"], line_of(APP, "TRUE LINE"))
    decoy_line = (rec.site_named("decoy")["id"], line_of(APP, "DECOY LINE"))
    handlers = rec.events_at("handler")
    durations = {start: duration for _, _, start, duration in handlers}
    sampled = {stall["callbackStart"] for stall in rec.stalls}
    new_rule = held_by_line(rec.stalls)
    # report.py before issue 10: each stalled callback's duration shared by its samples' innermost lines.
    old_rule = {}
    for start in sampled:
        samples = [s for stall in rec.stalls if stall["callbackStart"] == start for s in stall["samples"]]
        for s in samples:
            line = tuple(s["stack"][0]) if s["stack"] else None
            old_rule[line] = old_rule.get(line, 0) + durations.get(start, 0) / len(samples)
    count = sum(len(stall["samples"]) for stall in rec.stalls)
    gaps = []
    for start in sampled:
        times = sorted(s["t"] for stall in rec.stalls if stall["callbackStart"] == start for s in stall["samples"])
        gaps.extend(b - a for a, b in zip(times, times[1:]))
    return {
        "gap_ms": statistics.median(gaps) / 1e6 if gaps else float("nan"),
        "callbacks": len(handlers),
        "sampled": len(sampled),
        "samples": count,
        "rules": {name: shares(held, true_line, decoy_line) for name, held in (("new", new_rule), ("old", old_rule))},
    }


def shares(held, true_line, decoy_line):
    """ns held at the true line, at the decoy, elsewhere."""
    true_ns, decoy_ns = held.get(true_line, 0), held.get(decoy_line, 0)
    return true_ns, decoy_ns, max(0, sum(held.values()) - true_ns - decoy_ns)  # no -0.0 from float rounding


def accuracy(args, tmp):
    print(f"Accuracy: {APP.name}, {args.runs} runs of {args.callbacks} callbacks of 55-95 ms (threshold 50 ms), "
          "each a loop on the true line then 3-5 ms in a decoy")
    print(f"{'sampler':<8}{'held rule':<11}{'run':>4}{'sampled':>9}{'samples':>9}{'gap ms':>8}{'true line':>11}{'decoy':>8}"
          f"{'other':>8}")
    totals = {}
    for run in range(args.runs):
        for mode in ("new", "old"):
            figures = accuracy_run(mode, args.callbacks, 10 + run, tmp)
            for rule, held in figures["rules"].items():
                if (mode, rule) == ("new", "old"):
                    continue  # the new sampler is meant for the new rule only
                total = sum(held) or 1
                key = (mode, rule)
                totals[key] = [a + b for a, b in zip(totals.get(key, (0, 0, 0)), held)]
                print(f"{mode:<8}{rule:<11}{run + 1:>4}{figures['sampled']:>5}/{figures['callbacks']:<3}"
                      f"{figures['samples']:>9}{figures['gap_ms']:>8.1f}{held[0] / total:>11.1%}{held[1] / total:>8.1%}{held[2] / total:>8.1%}")
    for (mode, rule), held in totals.items():
        total = sum(held) or 1
        print(f"overall: {mode} sampler, {rule} rule: {held[0] / total:.1%} of the held time at the true line, "
              f"{held[1] / total:.1%} at the decoy, {held[2] / total:.1%} elsewhere")


def cost(args, tmp):
    app = workload_args("mixed", args.size)
    commands = {
        "bare": [sys.executable, *app],
        "bare2": [sys.executable, *app],
        "off": [*shim_command("off", tmp / "cost.bin"), *app],
        "old": [*shim_command("old", tmp / "cost.bin"), *app],
        "new": [*shim_command("new", tmp / "cost.bin"), *app],
    }
    runs = interleaved(commands, args.repeat, lambda mode: workload_figures(commands[mode], mode, args.cpu))
    print()
    print(f"Cost: workloads.py mixed {args.size} (10 long callbacks), pinned to core {args.cpu}, median of "
          f"{args.repeat} interleaved rounds")
    print(f"{'mode':<40}{'wall s':>8}{'CPU s':>8}{'wall/bare':>11}{'CPU/bare':>10}")
    names = {"bare": "bare (no shim)", "bare2": "bare again", "off": "shim, no sampler",
             "old": "shim, old sampler (half threshold)", "new": "shim, new sampler (every 5 ms)"}
    wall = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
    cpu = {m: statistics.median(r["cpu_seconds"] for r in rs) for m, rs in runs.items()}
    for mode in commands:
        print(f"{names[mode]:<40}{wall[mode]:>8.3f}{cpu[mode]:>8.3f}{wall[mode] / wall['bare']:>11.3f}"
              f"{cpu[mode] / cpu['bare']:>10.3f}")
    wall_spread = [b2["seconds"] / b["seconds"] for b, b2 in zip(runs["bare"], runs["bare2"])]
    cpu_spread = [b2["cpu_seconds"] / b["cpu_seconds"] for b, b2 in zip(runs["bare"], runs["bare2"])]
    print(f"bare again / bare, per round: wall {min(wall_spread):.3f} to {max(wall_spread):.3f}, "
          f"CPU {min(cpu_spread):.3f} to {max(cpu_spread):.3f}")
    for a, b in (("new", "old"), ("new", "off"), ("old", "off")):
        print(f"{a}/{b}: wall {wall[a] / wall[b]:.3f}, CPU {cpu[a] / cpu[b]:.3f}")


def blocked(depth, started, release):
    if depth:
        return blocked(depth - 1, started, release)
    started.set()
    release.wait()


def per_wake(wakes=20_000):
    from reactorscope import wire
    from reactorscope.clock import ManualClock
    from reactorscope.recorder import Recorder
    from reactorscope.sites import SiteTable
    from reactorscope.watchdog import Watchdog

    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=blocked, args=(10, started, release))
    worker.start()
    started.wait()
    clock = ManualClock()
    key = blocked.__code__
    results = {}
    try:
        for case, threshold in (("nothing running", 50_000_000), ("under the threshold, kept", 50_000_000),
                                ("a stall, published", 0)):
            rec = Recorder(clock, buffer_events=1000)
            rec.reactor_thread = worker.ident
            dog = Watchdog(rec, SiteTable(), threshold_ns=threshold, sample_interval_ns=5_000_000, stop_codes=set())
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                for i in range(wakes):
                    if case != "nothing running" and i % 1000 == 0:
                        rec.current = [clock.now_ns(), key, wire.KIND_TIMER, 0]  # a new callback: kept samples go
                        del rec.stall_samples[:]
                    dog.check()
                best = min(best, (time.perf_counter() - t0) / wakes)
            results[case] = best
    finally:
        release.set()
        worker.join()
    print()
    print(f"One wake of the sampler, alone (best of 5 x {wakes}), the sampled thread 10 frames deep:")
    for case, seconds in results.items():
        print(f"  {case:<28}{seconds * 1e6:>7.2f} us   at 200 wakes/s: {seconds * 200:.3%} of a core")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="accuracy runs per sampler")
    parser.add_argument("--callbacks", type=int, default=40, help="near-threshold callbacks per accuracy run")
    parser.add_argument("--repeat", type=int, default=11, help="cost rounds (one process per mode each)")
    parser.add_argument("--size", type=int, default=200_000, help="short callbacks in the cost workload")
    parser.add_argument("--cpu", type=int, default=1, help="the core every cost process is pinned to")
    args = parser.parse_args()
    import twisted

    print(f"Python {sys.version.split()[0]}, Twisted {twisted.__version__}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        accuracy(args, tmp)
        per_wake()
        cost(args, tmp)


if __name__ == "__main__":
    main()
