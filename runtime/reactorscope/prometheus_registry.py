"""The metrics view (metrics.py) in the app's own ``prometheus_client`` registry, when the app has one.

An app that already exposes ``/metrics`` with prometheus_client (``start_http_server``, the Twisted
``MetricsResource``, a WSGI app) then includes the shim's series with its own, collected in whatever thread
serves it (the reactor's, for ``MetricsResource``: that collection costs the reactor, as the app chose). It is
only used when the app has imported prometheus_client itself: the shim never imports it (the shim's core stays
stdlib + Twisted, and an import would change what the app sees). Families the registry already has (an app
that runs Synapse's own ``python_twisted_reactor_tick_time``) are left out, so no series is exposed twice.
"""
from __future__ import annotations

import sys
from typing import Any, Iterator, List, Optional

from reactorscope.metrics import MetricsView


def register(view: MetricsView) -> Optional[Any]:
    """Adds a collector of ``view`` to the app's default registry; returns it, or None when the app has no
    prometheus_client (or it cannot take one)."""
    client = sys.modules.get("prometheus_client")
    if client is None:
        return None
    try:
        from prometheus_client.core import REGISTRY, Metric
    except ImportError:
        return None

    class ReactorScopeCollector:
        def describe(self) -> List[Any]:
            return []  # our names depend on what the registry has when collected (see collect)

        def collect(self) -> Iterator[Any]:
            taken = set(getattr(REGISTRY, "_names_to_collectors", {}))
            for family in view.collect():
                counter = family.type == "counter"
                name = family.name[: -len("_total")] if counter and family.name.endswith("_total") else family.name
                if family.name in taken or name in taken:
                    continue
                metric = Metric(name, family.help, family.type)
                for suffix, labels, value in family.samples:
                    metric.add_sample(family.name + suffix, dict(labels), value)
                yield metric

    collector = ReactorScopeCollector()
    try:
        REGISTRY.register(collector)
    except Exception:
        return None
    return collector


def unregister(collector: Optional[Any]) -> None:
    if collector is None:
        return
    try:
        from prometheus_client.core import REGISTRY

        REGISTRY.unregister(collector)
    except Exception:
        pass
