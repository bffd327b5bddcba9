"""The apps in examples/ really stall, and the shim names the handler and the blocking line of each.

Each example runs under the shim as a user would run it (``run --record FILE --report SCRIPT --seconds N``;
the tac through twistd, as test_launcher.py runs it), ends by itself after a couple of seconds, and is read
back from its recording and its report. Lines are found by their text in the example, never by number.

What a stall sample says: its stack runs from the innermost frame out to the top-level callback the reactor
ran. A handler "blocked at" a line means: of the samples whose stack passes through the handler, most have
that line of the example innermost, inside the handler itself.
"""
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from helpers import Recording, first_line_of, line_of, python_env, run_python, run_shim
from reactorscope import wire

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
THRESHOLD_NS = 50_000_000  # the shim's default --stall-threshold
SECONDS = "2.5"  # each example's own run length: long enough for a few stalls of every kind it has
CODE_QUALNAMES = sys.version_info >= (3, 11)  # before 3.11 a code object knows only co_name


def same_name(site_name: str, qualname: str) -> bool:
    """Sites made from a bare code object (stack frames, timers, coroutine steps) read ``method`` before
    Python 3.11, not ``Class.method``."""
    return site_name == qualname or (not CODE_QUALNAMES and site_name == qualname.rsplit(".", 1)[-1])


class Run:
    def __init__(self, path: Path, result, record: Path) -> None:
        self.path = path
        self.result = result
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr + result.stdout, result.stderr + result.stdout
        self.rec = Recording.read(record)
        assert self.rec.frames[-1].type == wire.GOODBYE, "the recording ends with GOODBYE"

    # -- the recording ----------------------------------------------------------------------------

    def site(self, qualname: str) -> Dict:
        """The example's own site for ``qualname``: the handler as the user wrote it."""
        sites = self.rec.sites.values()
        matches = [s for s in sites if same_name(s["name"], qualname) and s["file"] == str(self.path)]
        assert matches, f"no site {qualname} in {self.path.name} among {sorted(s['name'] for s in sites)}"
        return matches[0]

    def durations(self, qualname: str, kind: int) -> List[int]:
        site = self.site(qualname)
        assert site["line"] == first_line_of(self.path, qualname), "the site is the handler's own definition"
        found = [e[3] for e in self.rec.events if e[1] == site["id"] and e[0] == kind]
        assert found, f"no event of kind {kind} at {qualname}"
        return found

    def samples_through(self, qualname: str) -> List[Tuple[Dict, List[List[int]]]]:
        """(stall, stack) for every sample whose stack has a frame of the example's ``qualname``."""
        sites = self.rec.sites
        out = []
        for stall in self.rec.stalls:
            for sample in stall["samples"]:
                stack = sample["stack"]
                if any(same_name(sites[s]["name"], qualname) and sites[s]["file"] == str(self.path) for s, _ in stack):
                    out.append((stall, stack))
        return out

    def blocked_at(self, qualname: str, text: str) -> Set[Tuple[int, int]]:
        """Asserts that ``qualname`` held the reactor at the line holding ``text``; returns the stalled
        callbacks, as (start, site) keys of their top-level events."""
        expected = line_of(self.path, text)
        samples = self.samples_through(qualname)
        assert samples, f"no stall sample passed through {qualname}"
        sites = self.rec.sites
        innermost = Counter((sites[s]["file"], line, sites[s]["name"]) for _, [(s, line), *_] in samples)
        (file, line, name), count = innermost.most_common(1)[0]
        assert (file, line) == (str(self.path), expected), f"{qualname} blocked at {innermost.most_common(3)}, not {expected}"
        assert same_name(name, qualname), f"the blocking line {line} is in {name}, not {qualname}"
        assert count * 2 > len(samples), f"line {expected} has {count} of {qualname}'s {len(samples)} samples"
        return {(stall["callbackStart"], stall["site"]) for stall, _ in samples}

    def stalled_callbacks(self, keys: Set[Tuple[int, int]]) -> List[Tuple[int, int, int, int]]:
        """The top-level events (kind, site, start, duration) of the stalls with these keys."""
        events = {(e[2], e[1]): e for e in self.rec.events}
        missing = [key for key in keys if key not in events]
        assert not missing, f"stalls without their callback's event: {missing}"
        return [events[key] for key in keys]

    def never_sampled(self, qualname: str) -> None:
        assert not self.samples_through(qualname), f"{qualname} never blocks, yet stall samples pass through it"

    # -- the report ---------------------------------------------------------------------------------

    def report_rows(self, section: int) -> List[List[str]]:
        """Rows of the report's handlers table (section 0) or blocked-lines table (section 1)."""
        report = self.result.stderr
        assert "Reactor Scope: slowest handlers" in report, report
        parts = report.split("Reactor Scope: slowest handlers")[1].split("Where the reactor was blocked")
        assert len(parts) == 2, f"no blocked lines in the report:\n{report}"
        lines = parts[section].strip().splitlines()[2:]  # after the rest of the title, and the header
        rows = [line.strip() for line in lines if line.strip() and not line.strip().startswith("(")]  # not notes
        return [re.split(r"\s{2,}", row) for row in rows]

    def reported_handler_max_ms(self, qualname: str) -> float:
        location = f"{self.path}:{first_line_of(self.path, qualname)}"
        rows = [row for row in self.report_rows(0) if same_name(row[0], qualname) and row[1] == location]
        assert rows, f"{qualname} at {location} is not among the report's handlers:\n{self.result.stderr}"
        return milliseconds(rows[0][5])

    def assert_reported_blocked(self, qualname: str, text: str) -> None:
        location = f"{self.path}:{line_of(self.path, text)}"
        rows = [row for row in self.report_rows(1) if row[0] == location]
        assert rows, f"{location} is not among the report's blocked lines:\n{self.result.stderr}"
        assert same_name(rows[0][1], qualname), rows[0]

    def gauge_max(self, gauge: int) -> float:
        values = [value for frame in self.rec.gauges for g, value in frame["values"] if g == gauge]
        assert values, f"gauge {gauge} was never sent"
        return max(values)


