"""Overhead of the shim on worst-case workloads, against no shim and against cProfile, in one run.

    python bench/overhead.py [--repeat N]

Each workload runs in a fresh process per mode, modes interleaved, N times; the table shows median
seconds and the ratios of medians. The shim runs as a user would run it: every hook, the watchdog and the
sender on, writing a recording. Targets (issue 3): shim/bare at most 1.25, and cProfile at least twice
the shim's time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNTIME = HERE.parent / "runtime"
WORKLOADS = {"storm": 200_000, "deferreds": 40_000, "coroutines": 20_000}


def workload_args(workload, size):
    """The workload's script and arguments, after the interpreter (and the shim's options)."""
    return [str(HERE / "apps" / "workloads.py"), workload, str(size)]


def timed(command, label, cpu=None):
    """Runs one workload process; its own elapsed seconds."""
    return workload_figures(command, label, cpu)["seconds"]


def workload_figures(command, label, cpu=None):
    """Runs one workload process (pinned to core ``cpu`` with taskset, if given); the JSON line it printed last
    (``seconds``: its own elapsed time; ``cpu_seconds``: the process's CPU time over the same span)."""
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"{label} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def interleaved(modes, repeat, measure):
    """``measure(mode)`` for every mode in turn, ``repeat`` rounds: {mode: [figures in round order]}."""
    times = {mode: [] for mode in modes}
    for _ in range(repeat):
        for mode in modes:
            times[mode].append(measure(mode))
    return times


def run(mode, workload, size, tmp):
    app = workload_args(workload, size)
    if mode == "bare":
        command = [sys.executable, *app]
    elif mode == "shim":
        command = [sys.executable, "-m", "reactorscope", "run", "--record", str(tmp / "bench.bin"), *app]
    else:
        command = [sys.executable, "-m", "cProfile", "-o", str(tmp / "profile.out"), *app]
    return timed(command, f"{mode} {workload}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import twisted

    print(f"Python {sys.version.split()[0]}, Twisted {twisted.__version__}, {os.cpu_count()} cores; "
          f"median of {args.repeat} runs per mode")
    print(f"{'workload':<12}{'size':>9}{'bare s':>10}{'shim s':>10}{'cProfile s':>12}{'shim/bare':>11}{'cProfile/shim':>15}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for workload, size in WORKLOADS.items():
            times = interleaved(("bare", "shim", "cprofile"), args.repeat,
                                lambda mode: run(mode, workload, size, tmp))
            bare, shim, prof = (statistics.median(times[m]) for m in ("bare", "shim", "cprofile"))
            print(f"{workload:<12}{size:>9}{bare:>10.3f}{shim:>10.3f}{prof:>12.3f}{shim / bare:>11.2f}{prof / shim:>15.2f}")


if __name__ == "__main__":
    main()
