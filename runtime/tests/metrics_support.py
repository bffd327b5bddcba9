"""Shared by the metrics tests (test_metrics.py, test_prometheus.py): run apps/metrics_app.py under the shim with
metrics on, read the address it serves from its stderr, scrape it, and parse the Prometheus text format."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple

from helpers import APPS, BOOTSTRAP, python_env

from reactorscope.config import Settings
from reactorscope.metrics import BUCKETS_S

APP = APPS / "metrics_app.py"
Series = Dict[Tuple[str, FrozenSet[Tuple[str, str]]], float]
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


LAG_INTERVAL_MS = Settings().lag_interval_ms


def bound_below(ms: float) -> float:
    """The largest bucket bound under ``ms`` milliseconds: a value of at least ``ms`` is above it."""
    return max(b for b in BUCKETS_S if b * 1000 < ms)


def get(url: str):
    """A GET straight to a loopback address (never through a proxy the environment names)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=30)


def app_line(marker: str, app: Path = APP) -> int:
    """The app's line that carries ``marker`` (a comment), 1-based."""
    lines = app.read_text().splitlines()
    return next(i + 1 for i, text in enumerate(lines) if marker in text)


def parse_exposition(text: str) -> Series:
    out: Series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line of the text format: {line!r}"
        labels = frozenset((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
                           for k, v in _LABEL.findall(match.group(2) or ""))
        key = (match.group(1), labels)
        assert key not in out, f"series twice: {line!r}"
        out[key] = float(match.group(3))
    return out


def value(series: Series, name: str, **labels: str) -> float:
    matches = [v for (n, ls), v in series.items() if n == name and set(labels.items()) <= ls]
    assert len(matches) == 1, f"{len(matches)} series {name}{labels}: {sorted(k for k in series if k[0] == name)}"
    return matches[0]


class MetricsApp:
    """apps/metrics_app.py COUNT MS [--gap S] [--go FILE] [--release FILE] under the shim, serving metrics on a port it
    picks (``how``: the command line's --metrics, or the environment's REACTORSCOPE setting)."""

    def __init__(self, count: int, ms: float, release: Optional[Path] = None, how: str = "cli",
                 go: Optional[Path] = None, gap_s: Optional[float] = None, script: Optional[Path] = None) -> None:
        """``script``: another app to run instead (no arguments)."""
        args: List[str] = [str(APP), str(count), str(ms)]
        args += ["--release", str(release)] if release else []
        args += ["--go", str(go)] if go else []
        args += ["--gap", str(gap_s)] if gap_s is not None else []
        if script is not None:
            args = [str(script)]
        if how == "cli":
            command = [sys.executable, "-m", "reactorscope", "run", "--metrics", "tcp:127.0.0.1:0", *args]
            env = python_env()
        else:  # the environment setting: the bootstrap and REACTORSCOPE's JSON (docs/runtime.md)
            command = [sys.executable, *args]
            env = python_env({"PYTHONPATH": str(BOOTSTRAP), "REACTORSCOPE": json.dumps({"metrics": "tcp:127.0.0.1:0"})})
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                        cwd=str(APPS))
        line = self.process.stderr.readline()  # type: ignore[union-attr]
        match = re.search(r"Prometheus metrics on (http://\S+)", line)
        assert match, f"no metrics address on stderr: {line!r}"
        self.url = match.group(1)
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def wait_for(self, text: str) -> None:
        """Reads the app's stdout up to the line ``text`` (the app prints a few; the test's deadline bounds it)."""
        while True:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            assert line, f"the app ended before printing {text!r}: {self.process.stderr.read()}"  # type: ignore[union-attr]
            if line.strip() == text:
                return

    def read_line(self) -> str:
        return self.process.stdout.readline().strip()  # type: ignore[union-attr]

    def scrape(self, url: Optional[str] = None) -> Tuple[str, Series]:
        with get(url or self.url) as response:
            content_type = response.headers["Content-Type"]
            return content_type, parse_exposition(response.read().decode("utf-8"))

    def stop(self) -> Tuple[int, str]:
        """SIGTERM (the reactor stops, as Twisted handles it); the exit status and the rest of stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


def wait_until(check, deadline_s: float = 60.0, every_s: float = 0.5):
    """Calls ``check`` until it returns something true (returned) or the deadline passes (the last error raised)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            result = check()
            if result:
                return result
            error: Optional[BaseException] = AssertionError(f"{check} stayed false")
        except (AssertionError, OSError) as caught:
            error = caught
        if time.monotonic() > end:
            raise error
        time.sleep(every_s)