def milliseconds(cell: str) -> float:
    value, unit = cell.split()
    assert unit == "ms", cell
    return float(value)


def run_example(tmp_path: Path, name: str, *args: str) -> Run:
    path = EXAMPLES / name
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), "--report", str(path), "--seconds", SECONDS, *args], cwd=tmp_path)
    return Run(path, result, record)


# The HTTP server's reads run HTTPChannel.dataReceived; Twisted 22.4's HTTPChannel inherits LineReceiver's.
CHANNEL_READS = ("HTTPChannel.dataReceived", "LineReceiver.dataReceived")


def assert_channel_reads(run: Run, stalled: List[Tuple[int, int, int, int]]) -> None:
    """twisted.web parses a request and renders it inside the HTTP channel's dataReceived: that is the
    top-level callback the reactor ran, and the stall's."""
    for kind, site, _, _ in stalled:
        assert kind == wire.KIND_IO_READ
        assert run.rec.sites[site]["name"] in CHANNEL_READS, run.rec.sites[site]


def test_web_blocking(tmp_path):
    run = run_example(tmp_path, "web_blocking.py")
    requests = Counter(re.findall(r"^GET (/\w+) +200 ", run.result.stdout, re.M))
    assert set(requests) == {"/fast", "/sleep", "/file", "/hash"}, "the example's own client requested every path"
    handlers = [
        ("/sleep", "Sleep.render_GET", "time.sleep(0.2)"),
        ("/file", "File.render_GET", "source.read("),
        ("/hash", "Hash.render_GET", "hashlib.pbkdf2_hmac("),
    ]
    for path, qualname, text in handlers:
        # Each request's render is a web request event of its own, at the user's render_GET.
        renders = run.durations(qualname, wire.KIND_WEB_REQUEST)
        assert len(renders) == requests[path], f"one {qualname} per request for {path}"
        assert min(renders) > THRESHOLD_NS, qualname
        assert run.reported_handler_max_ms(qualname) > THRESHOLD_NS / 1e6
        stalled = run.stalled_callbacks(run.blocked_at(qualname, text))
        assert_channel_reads(run, stalled)
        assert max(duration for *_, duration in stalled) > THRESHOLD_NS, qualname
        run.assert_reported_blocked(qualname, text)
    fast = run.durations("Fast.render_GET", wire.KIND_WEB_REQUEST)
    assert len(fast) == requests["/fast"] and max(fast) < THRESHOLD_NS / 5, "the fast page is fast"
    run.never_sampled("Fast.render_GET")
    assert "whose row counts its time too" in run.result.stderr, "the report says renders are inside reads"
    render = [row for row in run.report_rows(0) if same_name(row[0], "Sleep.render_GET")]
    assert render and render[0][-1] == "nested", "a render is a nested handler"
    table = run.result.stderr.split("Where the reactor was blocked")[0]
    assert table.index("Sleep.render_GET") < table.index("(library code") < table.index(".dataReceived"), "the app's code first"


