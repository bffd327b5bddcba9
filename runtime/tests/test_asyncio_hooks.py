"""asyncio's own callbacks under the asyncio reactor (asyncio_hooks.py): a Task's steps and call_soon handles are
top-level callbacks, attributed to the Task's coroutine or the handle's callable, and their stalls are sampled."""
from __future__ import annotations

from reactorscope import wire

from helpers import APPS, Recording, run_shim

THRESHOLD_NS = 50_000_000


def test_asyncio_tasks_and_handles_are_timed_and_sampled(tmp_path):
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), "--report", str(APPS / "asyncio_tasks_app.py")])
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    rec = Recording.read(record)
    steps = [e for e in rec.events_at("worker", wire.KIND_TIMER) if e[3] > THRESHOLD_NS]
    assert len(steps) == 4, rec.events_at("worker")
    soon = rec.events_at("on_soon", wire.KIND_TIMER)
    assert len(soon) == 1 and soon[0][3] > THRESHOLD_NS
    worker_site = rec.site_named("worker")["id"]
    crunch = rec.site_named("crunch")["id"]
    # Each blocked step was sampled inside crunch(), the stack ending at the Task's coroutine.
    lines = {tuple(sample["stack"][0]) for stall in rec.stalls if stall["site"] == worker_site for sample in stall["samples"]}
    assert lines and all(site == crunch for site, _ in lines), lines
    assert "worker" in result.stderr and "on_soon" in result.stderr
    # Twisted's own handles (the reactor's timer, readers, callFromThread) are not asyncio callbacks of their own.
    names = {rec.sites[e[1]]["name"] for e in rec.events if e[0] == wire.KIND_TIMER and e[1] in rec.sites}
    own = {"AsyncioSelectorReactor._onTimer", "callWithLogger", "AsyncioSelectorReactor.callFromThread.<locals>.<lambda>"}
    assert names.isdisjoint(own), names
    assert {"worker", "on_soon"} <= names
