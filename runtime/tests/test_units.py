"""Unit tests with an injected clock and no reactor: sites, watchdog, sender windows, config, idempotency."""
import functools
import sys
import threading
from array import array

import pytest
from twisted.internet import task

from reactorscope import config, wire
from reactorscope.clock import ManualClock
from reactorscope.install_hook import _watch_package
from reactorscope.recorder import Recorder
from reactorscope.report import Summary
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


def test_the_watchdog_samples_only_past_the_threshold_and_names_the_blocked_line():
    clock = ManualClock()
    rec = make_recorder(clock)
    sites = SiteTable()
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=blocked_here, args=(started, release))
    worker.start()
    started.wait()
    try:
        rec.reactor_thread = worker.ident
        dog = Watchdog(rec, sites, threshold_ns=50_000_000, sample_interval_ns=5_000_000, stop_codes=set())
        assert dog.check() is False, "nothing is running"
        rec.current = [clock.now_ns(), 7, wire.KIND_TIMER, 0]
        clock.advance(49_000_000)
        assert dog.check() is False, "under the threshold"
        clock.advance(2_000_000)
        assert dog.check() is True
        (start, site, kind, t, stack) = rec.take_stall_samples()[0]
        assert (site, kind) == (7, wire.KIND_TIMER) and t - start == 51_000_000
        names = [(sites.row(s)[3], line) for s, line in stack]
        blocked_line = blocked_here.__code__.co_firstlineno + 2
        assert ("blocked_here", blocked_line) in names
    finally:
        release.set()
        worker.join()


def test_loop_windows_split_busy_and_idle_time():
    clock = ManualClock()
    rec = make_recorder(clock)
    written = []
    recording = Peer(written.append, lambda: None, "memory")

    class Running:
        running = True

    sender = Sender(rec, SiteTable(), hello=lambda: wire.encode_hello("", 1, 0, {}), flush_interval_s=1,
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
def test_the_report_shares_a_stall_between_its_lines(event_first):
    # The sender may drain a stall's end event before, with or after its samples.
    summary = Summary(sample_interval_ns=5_000_000, stall_threshold_ns=50_000_000)
    samples = [(10, 1, 1, 60, [(2, 5)]), (10, 1, 1, 65, [(2, 5)]), (10, 1, 1, 70, [(2, 9)])]
    if not event_first:
        summary.add_stall_samples(samples)
    summary.add_events(array("I", [1]), array("B", [1]), array("q", [10]), array("q", [90_000_000]))
    if event_first:
        summary.add_stall_samples(samples)
    assert summary.stalled_lines() == {(2, 5): 60_000_000, (2, 9): 30_000_000}
    assert summary.max_ns == 90_000_000


def test_web_requests_are_reported_handlers_but_not_what_held_the_reactor():
    summary = Summary(sample_interval_ns=5_000_000, stall_threshold_ns=50_000_000)
    summary.add_events(array("I", [1, 2, 3]), array("B", [wire.KIND_IO_READ, wire.KIND_WEB_REQUEST, wire.KIND_DEFERRED]),
                       array("q", [10, 11, 12]), array("q", [90_000_000, 80_000_000, 70_000_000]))
    assert sorted(summary.handlers) == [1, 2], "Deferred callbacks are not handlers"
    assert summary.max_ns == 90_000_000
    sites = SiteTable()
    for name in ("HTTPChannel.dataReceived", "Page.render_GET", "callback"):
        sites.named(name)
    assert "its time is in that read's row too" in summary.render(sites)


@pytest.mark.parametrize("address", ["tcp:127.0.0.1:80", "tcp:localhost:1", "tcp:[::1]:9", "unix:/tmp/x.sock"])
def test_loopback_and_unix_addresses_are_accepted(address):
    parse_address(address)


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
