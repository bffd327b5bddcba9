"""Real apps on real third-party code, run under the shim as a user runs them: the nested events name the app's
function behind Twisted's or a framework's dispatcher, and the stall samples find the blocking line in it.

- dispatchers_app.py: deferLater's callable, a cooperate() generator, coiterate(map(f, ...)) and an adbapi
  (sqlite3) result's callback; before, these were ``deferLater.<locals>.cb``, no event at all (only the
  ``Cooperator._tick`` timer), and (already) the callback.
- klein_app.py: Klein's routes; before, every request was ``KleinResource.render``.
- treq_app.py: a treq response callback; before, ``content.<locals>.<lambda>`` (treq's).
- twist_site/: Twisted's own ``twist web --path`` serving an .rpy resource script.

The libraries are the test extra's (runtime/pyproject.toml) on the newest Twisted, and Debian's on Twisted 22.4
(python3-treq; Debian has no Klein: those tests are skipped there, saying so).
"""
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from helpers import APPS, Recording, first_line_of, line_of, python_env, run_shim
from reactorscope import wire

THRESHOLD_NS = 50_000_000  # the shim's default --stall-threshold; every blocking step here sleeps 150 ms
CODE_QUALNAMES = sys.version_info >= (3, 11)


def same_name(site_name: str, qualname: str) -> bool:
    return site_name == qualname or (not CODE_QUALNAMES and site_name == qualname.rsplit(".", 1)[-1])


def needs(module: str, debian_reason: str):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed: {debian_reason}")


class AppRun:
    def __init__(self, path: Path, result: subprocess.CompletedProcess, record: Path) -> None:
        self.path = path
        self.result = result
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr + result.stdout, result.stderr + result.stdout
        self.rec = Recording.read(record)
        assert self.rec.frames[-1].type == wire.GOODBYE

    def handler(self, qualname: str, kind: int, path: Path = None) -> Tuple[Dict, List[int]]:
        """The app's site for ``qualname`` (its own definition) and the durations of its events of ``kind``."""
        path = path or self.path
        sites = [s for s in self.rec.sites.values() if same_name(s["name"], qualname) and s["file"] == str(path)]
        assert sites, f"no site {qualname} in {path.name}: {self.names(kind)}"
        ids = {s["id"] for s in sites}
        for site in sites:
            assert site["line"] == first_line_of(path, qualname), "the site is the function's own definition"
        durations = [e[3] for e in self.rec.events if e[1] in ids and e[0] == kind]
        assert durations, f"no event of kind {kind} at {qualname}: {self.names(kind)}"
        return sites[0], durations

    def names(self, kind: int) -> List[str]:
        return sorted({self.rec.sites.get(e[1], {}).get("name", "?") for e in self.rec.events if e[0] == kind})

    def blocked_at(self, qualname: str, text: str, path: Path = None) -> None:
        """Most stall samples whose stack runs through ``qualname`` have the line holding ``text`` innermost."""
        path = path or self.path
        sites = self.rec.sites
        innermost: Counter = Counter()
        for stall in self.rec.stalls:
            for sample in stall["samples"]:
                stack = sample["stack"]
                if any(same_name(sites[s]["name"], qualname) and sites[s]["file"] == str(path) for s, _ in stack):
                    site, line = stack[0]
                    innermost[(sites[site]["file"], line)] += 1
        assert innermost, f"no stall sample ran through {qualname}"
        (file, line), count = innermost.most_common(1)[0]
        assert (file, line) == (str(path), line_of(path, text)), innermost.most_common(3)
        assert count * 2 > sum(innermost.values())


def run_app(tmp_path: Path, name: str, *args: str) -> AppRun:
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), "--report", str(APPS / name), *args], cwd=tmp_path)
    return AppRun(APPS / name, result, record)


@pytest.fixture(scope="module")
def dispatchers(tmp_path_factory) -> AppRun:
    return run_app(tmp_path_factory.mktemp("dispatchers"), "dispatchers_app.py")


def test_dispatchers_app_results_are_unchanged(dispatchers):
    assert "results 42 3 True" in dispatchers.result.stdout


