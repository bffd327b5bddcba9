"""Start from the environment: for apps started by something else (a process manager, a test runner).

``_bootstrap/sitecustomize.py`` on PYTHONPATH calls ``start_from_environment`` when REACTORSCOPE holds the
settings as JSON. The variables are removed, so child Pythons are not instrumented unless asked. The exit
status is not known at exit here, so the stream ends without GOODBYE and ``fail_over_ms`` is not applied.
"""
from __future__ import annotations

import atexit
from typing import Optional

from reactorscope.config import ConfigError, take_from_environment
from reactorscope import exit_paths
from reactorscope.console import warn
from reactorscope.session import Session, start


def start_from_environment() -> Optional[Session]:
    try:
        settings = take_from_environment()
    except ConfigError as error:
        warn(f"not started: {error}")
        return None
    if settings is None:
        return None
    session = start(settings)
    atexit.register(session.close)
    exit_paths.install(session.close_before_exit)
    return session
