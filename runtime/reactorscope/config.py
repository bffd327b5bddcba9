"""The shim's settings: from the command line, or from one JSON value in the REACTORSCOPE environment variable.

The token never comes from the command line (any local user can read another's argv): it comes from the
REACTORSCOPE_TOKEN environment variable or the JSON's "token".
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

ENV_CONFIG = "REACTORSCOPE"
ENV_TOKEN = "REACTORSCOPE_TOKEN"


class ConfigError(ValueError):
    pass


@dataclass
class Settings:
    connect: Optional[str] = None
    """Address of the telemetry server: ``tcp:HOST:PORT`` (loopback only) or ``unix:PATH``."""
    listen: Optional[str] = None
    """Attach mode: listen on ``tcp:127.0.0.1:PORT`` (0 picks one) or ``unix:PATH`` and print how to connect."""
    token: str = ""
    metrics: Optional[str] = None
    """Serve Prometheus metrics at ``tcp:HOST:PORT`` (loopback only; 0 picks a port) from a thread of the shim
    (metrics.py, exposition.py)."""
    record: Optional[str] = None
    """Also write every frame to this file."""
    record_limit_mb: Optional[float] = None
    """Stop recording before the file passes this size (whole frames only)."""
    report: bool = False
    """Print a table of the slowest handlers and the stalled lines at exit (stderr)."""
    fail_over_ms: Optional[float] = None
    """Exit with status 3 (when the app itself exited 0) if any callback held the reactor longer."""
    stall_threshold_ms: float = 50.0
    sample_interval_ms: float = 5.0
    flush_interval_ms: float = 50.0
    gauge_interval_ms: float = 250.0
    lag_interval_ms: float = 50.0
    user_code: List[str] = field(default_factory=list)
    """Packages (import names) or path globs that are the app's code too, beside the package being run
    (``--user-code``; the rule is ``usercode.py``'s)."""
    buffer_events: int = 500_000
    """Events kept while the peer is slow; beyond this they are dropped and counted."""
    session: str = field(default_factory=lambda: secrets.token_hex(4))

    def validate(self) -> "Settings":
        for name in ("stall_threshold_ms", "sample_interval_ms", "flush_interval_ms", "gauge_interval_ms", "lag_interval_ms"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.record_limit_mb is not None and self.record_limit_mb <= 0:
            raise ConfigError(f"record_limit_mb must be positive, got {self.record_limit_mb}")
        if not isinstance(self.user_code, list) or not all(isinstance(spec, str) and spec for spec in self.user_code):
            raise ConfigError(f"user_code must be a list of package names or path globs, got {self.user_code!r}")
        if self.buffer_events < 1000:
            raise ConfigError(f"buffer_events must be at least 1000, got {self.buffer_events}")
        if (self.connect or self.listen) and not self.token:
            raise ConfigError(f"a token is required to connect or listen: set {ENV_TOKEN}")
        if self.connect and self.listen:
            raise ConfigError("give either connect or listen, not both")
        from reactorscope.exposition import metrics_address
        from reactorscope.transport import AddressError, parse_address

        if self.metrics is not None:
            try:
                metrics_address(self.metrics)
            except AddressError as error:
                raise ConfigError(f"metrics: {error}") from error

        for address in (self.connect, self.listen):
            if address:
                try:
                    parse_address(address)
                except AddressError as error:
                    raise ConfigError(str(error)) from error
        return self

    @property
    def needs_summary(self) -> bool:
        return self.report or self.fail_over_ms is not None


def from_json(text: str) -> Settings:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{ENV_CONFIG} is not valid JSON: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{ENV_CONFIG} must be a JSON object")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{ENV_CONFIG} has unknown settings: {', '.join(unknown)}")
    return Settings(**raw)


def take_from_environment(environ: Optional[Dict[str, Any]] = None) -> Optional[Settings]:
    """Reads and removes the variables, so child processes are not instrumented unless asked."""
    env = os.environ if environ is None else environ
    text = env.pop(ENV_CONFIG, None)
    token = env.pop(ENV_TOKEN, None)
    if text is None:
        return None
    settings = from_json(text)
    if token and not settings.token:
        settings.token = token
    return settings.validate()
