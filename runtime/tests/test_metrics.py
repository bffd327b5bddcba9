"""--metrics (and the REACTORSCOPE setting "metrics"): the Prometheus text the shim serves from its own thread,
scraped over a real socket from a real app (apps/metrics_app.py) under the shim, its figures checked against
what the app did. test_prometheus.py has a real Prometheus scrape it."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from helpers import APPS, run_shim
from metrics_support import APP, LAG_INTERVAL_MS, MetricsApp, app_line, bound_below, value, wait_until

import reactorscope
from reactorscope import wire
from reactorscope.config import ConfigError, Settings, from_json
from reactorscope.metrics import METRICS_STALLS_KEPT
from reactorscope.model import Model

ADDRESSES = json.loads((Path(__file__).resolve().parents[2] / "test" / "fixtures" / "addresses.json").read_text())
COUNT, MS = 3, 120.0


def above(series, name: str, bound: float) -> float:
    """How many observations of histogram ``name`` are above ``bound``."""
    return value(series, name + "_count") - value(series, name + "_bucket", le=repr(bound))


@pytest.mark.parametrize("how", ["cli", "env"])
def test_metrics_describe_the_run_and_answer_while_the_reactor_is_blocked(tmp_path, how):
    release = tmp_path / "release"
    app = MetricsApp(COUNT, MS, release, how)
    try:
        app.wait_for("holding")  # the reactor thread now spins until `release` exists
        hold_line = f"{APP}:{app_line('# HOLD LINE')}"

        def held_a_second():  # answered by the shim's thread while the reactor's is stuck, its samples flushed
            content_type, series = app.scrape()
            hold = ("reactorscope_stalls_total", frozenset({("function", "hold"), ("location", hold_line)}))
            return (content_type, series) if hold in series and value(series, "reactorscope_reactor_busy_ratio") == 1 else None

        content_type, series = wait_until(held_a_second)
        release.write_text("")
        app.wait_for("released")
    finally:
        release.write_text("")  # a failed check above must not leave the reactor held (SIGTERM would wait on it)
        status, err = app.stop()
    assert status == 0, err
    assert content_type.startswith("text/plain; version=0.0.4")

    stall_line = f"{APP}:{app_line('# STALL LINE')}"
    build = [labels for (name, labels) in series if name == "reactorscope_build_info"]
    assert len(build) == 1 and ("version", reactorscope.__version__) in build[0]
    assert dict(build[0])["reactor"] == "EPollReactor"

    # Each stall: one callback of the handler, at least MS long, sampled at its sleep.
    handler = {"handler": "stall"}
    assert value(series, "reactorscope_callback_duration_seconds_count", **handler) == COUNT
    assert value(series, "reactorscope_callback_duration_seconds_bucket", le="+Inf", **handler) == COUNT
    assert value(series, "reactorscope_callback_duration_seconds_bucket", le=repr(bound_below(MS)), **handler) == 0
    durations = value(series, "reactorscope_callback_duration_seconds_sum", **handler)
    assert durations >= COUNT * MS / 1000
    assert value(series, "reactorscope_stalls_total", location=stall_line) == COUNT
    held = value(series, "reactorscope_stall_held_seconds_total", location=stall_line)
    assert COUNT * MS / 2 / 1000 <= held <= durations
    # The hold is still running when scraped: its samples are there already, its callback is not finished.
    assert value(series, "reactorscope_stalls_total", function="hold", location=hold_line) == 1
    assert not [k for k in series if dict(k[1]).get("handler") == "hold"]

    # The loop: each stall is a tick of at least MS, and a lag sample of at least MS - the lag interval.
    assert above(series, "python_twisted_reactor_tick_time", bound_below(MS)) >= COUNT
    assert above(series, "reactorscope_loop_lag_seconds", bound_below(MS - LAG_INTERVAL_MS)) >= COUNT
    assert value(series, "reactorscope_reactor_busy_seconds_total") >= durations
    assert value(series, "reactorscope_events_dropped_total") == 0
    assert value(series, "reactorscope_reactor_readers") >= 1  # the reactor's waker at least


@pytest.mark.parametrize("case", ADDRESSES["accepted"], ids=[c["address"] for c in ADDRESSES["accepted"]])
def test_metrics_take_the_debug_sockets_loopback_addresses(case):
    assert from_json(json.dumps({"metrics": case["address"]})).validate().metrics == case["address"]


@pytest.mark.parametrize("address", [c["address"] for c in ADDRESSES["refused"]] + ["unix:/tmp/metrics.sock"])
def test_metrics_refuse_anything_but_loopback_tcp(address):
    with pytest.raises(ConfigError, match="metrics"):
        Settings(metrics=address).validate()
    result = run_shim(["--metrics", address, str(APP), "1", "1"])
    assert result.returncode == 2 and "metrics" in result.stderr



def test_a_port_in_use_is_said_and_the_app_runs_on():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        address = f"tcp:127.0.0.1:{taken.getsockname()[1]}"
        result = run_shim(["--metrics", address, "--report", str(APPS / "blocking_app.py")])
    assert result.returncode == 0, result.stderr
    assert f"reactorscope: could not serve metrics on {address}" in result.stderr
    assert "sleepy_handler" in result.stderr  # the run went on, measured: the report is there


def test_an_apps_own_prometheus_client_metrics_include_the_shims():
    """The app serves its prometheus_client registry itself (Twisted's MetricsResource); the shim's families join
    it, except one the app has already (its own python_twisted_reactor_tick_time, as Synapse defines)."""
    pytest.importorskip("prometheus_client")
    app = MetricsApp(0, 0, script=APPS / "client_app.py")
    try:
        own = app.read_line()
        assert own.startswith("port "), own
        app.wait_for("stalls done")
        url = f"http://127.0.0.1:{own.split()[1]}/metrics"
        stall_line = f"{APPS / 'client_app.py'}:{app_line('# STALL LINE', APPS / 'client_app.py')}"

        def with_the_stall():  # the stall's event and samples reach the model in the shim's next flushes
            _, series = app.scrape(url)
            names = {name for name, _ in series}
            done = {"reactorscope_stalls_total", "reactorscope_callback_duration_seconds_count"} <= names
            return series if done and [k for k in series if ("handler", "stall") in k[1]] else None

        series = wait_until(with_the_stall)
        _, shims = app.scrape()
    finally:
        status, err = app.stop()
    assert status == 0, err
    assert value(series, "app_stalls_total") == 1  # the app's own
    assert value(series, "reactorscope_stalls_total", location=stall_line) == 1  # the shim's, in the app's registry
    assert value(series, "reactorscope_callback_duration_seconds_count", handler="stall") == 1
    assert value(series, "reactorscope_build_info") == 1
    assert value(series, "python_twisted_reactor_tick_time_count") == 0  # the app's, never observed: not the shim's
    assert value(shims, "python_twisted_reactor_tick_time_count") > 0  # the shim's port still serves its own


def test_with_metrics_alone_old_stalls_fold_into_the_same_line_totals():
    """A long-running service must not grow with its stalls: past METRICS_STALLS_KEPT, the oldest stalled callbacks
    fold into per-line totals, and the series (line_stalls) read the same as from a model that keeps them all."""
    kept, whole = Model(), Model()
    kept.stalls_kept = METRICS_STALLS_KEPT
    for i in range(METRICS_STALLS_KEPT + 150):
        start = i * 1_000_000_000
        line = 10 + i % 3
        samples = [(start + k * 5_000_000, [(7, line), (3, 1)]) for k in range(1, 1 + i % 20)]
        for model in (kept, whole):
            model.add_stall(start, 3, wire.KIND_TIMER, samples[: len(samples) // 2])
            model.add_stall(start, 3, wire.KIND_TIMER, samples[len(samples) // 2:])  # a stall in two frames
    assert len(kept.stalls) == METRICS_STALLS_KEPT and len(whole.stalls) == METRICS_STALLS_KEPT + 150
    assert kept.line_stalls() == whole.line_stalls()
