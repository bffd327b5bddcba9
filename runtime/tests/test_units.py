"""Unit tests with an injected clock and no reactor: sites, watchdog, sender windows, config, idempotency."""
import functools
import socket
import sys
import threading
from array import array

import pytest
from twisted.internet import task

from reactorscope import config, wire
from reactorscope.clock import ManualClock
from reactorscope.install_hook import _watch_package
from reactorscope.recorder import Recorder
from reactorscope import report
from reactorscope.histogram import Histogram
from reactorscope.model import Model
from reactorscope.sender import Sender
from reactorscope.sites import SiteTable
from reactorscope.transport import AddressError, Peer, parse_address
from reactorscope.watchdog import Watchdog


def plain_function():
    pass


class Handler:
    def method(self):
        pass

    def __call__(self):
        pass


class LoopingLike:
    def __init__(self, f):
        self.f = f


def test_sites_resolve_every_kind_of_callable():
    sites = SiteTable()
    function_site = sites.callable(plain_function)
    assert sites.row(function_site)[1:] == (plain_function.__code__.co_firstlineno, __file__, "plain_function")
    assert sites.callable(Handler().method) == sites.callable(Handler.method)
    assert sites.callable(functools.partial(plain_function)) == function_site
    assert sites.callable(LoopingLike(plain_function)) == function_site
    assert sites.callable(task.LoopingCall.withCount(plain_function)) == function_site, "not Twisted's closure"
    assert sites.row(sites.callable(Handler()))[3].endswith("__call__")
    builtin = sites.callable(len)
    assert sites.row(builtin)[2:] == ("", "builtins.len")
    assert sites.callable(plain_function) == function_site, "interned once"
    assert [row[0] for row in sites.rows_since(0)] == list(range(1, len(sites) + 1))


def make_recorder(clock):
    return Recorder(clock, buffer_events=1000)


def blocked_here(started, release):
    started.set()
    release.wait()  # THE BLOCKED LINE


MS = 1_000_000


@pytest.fixture
def blocked_thread():
    """A thread stopped on blocked_here's known line: the 'reactor thread' the watchdog samples."""
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=blocked_here, args=(started, release))
    worker.start()
    started.wait()
    yield worker
    release.set()
    worker.join()


def make_watchdog(clock, worker, sites=None):
    rec = make_recorder(clock)
    rec.reactor_thread = worker.ident
    dog = Watchdog(rec, SiteTable() if sites is None else sites, threshold_ns=50 * MS, sample_interval_ns=5 * MS, stop_codes=set())
    return rec, dog