def test_tcp_slow_protocol(tmp_path):
    run = run_example(tmp_path, "tcp_slow_protocol.py")
    assert "report" in run.result.stdout and "ping" in run.result.stdout
    assert max(run.durations("QueryServer.dataReceived", wire.KIND_IO_READ)) > THRESHOLD_NS
    # The client's reads, on the same reactor, never block: each is timed on its own.
    assert max(run.durations("QueryClient.dataReceived", wire.KIND_IO_READ)) < THRESHOLD_NS
    stalled = run.stalled_callbacks(run.blocked_at("QueryServer.dataReceived", "time.sleep(0.15)"))
    assert {site for _, site, _, _ in stalled} == {run.site("QueryServer.dataReceived")["id"]}
    assert run.reported_handler_max_ms("QueryServer.dataReceived") > THRESHOLD_NS / 1e6
    run.assert_reported_blocked("QueryServer.dataReceived", "time.sleep(0.15)")
    run.never_sampled("QueryClient.dataReceived")


def test_inline_callbacks(tmp_path):
    run = run_example(tmp_path, "inline_callbacks.py")
    assert "order 1: receipt-1" in run.result.stdout
    # One COROUTINE event per resume of the generator: the resume that runs the slow step holds the reactor.
    assert max(run.durations("handle_order", wire.KIND_COROUTINE)) > THRESHOLD_NS
    # The caller's own resumes never include the callee's slow step.
    assert max(run.durations("take_orders", wire.KIND_COROUTINE)) < THRESHOLD_NS
    stalled = run.stalled_callbacks(run.blocked_at("handle_order", "time.sleep(0.12)"))
    assert {kind for kind, *_ in stalled} == {wire.KIND_TIMER}, "resumed by the deferLater timer"
    run.assert_reported_blocked("handle_order", "time.sleep(0.12)")
    run.never_sampled("take_orders")


def test_async_flow(tmp_path):
    run = run_example(tmp_path, "async_flow.py")
    assert "upload 1: stored-1" in run.result.stdout
    assert max(run.durations("sign_upload", wire.KIND_COROUTINE)) > THRESHOLD_NS
    # The LoopingCall's tick starts the coroutine and runs it up to its first await: never the slow step.
    assert max(run.durations("start_upload", wire.KIND_TIMER)) < THRESHOLD_NS
    stalled = run.stalled_callbacks(run.blocked_at("sign_upload", "hashlib.pbkdf2_hmac("))
    assert {kind for kind, *_ in stalled} == {wire.KIND_TIMER}, "resumed by the deferLater timer"
    run.assert_reported_blocked("sign_upload", "hashlib.pbkdf2_hmac(")
    run.never_sampled("start_upload")


def test_drifting_loop(tmp_path):
    run = run_example(tmp_path, "drifting_loop.py")
    assert "skipped" in run.result.stdout, "the loop drifted and said so"
    ticks = run.durations("Poller.poll", wire.KIND_TIMER)  # the LoopingCall unwrapped to the user's method
    assert max(ticks) > THRESHOLD_NS
    assert min(ticks) < THRESHOLD_NS, "each tick is its own event: the quick ones stay quick"
    stalled = run.stalled_callbacks(run.blocked_at("Poller.poll", "time.sleep(0.25)"))
    assert {site for _, site, _, _ in stalled} == {run.site("Poller.poll")["id"]}
    assert run.reported_handler_max_ms("Poller.poll") > THRESHOLD_NS / 1e6
    run.assert_reported_blocked("Poller.poll", "time.sleep(0.25)")


