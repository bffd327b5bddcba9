"""The shim must be invisible to the app, and Twisted's own trial suite is the definition of reactor behaviour:
run a set of Twisted's trial modules bare and under the shim, and fail on any test whose outcome differs.

    python scripts/trial-compare.py [--python PY] [--json OUT] [--module NAME ...] [--keep DIR]

Both runs use the interpreter PY (default: this one) and its Twisted. Bare is ``PY -m twisted.trial``; the shim
run is ``PY -m reactorscope run --record FILE --report -m twisted.trial`` (the shim's most visible
configuration: every hook, the watchdog and the sender on, writing a recording, the report at exit). Trial's
``bwverbose`` reporter prints one line per test, ``<id> ... [OK]``; the outcomes are compared per test id and
every difference is printed with what the shim run said about that test. The shim run must also have recorded
(a non-empty recording, the report printed): a shim that turned itself off would compare bare with bare.

``--json OUT`` writes ``{"passed", "failed", "skipped"}`` for scripts/test.mjs: one pass per test with the same
outcome, one failure per test whose outcome differs (or that only one run has), one more failure for a run
that broke (no outcomes, different exit status, nothing recorded). Stdlib only; Python 3.9+.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "runtime"  # --runtime DIR compares another copy (before/after a change)

# Reactor core, time, threads, TCP/UDP/Unix, endpoints, Deferreds, tasks, inlineCallbacks and coroutines, the
# global reactor (twisted.test's test_internet, test_tcp, test_udp, test_unix, test_threads run on the installed,
# hooked reactor; test_main and test_twistd install reactors), twistd and application services, and twisted.web
# (WSGI: threads and callFromThread). Modules an interpreter's Twisted lacks are left out for it. Chosen so that
# both interpreters together take about 2 minutes on this project's 2-core machine (Debian's test_agent alone
# takes 17 s: left out).
MODULES = (
    "twisted.internet.test.test_core",
    "twisted.internet.test.test_base",
    "twisted.internet.test.test_posixbase",
    "twisted.internet.test.test_default",
    "twisted.internet.test.test_main",
    "twisted.internet.test.test_time",
    "twisted.internet.test.test_threads",
    "twisted.internet.test.test_tcp",
    "twisted.internet.test.test_udp",
    "twisted.internet.test.test_unix",
    "twisted.internet.test.test_endpoints",
    "twisted.internet.test.test_testing",
    "twisted.internet.test.test_inlinecb",
    "twisted.internet.test.test_defer_await",
    "twisted.internet.test.test_defer_yieldfrom",
    "twisted.internet.test.test_asyncioreactor",
    "twisted.test.test_defer",
    "twisted.test.test_task",
    "twisted.test.test_internet",
    "twisted.test.test_threads",
    "twisted.test.test_threadpool",
    "twisted.test.test_tcp",
    "twisted.test.test_udp",
    "twisted.test.test_unix",
    "twisted.test.test_loopback",
    "twisted.test.test_policies",
    "twisted.test.test_twistd",
    "twisted.application.test.test_internet",
    "twisted.web.test.test_web",
    "twisted.web.test.test_http",
    "twisted.web.test.test_resource",
    "twisted.web.test.test_wsgi",
)
# The same again with trial's global reactor the asyncio one (its hooks differ: no doIteration), on the modules
# that use the global reactor.
ASYNCIO_MODULES = (
    "twisted.test.test_internet",
    "twisted.test.test_tcp",
    "twisted.test.test_threads",
    "twisted.test.test_task",
    "twisted.internet.test.test_inlinecb",
    "twisted.internet.test.test_defer_await",
    "twisted.web.test.test_web",
)
TEST_LINE = re.compile(r"^(\S+) \.\.\. ?(.*)$")
TAG = re.compile(r"\[(OK|FAIL|FAILURE|ERROR|SKIPPED|TODO|EXPECTED FAILURE|UNEXPECTED SUCCESS|SUCCESS)\]")
SHIM_LINE = re.compile(r"reactorscope: .*")  # the shim's own lines (console.warn), wherever they landed
SEPARATOR = "=" * 79
RUN_TIMEOUT_S = 600

Outcomes = Dict[str, Tuple[str, ...]]


class Run:
    def __init__(self, name: str, status: int, output: str, seconds: float) -> None:
        self.name = name
        self.status = status
        self.output = output
        self.seconds = seconds
        self.outcomes = parse_outcomes(output)
        self.summary = next((line for line in reversed(output.splitlines()) if line.startswith(("PASSED", "FAILED"))), "")


def parse_outcomes(output: str) -> Outcomes:
    """Test id -> its outcome tags, in order, from the progress part of a bwverbose run (before the details)."""
    outcomes: Dict[str, List[str]] = {}
    current: Optional[str] = None
    for line in output.split(SEPARATOR, 1)[0].splitlines():
        match = TEST_LINE.match(line)
        rest = line
        if match and "." in match.group(1):
            current = match.group(1)
            outcomes.setdefault(current, [])
            rest = match.group(2)
        if current is not None:
            outcomes[current].extend(TAG.findall(rest))
    return {test: tuple(tags) or ("NO OUTCOME",) for test, tags in outcomes.items()}


def details(output: str, test: str, max_lines: int = 40) -> List[str]:
    """The detail blocks (tracebacks) trial printed for ``test``, shortened."""
    lines: List[str] = []
    for block in output.split(SEPARATOR)[1:]:
        block_lines = block.strip("\n").splitlines()
        if any(line.strip() == test for line in block_lines):
            body = []
            for line in block_lines:
                if line.startswith("-" * 20):
                    break  # trial's closing lines (and the shim's report) follow the last block
                if line.strip():
                    body.append(line)
            if len(body) > max_lines:
                body = body[: max_lines // 2] + ["    ..."] + body[-max_lines // 2 :]
            lines.extend(body)
    return lines


def available_modules(python: str, modules: Sequence[str]) -> List[str]:
    probe = "import importlib.util, sys\nfor m in sys.argv[1:]:\n    try:\n        print(m) if importlib.util.find_spec(m) else None\n    except ImportError:\n        pass\n"
    result = subprocess.run([python, "-c", probe, *modules], capture_output=True, text=True, check=True)
    return result.stdout.split()


def twisted_version(python: str) -> str:
    result = subprocess.run([python, "-c", "import twisted; print(twisted.__version__)"], capture_output=True, text=True)
    return result.stdout.strip() or "?"


def run_trial(name: str, command: List[str], workdir: Path, runtime: Path) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(runtime), os.environ.get("PYTHONPATH", "")]))}
    for variable in ("REACTORSCOPE", "REACTORSCOPE_TOKEN"):
        env.pop(variable, None)
    # A run that crashes (a signal) prints every thread's Python stack, both runs alike.
    env["PYTHONFAULTHANDLER"] = "1"
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=RUN_TIMEOUT_S,
    )
    seconds = time.monotonic() - started
    output = result.stdout.decode("utf-8", "replace")
    (workdir / "output.txt").write_text(output)
    return Run(name, result.returncode, output, seconds)


def compare(bare: Run, shim: Run) -> List[str]:
    """The tests whose outcome differs, sorted."""
    tests = sorted(set(bare.outcomes) | set(shim.outcomes))
    return [t for t in tests if bare.outcomes.get(t) != shim.outcomes.get(t)]


def compare_once(label: str, python: str, runtime: Path, base: Path, trial_args: List[str]) -> Tuple[int, int]:
    """One bare run and one shim run of the same trial command; prints the differences; (same, failed)."""
    trial = ["-m", "twisted.trial", "--reporter=bwverbose", "--temp-directory=_trial_temp", *trial_args]
    recording = base / f"{label}-shim" / "recording.bin"
    bare = run_trial("bare", [python, *trial], base / f"{label}-bare", runtime)
    shim = run_trial("shim", [python, "-m", "reactorscope", "run", "--record", str(recording), "--report", *trial],
                     base / f"{label}-shim", runtime)
    recorded = recording.exists() and recording.stat().st_size > 0

    problems: List[str] = []
    for run in (bare, shim):
        print(f"trial-compare [{label}] {run.name}: {len(run.outcomes)} tests, exit {run.status}, {run.seconds:.1f} s, "
              f"{run.summary or 'no summary'}", flush=True)
        if not run.outcomes:
            problems.append(f"the {run.name} run printed no test outcome:\n{run.output[-3000:]}")
        elif run.status < 0:  # killed by a signal part way: what it printed last, the fault handler's stacks among it
            problems.append(f"the {run.name} run ended by signal {-run.status} after {len(run.outcomes)} tests; it "
                            f"printed last:\n{run.output[-6000:]}")
    if bare.status != shim.status:
        problems.append(f"exit status differs: bare {bare.status}, shim {shim.status}")
    if not recorded:
        problems.append("the shim run recorded nothing (was the shim on?)")
    if "Reactor Scope: slowest handlers" not in shim.output:
        problems.append("the shim run printed no report (was the shim on?)")
    shim_lines = SHIM_LINE.findall(shim.output)
    if shim_lines:
        problems.append("the shim said:\n  " + "\n  ".join(shim_lines[:10]))

    differing = compare(bare, shim)
    for test in differing:
        print(f"\nDIFFERS [{label}] {test}: bare {' '.join(bare.outcomes.get(test, ('(absent)',)))}, "
              f"shim {' '.join(shim.outcomes.get(test, ('(absent)',)))}")
        for name, run in (("shim", shim), ("bare", bare)):
            block = details(run.output, test)
            if block:
                print(f"  {name} said:")
                print("\n".join("    " + line for line in block))
    for problem in problems:
        print(f"\ntrial-compare [{label}]: {problem}")
    same = len(set(bare.outcomes) | set(shim.outcomes)) - len(differing)
    print(f"trial-compare [{label}]: {same} tests with the same outcome, {len(differing)} differing"
          f"{', ' + str(len(problems)) + ' run problem(s)' if problems else ''}", flush=True)
    return same, len(differing) + len(problems)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter (and so the Twisted) to compare on")
    parser.add_argument("--module", action="append", dest="modules",
                        help="a trial module (repeatable; default: a fixed set, and a second set on the asyncio reactor)")
    parser.add_argument("--json", help="write the counts here, for scripts/test.mjs")
    parser.add_argument("--keep", help="keep the runs' folders (output, recording, _trial_temp) here")
    parser.add_argument("--runtime", default=str(RUNTIME), help="the folder that holds the reactorscope package")
    args = parser.parse_args(argv)

    python = os.path.abspath(args.python) if os.sep in args.python else args.python
    runtime = Path(args.runtime).resolve()
    plans = [("default", list(args.modules or MODULES), [])]
    if not args.modules:
        plans.append(("asyncio", list(ASYNCIO_MODULES), ["--reactor=asyncio"]))
    print(f"trial-compare: {python} (Twisted {twisted_version(python)})", flush=True)
    started = time.monotonic()
    same = failed = 0
    with tempfile.TemporaryDirectory(prefix="trial-compare-") as scratch:
        base = Path(args.keep) if args.keep else Path(scratch)
        for label, wanted, options in plans:
            modules = available_modules(python, wanted)
            missing = sorted(set(wanted) - set(modules))
            print(f"trial-compare [{label}]: {len(modules)} modules"
                  + (f"; not in this Twisted: {', '.join(missing)}" if missing else ""), flush=True)
            if not modules:
                failed += 1
                continue
            s, f = compare_once(label, python, runtime, base, [*options, *modules])
            same, failed = same + s, failed + f
    print(f"\ntrial-compare: {same} tests with the same outcome, {failed} differences or run problems, "
          f"{time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"passed": same, "failed": failed, "skipped": 0}))
    print(f"{same} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