@pytest.mark.parametrize(
    "kind,qualname,text",
    [
        # deferLater(reactor, d, slow_job): the Deferred's only callback is Twisted's closure around slow_job
        (wire.KIND_DEFERRED, "slow_job", "blocks: deferLater's callable"),
        # task.cooperate(crawl(3)): one COROUTINE event per work unit, at the generator
        (wire.KIND_COROUTINE, "crawl", "blocks: one work unit"),
        # task.coiterate(map(parse_item, ...)): a builtin iterator calling the app's function
        (wire.KIND_COROUTINE, "parse_item", "blocks: coiterate"),
        # adbapi's runQuery result, delivered by callFromThread(Deferred.callback): the app's callback
        (wire.KIND_DEFERRED, "store_rows", "blocks: the callback of the thread pool"),
    ],
)
def test_twisted_dispatchers_name_the_apps_function(dispatchers, kind, qualname, text):
    _, durations = dispatchers.handler(qualname, kind)
    assert max(durations) > THRESHOLD_NS
    dispatchers.blocked_at(qualname, text)


def test_a_cooperative_task_is_one_event_per_work_unit(dispatchers):
    _, crawl = dispatchers.handler("crawl", wire.KIND_COROUTINE)
    _, parse = dispatchers.handler("parse_item", wire.KIND_COROUTINE)
    assert len(crawl) == 4 and len(parse) == 5, "a unit per item, and the one that ends the iterator"
    assert sorted(crawl)[-2] < THRESHOLD_NS and sorted(parse)[-2] < THRESHOLD_NS, "only one unit blocks"
    names = dispatchers.names(wire.KIND_DEFERRED)
    assert "deferLater.<locals>.cb" not in names and "cb" not in names, "not Twisted's closure"


@needs("klein", "Debian has no python3-klein")
def test_klein_routes_are_the_handlers(tmp_path):
    run = run_app(tmp_path, "klein_app.py")
    assert run.result.stdout.count(" 200 ") == 4, run.result.stdout
    site, reports = run.handler("report", wire.KIND_WEB_REQUEST)
    assert len(reports) == 2 and min(reports) > THRESHOLD_NS
    _, health = run.handler("health", wire.KIND_WEB_REQUEST)
    assert len(health) == 2 and max(health) < THRESHOLD_NS
    assert "KleinResource.render" not in run.names(wire.KIND_WEB_REQUEST)
    run.blocked_at("report", "time.sleep(0.15)")
    # The report's handlers table lists web requests: the route, at its definition.
    location = f"{run.path}:{site['line']}"
    assert any(line.split()[:2] == ["report", location] for line in run.result.stderr.splitlines()), run.result.stderr


@needs("treq", "scripts/system-deps.sh installs python3-treq")
def test_a_treq_response_callback_is_the_handler(tmp_path):
    run = run_app(tmp_path, "treq_app.py")
    assert "quotes [b'QUOTE 42', b'QUOTE 42']" in run.result.stdout
    _, bodies = run.handler("on_body", wire.KIND_DEFERRED)
    assert len(bodies) == 2 and min(bodies) > THRESHOLD_NS
    run.blocked_at("on_body", "time.sleep(0.15)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_twist_web_serves_an_rpy_whose_render_blocks(tmp_path):
    site_dir = APPS / "twist_site"
    record = tmp_path / "rec.bin"
    port = free_port()
    command = [sys.executable, "-m", "reactorscope", "run", "--record", str(record), "-m", "twisted", "web",
               "--listen", f"tcp:{port}:interface=127.0.0.1", "--path", str(site_dir)]
    server = subprocess.Popen(command, env=python_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "twist web did not start"
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        bodies = [urllib.request.urlopen(f"{base}/report.rpy", timeout=30).read() for _ in range(2)]
        assert bodies == [b"report\n"] * 2
        assert urllib.request.urlopen(f"{base}/stop.rpy", timeout=30).read() == b"stopping\n"
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    run = AppRun(site_dir / "report.rpy", subprocess.CompletedProcess(command, server.returncode, out, err), record)
    _, renders = run.handler("Report.render_GET", wire.KIND_WEB_REQUEST)
    assert len(renders) == 2 and min(renders) > THRESHOLD_NS
    run.blocked_at("Report.render_GET", "time.sleep(0.15)")