def run_for(clock, dog, ms, every_ms=5):
    """The watchdog's wakes over ``ms`` of fake time, one every ``every_ms``."""
    for _ in range(ms // every_ms):
        clock.advance(every_ms * MS)
        dog.check()


def end_callback(clock, rec, current):
    """What the trampolines do when a callback returns."""
    current[3] = clock.now_ns()
    rec.current = None


def test_the_watchdog_samples_from_the_start_and_names_the_blocked_line(blocked_thread):
    clock = ManualClock()
    sites = SiteTable()
    rec, dog = make_watchdog(clock, blocked_thread, sites)
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    clock.advance(5 * MS)
    assert dog.check() is True, "a sample 5 ms in"
    assert rec.take_stall_samples() == [], "kept, not published, under the threshold"
    run_for(clock, dog, 50)
    samples = rec.take_stall_samples()
    assert [t - start for start, _, _, t, _ in samples] == [ms * MS for ms in range(5, 56, 5)], "the kept ones at 50 ms"
    (start, site, kind, t, stack) = samples[0]
    assert start == current[0] - rec.origin and (site, kind) == (7, wire.KIND_TIMER)
    names = [(sites.row(s)[3], line) for s, line in stack]
    assert ("blocked_here", blocked_here.__code__.co_firstlineno + 2) in names
    run_for(clock, dog, 5)
    assert len(rec.take_stall_samples()) == 1, "past the threshold every sample streams at once"
    end_callback(clock, rec, current)
    assert dog.check() is False
    assert rec.take_stall_samples() == []


def test_a_callback_under_the_threshold_leaves_no_samples(blocked_thread):
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    run_for(clock, dog, 45)
    clock.advance(4 * MS)
    end_callback(clock, rec, current)  # 49 ms
    clock.advance(1 * MS)
    assert dog.check() is False
    assert rec.take_stall_samples() == [] and dog._kept == [] and dog._held is None


def test_a_callback_that_ends_just_over_the_threshold_gets_its_kept_samples(blocked_thread):
    # The watchdog never saw it past the threshold: it learns the end from the list it held.
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    run_for(clock, dog, 45)
    assert rec.take_stall_samples() == []
    clock.advance(7 * MS)
    end_callback(clock, rec, current)  # 52 ms
    # The next callback is already running when the watchdog wakes: another list, not None.
    rec.current = following = [clock.now_ns(), 8, wire.KIND_IO_READ, 0]
    clock.advance(1 * MS)
    assert dog.check() is True, "the following callback is sampled"
    samples = rec.take_stall_samples()
    assert [(site, kind, t - start) for start, site, kind, t, _ in samples] == [
        (7, wire.KIND_TIMER, ms * MS) for ms in range(5, 46, 5)
    ]
    assert dog._held is following and len(dog._kept) == 1


def test_an_ended_stall_is_settled_when_the_watchdog_stops(blocked_thread):
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    waits = iter([False, False, True])  # two wakes, then stop

    def wait(_seconds):
        stop = next(waits)
        clock.advance(30 * MS)
        if stop:
            end_callback(clock, rec, current)  # 90 ms, ended between the last wake and the stop
        return stop

    dog._wait = wait
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    clock.advance(1 * MS)
    dog._run()  # samples at 1 and 31 ms (kept), 61 ms (published with them)
    assert [t - start for start, _, _, t, _ in rec.take_stall_samples()] == [1 * MS, 31 * MS, 61 * MS]
    assert dog._held is None


@pytest.mark.parametrize("gil_wait_ms,expected_ms", [(0, [5, 5, 5]), (5, [5, 1, 1]), (2, [5, 3, 3])])
def test_a_wake_late_for_the_gil_shortens_the_next_wait(blocked_thread, gil_wait_ms, expected_ms):
    # A CPU-bound reactor thread gives up the GIL only after the switch interval: samples should still come
    # about every sample interval, not every interval plus that wait (the next wait is never under 1 ms).
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    seconds = [0.0]
    waits = []

    def wait(s):
        waits.append(round(s * 1e3, 6))
        seconds[0] += s + gil_wait_ms / 1e3
        return len(waits) == len(expected_ms)

    dog._wait, dog._timer = wait, lambda: seconds[0]
    dog._run()
    assert waits == expected_ms


def test_a_stall_past_the_kept_limit_counts_what_it_dropped(blocked_thread, monkeypatch):
    from reactorscope import watchdog

    monkeypatch.setattr(watchdog, "MAX_KEPT", 3)
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    run_for(clock, dog, 25)
    assert len(dog._kept) == 3 and rec.samples_dropped == 0
    clock.advance(30 * MS)
    end_callback(clock, rec, current)
    dog.check()
    assert len(rec.take_stall_samples()) == 3 and rec.samples_dropped == 2


def test_the_watchdog_reads_no_frames_while_nothing_runs(blocked_thread, monkeypatch):
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    calls = []
    real = sys._current_frames
    monkeypatch.setattr(sys, "_current_frames", lambda: calls.append(1) or real())
    run_for(clock, dog, 100)
    assert calls == []
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    run_for(clock, dog, 10)
    end_callback(clock, rec, current)
    run_for(clock, dog, 100)
    assert len(calls) == 2


def test_a_sample_taken_as_the_callback_returns_is_not_kept(blocked_thread, monkeypatch):
    # The reactor thread may return between the watchdog's read of rec.current and its frames.
    clock = ManualClock()
    rec, dog = make_watchdog(clock, blocked_thread)
    rec.current = current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
    real = sys._current_frames

    def frames_after_return():
        end_callback(clock, rec, current)
        return real()

    monkeypatch.setattr(sys, "_current_frames", frames_after_return)
    clock.advance(60 * MS)
    assert dog.check() is False
    assert dog._kept == [] and rec.take_stall_samples() == []


def test_loop_windows_split_busy_and_idle_time():
    clock = ManualClock()
    rec = make_recorder(clock)
    written = []
    recording = Peer(written.append, lambda: None, "memory")

    class Running:
        running = True

    sender = Sender(rec, SiteTable(), hello=lambda: wire.encode_hello(1, 0, {}), flush_interval_s=1,
                    gauge_interval_ns=10**12, recording=recording, reactor=lambda: Running)
    sender._window_start = 0
    clock.advance(100_000_000)
    rec.idle_ns += 30_000_000
    rec.iterations += 3
    sender.flush()
    loop = [f for f in wire.decode_stream(b"".join(written)) if f.type == wire.LOOP][0].body
    assert (loop["start"], loop["end"], loop["iterations"]) == (0, 100_000_000, 3)
    assert (loop["busyNs"], loop["idleNs"]) == (70_000_000, 30_000_000)


def test_a_full_buffer_drops_and_counts():
    from twisted.internet.selectreactor import SelectReactor

    from reactorscope.reactor_hooks import ReactorHooks

    clock = ManualClock()
    rec = Recorder(clock, buffer_events=1000)
    reactor = SelectReactor()  # a reactor of its own, never installed or run
    hooks = ReactorHooks(rec, SiteTable(), 0.05)
    assert hooks.install(reactor) and hooks.timers_timed
    try:
        for _ in range(1200):
            reactor.callLater(0, plain_function)
        reactor.runUntilCurrent()
        reactor.doIteration(0)  # where mainLoop goes next: the last timer's event ends there
    finally:
        hooks.uninstall()
    assert len(rec.events) == 1000 * 4
    assert rec.events_dropped == 200


@pytest.mark.parametrize("event_first", [False, True])
def test_the_model_holds_each_line_for_the_time_since_the_sample_before(event_first):
    # The sender may drain a stall's end event before, with or after its samples; samples may come in any order.
    model = Model()
    if not event_first:
        model.add_stall(10, 1, 1, [(60, [(2, 5)]), (70, [(2, 9)])])
    model.add_events(array("I", [1]), array("B", [1]), array("q", [10]), array("q", [90_000_000]))
    model.add_stall(10, 1, 1, [(65, [(2, 5)])] + ([] if not event_first else [(60, [(2, 5)]), (70, [(2, 9)])]))
    model.add_sites([(1, 1, "/app/a.py", "handler"), (2, 3, "/app/b.py", "work")])
    (spot,) = model.hotspots()
    assert [(b.line, b.samples, b.held_ns) for b in spot.blocking_lines] == [(5, 2, 55), (9, 1, 5)]
    assert model.max_top_level_ns == 90_000_000


def test_web_requests_are_nested_handlers_but_not_what_held_the_reactor():
    model = Model()
    model.add_sites([(1, 100, "/venv/lib/python3.11/site-packages/twisted/web/http.py", "HTTPChannel.dataReceived"),
                     (2, 10, "/app/site.py", "Page.render_GET"),
                     (3, 500, "/venv/lib/python3.11/site-packages/twisted/internet/defer.py", "Deferred.callback")])
    model.add_events(array("I", [1, 2, 3]), array("B", [wire.KIND_IO_READ, wire.KIND_WEB_REQUEST, wire.KIND_DEFERRED]),
                     array("q", [10, 11, 12]), array("q", [90_000_000, 80_000_000, 70_000_000]))
    assert [(h.site, h.nested) for h in model.hotspots()] == [(1, False), (2, True)], "library Deferred callbacks are not handlers"
    assert model.max_top_level_ns == 90_000_000
    text = report.render(model)
    assert text.index("Page.render_GET") < text.index("HTTPChannel.dataReceived"), "the app's code first"
    assert "whose row counts its time too" in text


def test_the_histogram_answers_what_histogram_ts_answers():
    h = Histogram()
    for value in (5, 40, 1000, 123_456_789, 2**40 + 3):
        h.record(value)
    # The middle of the bucket holding the rank (exact at the ends), as test/unit/histogram.test.ts expects.
    assert (h.percentile(0), h.percentile(1), h.percentile(0.5)) == (5, 2**40 + 3, 1007.5)
    assert (h.count, h.total, h.max, h.min) == (5, 5 + 40 + 1000 + 123_456_789 + 2**40 + 3, 2**40 + 3, 5)


@pytest.mark.parametrize("address, family, target", [
    ("tcp:127.0.0.1:80", socket.AF_INET, ("127.0.0.1", 80)),
    ("tcp:localhost:1", socket.AF_INET, ("127.0.0.1", 1)),
    ("tcp:[::1]:9", socket.AF_INET6, ("::1", 9)),
    ("unix:/tmp/x.sock", socket.AF_UNIX, "/tmp/x.sock"),
])
def test_loopback_and_unix_addresses_are_accepted(address, family, target):
    # More loopback cases, shared with the server: test_transport.py reads test/fixtures/addresses.json.
    assert parse_address(address) == (family, target)


@pytest.mark.parametrize("address", ["tcp:0.0.0.0:80", "tcp:10.0.0.1:80", "tcp:example.com:80", "udp:1", "tcp:127.0.0.1"])
def test_other_addresses_are_refused(address):
    with pytest.raises(AddressError):
        parse_address(address)


def test_settings_from_json_are_checked():
    with pytest.raises(config.ConfigError, match="not valid JSON"):
        config.from_json("{")
    with pytest.raises(config.ConfigError, match="unknown settings: bogus"):
        config.from_json('{"bogus": 1}')
    with pytest.raises(config.ConfigError, match="token is required"):
        config.from_json('{"connect": "tcp:127.0.0.1:1"}').validate()
    with pytest.raises(config.ConfigError, match="user_code must be a list"):
        config.from_json('{"user_code": "mypkg"}').validate()
    assert config.from_json('{"user_code": ["mypkg", "*/vendored/*"]}').validate().user_code == ["mypkg", "*/vendored/*"]
    env = {"REACTORSCOPE": '{"report": true}', "REACTORSCOPE_TOKEN": "t"}
    settings = config.take_from_environment(env)
    assert settings is not None and settings.report and settings.token == "t" and env == {}


def test_reactor_installs_are_watched_until_a_reactor_is_hooked():
    import types

    calls = []
    package = types.ModuleType("fake_internet")
    _watch_package(package, lambda reactor: calls.append(reactor) or reactor == "real")
    assert type(package) is not types.ModuleType
    package.defer = "a submodule"  # other attributes are none of the hook's business
    package.reactor = "stand-in"  # no reactor: still watching
    package.reactor = "real"
    assert type(package) is types.ModuleType, "the module's class is back once a reactor is hooked"
    package.reactor = "later"
    assert calls == ["stand-in", "real"]
    assert package.reactor == "later" and package.defer == "a submodule"


def test_a_second_session_start_returns_the_first():
    import subprocess

    code = (
        "from reactorscope import session, config;"
        "a = session.start(config.Settings()); b = session.start(config.Settings(report=True));"
        "print(a is b)"
    )
    from helpers import python_env

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env())
    assert result.stdout.strip() == "True", result.stderr


def test_user_code_is_repeatable_on_the_command_line():
    from reactorscope.cli import RUN_VALUE_OPTIONS, run_options_parser, settings_from_options
    from reactorscope.launcher import split_command_line

    options, target = split_command_line(["--user-code", "a", "--user-code=*/b/*", "app.py", "--user-code", "x"], RUN_VALUE_OPTIONS)
    assert target.script == "app.py" and target.args == ("--user-code", "x"), "options end at the target"
    settings = settings_from_options(run_options_parser().parse_args(options))
    assert settings.user_code == ["a", "*/b/*"]
