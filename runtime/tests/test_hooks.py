"""Every callback kind, on every reactor Twisted ships for Linux, timed and attributed to the right code."""
import sys

import pytest
import twisted

from helpers import APPS, Recording, first_line_of, run_shim
from reactorscope import wire

APP = APPS / "callbacks_app.py"
REACTORS = ["epoll", "poll", "select", "asyncio"]
CODE_QUALNAMES = sys.version_info >= (3, 11)  # co_qualname; before 3.11 a code object knows only co_name


def qual(name: str, kind: int) -> str:
    """The site name the shim can give: I/O handlers are resolved through the function (which has its
    __qualname__ on every Python); timers and coroutine steps through the code object alone."""
    if CODE_QUALNAMES or kind in (wire.KIND_IO_READ, wire.KIND_IO_WRITE):
        return name
    return name.rsplit(".", 1)[-1]


@pytest.fixture(scope="module", params=REACTORS)
def recording(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "rec.bin"
    result = run_shim(["--record", str(path), str(APP), request.param])
    assert result.returncode == 0, result.stderr
    assert "'coroutine', 'deferred', 'generator', 'thread', 'timer'" in result.stdout
    return request.param, Recording.read(path)


@pytest.mark.parametrize(
    "kind,handler",
    [
        (wire.KIND_TIMER, "on_timer"),
        (wire.KIND_THREAD_CALL, "from_thread"),
        (wire.KIND_IO_READ, "Echo.dataReceived"),
        (wire.KIND_IO_READ, "Client.dataReceived"),
        (wire.KIND_DEFERRED, "deferred_callback"),
        (wire.KIND_COROUTINE, "generator_flow"),
        (wire.KIND_COROUTINE, "coroutine_flow"),
    ],
)
def test_each_callback_is_timed_and_attributed(recording, kind, handler):
    reactor_name, rec = recording
    site = rec.site_named(qual(handler, kind))
    assert site["file"] == str(APP)
    assert site["line"] == first_line_of(APP, handler)
    events = [e for e in rec.events if e[1] == site["id"] and e[0] == kind]
    assert events, f"no {handler} event of kind {kind} on {reactor_name}"
    for _, _, start, duration in events:
        assert start > 0 and 0 <= duration < 5e9


def test_the_reactor_and_twisted_are_named(recording):
    reactor_name, rec = recording
    expected = {"epoll": "EPollReactor", "poll": "PollReactor", "select": "SelectReactor", "asyncio": "AsyncioSelectorReactor"}
    assert rec.meta["reactor"] == expected[reactor_name]
    assert rec.meta["twisted"] == twisted.__version__


def test_loop_accounting_covers_the_run(recording):
    reactor_name, rec = recording
    assert rec.loops, "no LOOP frame"
    assert sum(loop["iterations"] for loop in rec.loops) > 0
    for loop in rec.loops:
        window = loop["end"] - loop["start"]
        assert 0 <= loop["busyNs"] <= window and 0 <= loop["idleNs"] <= window
        assert loop["busyNs"] + loop["idleNs"] == window


def test_gauges_are_sent(recording):
    _, rec = recording
    values = dict(rec.gauges[-1]["values"])
    assert values[wire.GAUGE_RSS] > 1e6
    assert values[wire.GAUGE_CPU_USER] > 0
    assert values[wire.GAUGE_EVENTS_DROPPED] == 0
    assert wire.GAUGE_PENDING_CALLS in values and wire.GAUGE_READERS in values


def test_the_stream_ends_with_goodbye(recording):
    _, rec = recording
    assert rec.frames[-1].type == wire.GOODBYE
    assert rec.frames[-1].body == {"exitCode": 0, "reason": "exit"}
    assert rec.frames[0].type == wire.HELLO


def test_endpoint_clients_and_each_listening_port_are_attributed_to_the_users_protocols(tmp_path):
    app = APPS / "endpoint_app.py"
    path = tmp_path / "rec.bin"
    result = run_shim(["--record", str(path), str(app)])
    assert result.returncode == 0, result.stderr
    assert "[b'echo:ping', b'hello']" in result.stdout
    rec = Recording.read(path)
    for handler in ("SlowClient.dataReceived", "GreetedClient.dataReceived", "Echo.connectionMade", "Greeter.connectionMade"):
        site = rec.site_named(handler)
        assert (site["file"], site["line"]) == (str(app), first_line_of(app, handler))
        assert [e for e in rec.events if e[1] == site["id"] and e[0] == wire.KIND_IO_READ], f"no read at {handler}"
    slow_reads = [e[3] for e in rec.events_at("SlowClient.dataReceived", wire.KIND_IO_READ)]
    assert max(slow_reads) > 90e6, "the client's blocking read is its own event"
    read_sites = {rec.sites[site]["name"] for kind, site, _, _ in rec.events if kind == wire.KIND_IO_READ}
    assert "_WrappingProtocol.dataReceived" not in read_sites, "the endpoint's wrapper is not the handler"
