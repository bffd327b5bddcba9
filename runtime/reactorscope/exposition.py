"""Serving the metrics view (metrics.py) to Prometheus from a thread of the shim, never the reactor thread.

- ``render``: the Prometheus text format (version 0.0.4), built in: the shim's core stays stdlib + Twisted.
- ``MetricsServer``: a stdlib HTTP server on a loopback address (``--metrics tcp:127.0.0.1:PORT``, the address
  rules of transport.py), serving ``GET /metrics`` from its own daemon thread. It reads nothing it receives but
  the request line's path, and logs nothing (the app's stderr stays the app's).

The same families also join the app's own prometheus_client registry when it has one: prometheus_registry.py.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, List, Optional, Tuple

from reactorscope.metrics import Family, Labels, MetricsView
from reactorscope.transport import AddressError, parse_address

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PATH = "/metrics"
REQUEST_TIMEOUT_S = 10.0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels) + "}"


def _value(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(families: List[Family]) -> bytes:
    lines: List[str] = []
    for family in families:
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {family.name} {help_text}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for suffix, labels, value in family.samples:
            lines.append(f"{family.name}{suffix}{_labels(labels)} {_value(value)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def metrics_address(text: str) -> Tuple[int, Tuple[str, int]]:
    """``tcp:HOST:PORT`` with a loopback host (transport.parse_address's rules); Prometheus scrapes TCP only."""
    family, address = parse_address(text)
    if isinstance(address, str):
        raise AddressError(f"refusing {text!r} for metrics: Prometheus scrapes tcp:HOST:PORT (a loopback address)")
    return family, address


class MetricsServer:
    def __init__(self, address: str, view: MetricsView) -> None:
        family, where = metrics_address(address)

        def body() -> bytes:
            return render(view.collect())

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT_S  # a client that connects and says nothing does not hold the thread

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.split("?", 1)[0] != PATH:
                    self.send_error(404)
                    return
                data = body()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the app's stderr is the app's

        class Server(HTTPServer):
            address_family = family
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a scraper that hung up is not the app's business

        self._server = Server(where, Handler, bind_and_activate=True)
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"http://[{host}]:{port}{PATH}" if ":" in host else f"http://{host}:{port}{PATH}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="reactorscope-metrics", daemon=True)
        self._thread.start()

    def forget_after_fork(self) -> None:
        """In a forked child: no thread serves here; close this process's copy of the listening socket only."""
        self._thread = None
        self._server.socket.close()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5.0)
            self._thread = None
        self._server.server_close()

