"""The shim is invisible to the app: what an app can see of the hooked Twisted is the same bare and under the
shim in its most visible configuration (every hook, the watchdog and the sender on, recording). Twisted's own
trial suite is the wider judge (scripts/trial-compare.py, the `trial` group of npm test)."""
import json
import os

import pytest

from helpers import APPS, Recording, run_python, run_shim
from reactorscope import wire
from reactorscope.clock import ManualClock
from reactorscope.loop_lag import LoopLag
from reactorscope.recorder import Recorder

PROBE = APPS / "invisible_app.py"
REACTORS = ["epoll", "poll", "select", "asyncio"]


@pytest.fixture(scope="module", params=REACTORS)
def seen(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "rec.bin"
    bare = run_python([str(PROBE), request.param])
    shim = run_shim(["--record", str(path), str(PROBE), request.param])
    assert bare.returncode == 0, bare.stderr
    assert shim.returncode == 0, shim.stderr
    assert shim.stderr == bare.stderr
    rec = Recording.read(path)
    return json.loads(bare.stdout.splitlines()[-1]), json.loads(shim.stdout.splitlines()[-1]), rec


@pytest.mark.parametrize(
    "what",
    [
        "installReactor",
        "reactor.callLater",
        "reactor.callFromThread",
        "reactor.runUntilCurrent",
        "reactor.doIteration",
        "reactor._doReadOrWrite",
        "reactor._readOrWrite",
        "selector.select",
        "Deferred._runCallbacks",
        "defer._inlineCallbacks",
        "Request.render",
    ],
)
def test_what_the_shim_wraps_reads_as_the_original(seen, what):
    """Name, qualified name, module, doc, signature and repr (a bound method's repr names its class)."""
    bare, shim, _ = seen
    assert shim.get(what) == bare.get(what)


def test_scheduled_calls_are_the_apps_own(seen):
    """getDelayedCalls(): the app's callable, args, kw and repr, and no call of the shim's (no heartbeat)."""
    bare, shim, _ = seen
    assert bare["delayed_calls"] and bare["delayed_calls"][0][0] is True
    assert shim["delayed_calls"] == bare["delayed_calls"]
    assert shim["delayed_call_count"] == bare["delayed_call_count"]


def test_thread_call_entries_are_the_apps_own(seen):
    bare, shim, _ = seen
    assert shim.get("thread_call_queue") == bare.get("thread_call_queue")


def test_no_shim_frame_on_the_stack_of_a_timer_or_a_thread_call(seen):
    bare, shim, _ = seen
    assert shim["timer_stack"] == bare["timer_stack"]
    assert shim["thread_call_stack"] == bare["thread_call_stack"]


def test_logged_tracebacks_and_the_already_installed_error_are_unchanged(seen):
    bare, shim, _ = seen
    assert bare["logged"] and "boom in a timer" in bare["logged"][0]
    assert shim["logged"] == bare["logged"]
    assert "ReactorAlreadyInstalledError" in bare["already_installed"]
    assert shim["already_installed"] == bare["already_installed"]


def test_twisted_modules_keep_their_class_and_loaders_and_the_import_hook_leaves(seen):
    bare, shim, _ = seen
    assert shim["package"] == bare["package"] == ["module", "SourceFileLoader"]
    assert shim["web_loader"] == bare["web_loader"]
    assert shim["meta_path"] == bare["meta_path"]


def test_the_calls_are_still_timed_and_attributed(seen):
    """Invisible, and still measured: the timer, the thread call and the failing timer are events."""
    _, _, rec = seen
    assert rec.events_at("on_timer", wire.KIND_TIMER)
    assert rec.events_at("on_thread_call", wire.KIND_THREAD_CALL)
    assert rec.events_at("boom", wire.KIND_TIMER)
    assert rec.events_at("finish", wire.KIND_TIMER)


SCRIPT = """import json, sys, traceback
def fail():
    raise ValueError("x")
try:
    fail()
except ValueError:
    tb = traceback.format_exc()
print(json.dumps({"argv0": sys.argv[0], "file": __file__, "path0": sys.path[0], "globals": sorted(globals()),
                  "loader": type(__loader__).__name__, "builtins": type(__builtins__).__name__,
                  "main": sys.modules["__main__"].__dict__ is globals(), "tb": tb}))
"""


@pytest.mark.parametrize("spelling", ["app.py", "./app.py", "sub/../app.py", "link.py", "linked/app.py", "ABSOLUTE"])
def test_a_script_sees_itself_as_under_bare_python(tmp_path, spelling):
    """__file__ (absolute as Python makes it, not normalised), sys.argv[0] as given, sys.path[0] through
    symlinks, __main__'s globals, and the paths of tracebacks."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "app.py").write_text(SCRIPT)
    os.symlink(real / "app.py", real / "link.py")
    os.symlink(real, tmp_path / "real" / "linked")
    script = str(real / "app.py") if spelling == "ABSOLUTE" else spelling
    bare = run_python([script], cwd=real)
    shim = run_shim(["--record", str(tmp_path / "rec.bin"), script], cwd=real)
    assert bare.returncode == 0, bare.stderr
    assert shim.returncode == 0, shim.stderr
    assert json.loads(shim.stdout) == json.loads(bare.stdout)


def test_a_folder_with_main_runs_as_under_bare_python(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "__main__.py").write_text(SCRIPT)
    bare = run_python([str(folder)], cwd=tmp_path)
    shim = run_shim([str(folder)], cwd=tmp_path)
    assert json.loads(shim.stdout) == json.loads(bare.stdout)


def test_trial_finds_the_reactor_clean(tmp_path):
    """trial's janitor fails a test that leaves a DelayedCall behind: the shim leaves none (it had a heartbeat)."""
    (tmp_path / "test_clean.py").write_text(
        "from twisted.internet import reactor, task\n"
        "from twisted.trial import unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_waits(self):\n"
        "        return task.deferLater(reactor, 0.2, lambda: None)\n"
        "    def test_after(self):\n"
        "        self.assertEqual(reactor.getDelayedCalls(), [])\n"
    )
    args = ["-m", "twisted.trial", "--temp-directory", str(tmp_path / "_trial_temp"), "test_clean"]
    bare = run_python(args, cwd=tmp_path)
    shim = run_shim(["--record", str(tmp_path / "rec.bin"), *args], cwd=tmp_path)
    assert "PASSED (successes=2)" in bare.stdout, bare.stdout
    assert "PASSED (successes=2)" in shim.stdout, shim.stdout + shim.stderr


# -- loop lag, from the loop's own waits ----------------------------------------------------------------

MS = 1_000_000


def lag_of(interval_ms=50):
    clock = ManualClock()
    rec = Recorder(clock, 1000)
    lag = LoopLag(rec, interval_ms * MS)
    return clock, rec, lag


def samples(rec):
    return [((t + rec.origin - ManualClock().now_ns()) // MS, v // MS) for t, v in zip(rec.lag_times, rec.lags)]


def test_lag_is_zero_for_instants_the_loop_waited_through():
    clock, rec, lag = lag_of()
    start = clock.now_ns()
    lag.start(start)
    lag.wait_started(start + 10 * MS)
    lag.wait_ended(start + 160 * MS)
    lag.wait_started(start + 161 * MS)  # the loop comes back to its poller
    assert samples(rec) == [(50, 0), (100, 0), (150, 0)]


def test_lag_of_a_busy_instant_is_the_time_until_the_loop_reached_its_timers():
    """As a heartbeat: sampled when served, rescheduled one interval after that."""
    clock, rec, lag = lag_of()
    start = clock.now_ns()
    lag.start(start)
    lag.wait_started(start + 10 * MS)
    lag.wait_ended(start + 20 * MS)  # then a callback blocks for 300 ms
    lag.wait_started(start + 320 * MS)
    assert samples(rec) == [(320, 270)]
    assert lag.next_due == start + 370 * MS


def test_an_idle_reactor_reports_its_zeros_while_it_sleeps():
    clock, rec, lag = lag_of()
    start = clock.now_ns()
    lag.start(start)
    lag.wait_started(start + 1 * MS)
    lag.catch_up(start + 120 * MS)  # the sender, while the loop still waits
    assert samples(rec) == [(50, 0), (100, 0)]
    lag.wait_ended(start + 130 * MS)
    lag.wait_started(start + 131 * MS)  # nothing twice
    assert samples(rec) == [(50, 0), (100, 0)]
    lag.wait_ended(start + 135 * MS)  # a callback runs
    lag.catch_up(start + 400 * MS)  # not waiting: nothing to say before the loop comes round
    assert len(rec.lags) == 2


LAG_APP = """import sys, time
if sys.argv[1] == "asyncio":
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
from twisted.internet import reactor
reactor.callLater(0.3, time.sleep, 0.2)  # idle 300 ms, blocked 200 ms, idle 200 ms
reactor.callLater(0.7, reactor.stop)
reactor.run()
"""


@pytest.mark.parametrize("reactor_name", ["epoll", "asyncio"])
def test_loop_lag_is_measured_without_a_timer(tmp_path, reactor_name):
    """A sample every lag interval (50 ms): zeros while idle, the stall's lag once the loop comes round."""
    app = tmp_path / "lag_app.py"
    app.write_text(LAG_APP)
    path = tmp_path / "rec.bin"
    result = run_shim(["--record", str(path), str(app), reactor_name])
    assert result.returncode == 0, result.stderr
    rec = Recording.read(path)
    times = [t for loop in rec.loops for t in loop["lagTimes"]]
    lags = [v for loop in rec.loops for v in loop["lags"]]
    assert 8 <= len(lags) <= 16, lags
    assert lags.count(0) >= 6, "idle instants lag 0"
    assert 100 * MS < max(lags) < 260 * MS, lags
    assert times == sorted(times)


def test_a_reactor_without_an_iteration_hook_still_times_timers_and_thread_calls():
    """Reactor families the shim does not know (kqueue, GUI reactors) inherit ReactorBase.runUntilCurrent: timed
    at heappop and threadCallQueue, the last timer closed by a runUntilCurrent wrapper, lag by heartbeat."""
    from twisted.internet.base import ReactorBase

    from reactorscope.reactor_hooks import ReactorHooks
    from reactorscope.sites import SiteTable

    class Minimal(ReactorBase):
        def installWaker(self):
            pass

        def wakeUp(self):
            pass

    def on_timer():
        assert rec.current is not None and rec.current[2] == wire.KIND_TIMER

    def on_thread_call():
        assert rec.current is not None and rec.current[2] == wire.KIND_THREAD_CALL

    reactor = Minimal()
    rec = Recorder(ManualClock(), 1000)
    hooks = ReactorHooks(rec, SiteTable(), 0.05)
    assert hooks.install(reactor) and hooks.family == "other" and hooks.timers_timed
    try:
        reactor.callLater(0, on_timer)
        reactor.callFromThread(on_thread_call)
        assert [c.func for c in reactor.getDelayedCalls()] == [on_timer]
        assert list(reactor.threadCallQueue) == [(on_thread_call, (), {})]
        reactor.runUntilCurrent()
        assert rec.current is None
        kinds = sorted(rec.events[0::4])
        assert kinds == [wire.KIND_TIMER, wire.KIND_THREAD_CALL]
        hooks.start_lag()
        assert len(reactor.getDelayedCalls()) == 1, "the fallback heartbeat"
    finally:
        hooks.uninstall()
    assert reactor.getDelayedCalls() == []
    assert type(reactor.threadCallQueue) is list and "runUntilCurrent" not in vars(reactor)
