"""A real Prometheus (Debian's ``prometheus``, installed by scripts/system-deps.sh) scrapes an app run under the
shim with --metrics: its HTTP API must answer the series with what the app did (COUNT stalls of MS at a known
line), and every panel of the Grafana dashboard (docs/grafana/reactorscope.json) must return data.

Waits have deadlines; nothing here is timed. Skipped, saying so, where no ``prometheus`` is installed."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from metrics_support import APP, MetricsApp, app_line, bound_below, get, wait_until

import reactorscope

PROMETHEUS = shutil.which("prometheus")
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "reactorscope.json"
COUNT, MS = 4, 150.0
SCRAPE_INTERVAL_S = 1
# Stalls further apart than a scrape interval: the handler's series exists before its last stalls, so rate() and
# increase() over them are not 0.
GAP_S = 1.5 * SCRAPE_INTERVAL_S
# Grafana's variables, as the dashboard's panels would be evaluated over a range that holds the whole test.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1m", "$job": ".*"}

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="no prometheus installed (scripts/system-deps.sh installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, folder: Path, target_port: int) -> None:
        config = folder / "prometheus.yml"
        config.write_text(
            f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
            "scrape_configs:\n  - job_name: reactorscope-test\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        )
        self.port = free_port()
        self.log = (folder / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_until(lambda: get(f"http://127.0.0.1:{self.port}/-/ready").status == 200)

    def query(self, expression: str):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        with get(url) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expression: str) -> float:
        result = self.query(expression)
        assert len(result) == 1, f"{expression}: {result}"
        return float(result[0]["value"][1])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def panel_queries():
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expression = target["expr"]
            for name, value in GRAFANA_VARIABLES.items():
                expression = expression.replace(name, value)
            assert "$" not in expression, f"a Grafana variable the test does not know: {target['expr']}"
            yield panel["title"], target["refId"], expression


def test_a_real_prometheus_reads_the_stalls_and_every_dashboard_panel_has_data(tmp_path):
    go = tmp_path / "go"
    app = MetricsApp(COUNT, MS, go=go, gap_s=GAP_S)
    prometheus = Prometheus(tmp_path, app.port)
    try:
        job = '{job="reactorscope-test"}'
        wait_until(lambda: prometheus.value(f"up{job}") == 1)
        go.write_text("")  # the stalls start once Prometheus has scraped the app: increase() and rate() see them
        app.wait_for("stalls done")
        stall_line = f'location="{APP}:{app_line("# STALL LINE")}"'
        handler = 'handler="stall"'
        wait_until(lambda: prometheus.query(f"reactorscope_stalls_total{{{stall_line}}} == {COUNT}")
                   and prometheus.query(f"reactorscope_callback_duration_seconds_count{{{handler}}} == {COUNT}"))

        build = prometheus.query(f"reactorscope_build_info{job}")
        assert [r["metric"]["version"] for r in build] == [reactorscope.__version__]
        assert prometheus.value(f"reactorscope_callback_duration_seconds_count{{{handler}}}") == COUNT
        assert prometheus.value(f'reactorscope_callback_duration_seconds_bucket{{{handler},le="+Inf"}}') == COUNT
        assert prometheus.value(f'reactorscope_callback_duration_seconds_bucket{{{handler},le="{bound_below(MS)!r}"}}') == 0
        durations = prometheus.value(f"reactorscope_callback_duration_seconds_sum{{{handler}}}")
        assert durations >= COUNT * MS / 1000
        held = prometheus.value(f"reactorscope_stall_held_seconds_total{{{stall_line}}}")
        assert COUNT * MS / 2 / 1000 <= held <= durations  # samples every few ms, within the callbacks
        ticks = ('python_twisted_reactor_tick_time_count - ignoring(le) '
                 f'python_twisted_reactor_tick_time_bucket{{le="{bound_below(MS)!r}"}}')
        assert prometheus.value(ticks) >= COUNT
        assert prometheus.value("reactorscope_reactor_busy_seconds_total") >= durations
        assert prometheus.value("reactorscope_events_dropped_total") == 0

        # The dashboard: every panel's every query returns data, and the stall panels name the app's line.
        wait_until(lambda: all(prometheus.query(expression) for _, _, expression in panel_queries()))
        for title, ref, expression in panel_queries():
            result = prometheus.query(expression)
            assert result, f"panel {title!r} query {ref} returned no data: {expression}"
            if title in ("Stalls by blocking line", "Slowest handlers (time held per second)"):
                top = max(result, key=lambda r: float(r["value"][1]))["metric"]
                assert top.get("handler", top.get("function")) == "stall", (title, result)
    finally:
        prometheus.stop()
        status, err = app.stop()
    assert status == 0, err