def test_threadpool_flood(tmp_path):
    run = run_example(tmp_path, "threadpool_flood.py")
    assert "wave 1: 200 jobs" in run.result.stdout
    # 200 jobs for 10 threads: most wait in the pool's queue, which the gauge shows.
    assert run.gauge_max(wire.GAUGE_THREADPOOL_QUEUE) > 10
    # Results come back by callFromThread; the callback run on the reactor thread is the user's store_result.
    assert max(run.durations("store_result", wire.KIND_DEFERRED)) > THRESHOLD_NS
    stalled = run.stalled_callbacks(run.blocked_at("store_result", "time.sleep(0.1)"))
    assert {kind for kind, *_ in stalled} == {wire.KIND_THREAD_CALL}
    assert max(duration for *_, duration in stalled) > THRESHOLD_NS
    run.assert_reported_blocked("store_result", "time.sleep(0.1)")
    # The workers' sleeps are off the reactor thread: never a stall of the reactor.
    run.never_sampled("resize_image")


def test_asyncio_app(tmp_path):
    run = run_example(tmp_path, "asyncio_app.py")
    assert "AsyncioSelectorReactor" in run.result.stdout and "QUOTE" in run.result.stdout
    assert run.rec.meta["reactor"] == "AsyncioSelectorReactor"
    assert max(run.durations("QuoteServer.dataReceived", wire.KIND_IO_READ)) > THRESHOLD_NS
    stalled = run.stalled_callbacks(run.blocked_at("QuoteServer.dataReceived", "time.sleep(0.12)"))
    assert {site for _, site, _, _ in stalled} == {run.site("QuoteServer.dataReceived")["id"]}
    assert run.reported_handler_max_ms("QuoteServer.dataReceived") > THRESHOLD_NS / 1e6
    run.assert_reported_blocked("QuoteServer.dataReceived", "time.sleep(0.12)")


def test_twistd_app(tmp_path):
    # twistd owns the command line: the run length comes from the environment. Run the way
    # test_launcher.py runs twistd (reactorscope.twistd in the foreground, no pid file).
    # The report goes to the process's own stderr, not to twistd's replacement of sys.stderr.
    path = EXAMPLES / "twistd_app.tac"
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), "--report", "-m", "reactorscope.twistd", "-n", "--pidfile=", "-y",
                       str(path)], env=python_env({"REACTORSCOPE_EXAMPLE_SECONDS": SECONDS}), cwd=tmp_path)
    run = Run(path, result, record)
    assert "GET /report 200" in result.stdout and "GET /status 200" in result.stdout, "twistd -n logs to stdout"
    assert run.rec.meta["reactor"] == "EPollReactor"
    assert min(run.durations("Report.render_GET", wire.KIND_WEB_REQUEST)) > THRESHOLD_NS
    assert max(run.durations("Status.render_GET", wire.KIND_WEB_REQUEST)) < THRESHOLD_NS
    stalled = run.stalled_callbacks(run.blocked_at("Report.render_GET", "time.sleep(0.15)"))
    assert_channel_reads(run, stalled)
    assert max(duration for *_, duration in stalled) > THRESHOLD_NS
    assert run.reported_handler_max_ms("Report.render_GET") > THRESHOLD_NS / 1e6
    run.assert_reported_blocked("Report.render_GET", "time.sleep(0.15)")
    run.never_sampled("Status.render_GET")


@pytest.mark.parametrize("name", ["web_blocking.py", "tcp_slow_protocol.py", "inline_callbacks.py", "async_flow.py",
                                  "drifting_loop.py", "threadpool_flood.py", "asyncio_app.py"])
def test_examples_run_alone_and_end_by_themselves(name):
    """Without the shim: plain Python, as the docstrings say; --seconds ends them with status 0."""
    result = run_python([str(EXAMPLES / name), "--seconds", "1"], timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
