"""One instrumented process: hooks, recorder, watchdog, sender, and their lifetimes.

Threads start lazily when the reactor starts running, so twistd's daemon fork (between installReactor and
the first iteration) happens before them; a fork after that resets the child. The shim catches its own
errors: a failure turns instrumentation off with one line on stderr, and never raises into the app.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, Optional

from reactorscope import __version__, usercode, wire
from reactorscope.asyncio_hooks import AsyncioHooks
from reactorscope.attribution import AppCode
from reactorscope.clock import Clock, SystemClock
from reactorscope.config import Settings
from reactorscope.console import say, warn
from reactorscope.defer_hooks import DeferHooks
from reactorscope.reactor_hooks import ReactorHooks
from reactorscope.recorder import Recorder
from reactorscope import prometheus_registry, report
from reactorscope.exposition import MetricsServer
from reactorscope.metrics import METRICS_STALLS_KEPT, MetricsView
from reactorscope.model import Model
from reactorscope.sender import Sender
from reactorscope.sites import SiteTable
from reactorscope.task_hooks import TaskHooks
from reactorscope.listener import Listener
from reactorscope.transport import Connector, Peer, announce, discovery_dir, record_peer
from reactorscope.watchdog import Watchdog
from reactorscope.web_hooks import WebHooks

_active: Optional["Session"] = None
_lock = threading.Lock()


class Session:
    def __init__(self, settings: Settings, clock: Optional[Clock] = None, module: Optional[str] = None) -> None:
        """``module``: what ``-m`` runs, whose package is the app's code (None for a script, or when the shim
        was started from the environment)."""
        self.settings = settings
        # What the app's code is, decided once for the run: the hooks (``session.user_code``), the report and,
        # through HELLO, the server and the extension all use this one rule.
        self.user_code = usercode.build(module, settings.user_code)
        self.sites = SiteTable()
        self.rec = Recorder(clock or SystemClock(), settings.buffer_events)
        self.reactor_hooks = ReactorHooks(self.rec, self.sites, settings.lag_interval_ms / 1e3)
        app_code = AppCode(self.user_code)  # one cache of which code is the app's, for every hook
        self.defer_hooks = DeferHooks(self.rec, self.sites, self.user_code, app_code)
        self.task_hooks = TaskHooks(self.rec, self.sites, self.user_code, app_code)
        self.asyncio_hooks = AsyncioHooks(self.rec, self.sites)
        self.web_hooks = WebHooks(self.rec, self.sites, self.user_code, app_code)
        # The hotspots model the report and --fail-over read: the server's, fed the same frames (model.py).
        # --metrics reads it too (metrics.py), with the loop's figures the sender hands it.
        self.model = Model(self.user_code) if settings.needs_summary or settings.metrics else None
        if self.model is not None and not settings.needs_summary:
            self.model.stalls_kept = METRICS_STALLS_KEPT  # metrics only: older stalls fold into per-line totals
        self.metrics: Optional[MetricsView] = None
        if settings.metrics and self.model is not None:
            self.metrics = MetricsView(self.model, self.sites, self.rec, lambda: self.reactor_hooks.reactor,
                                       lambda: self.sender.meta)
        self.metrics_server: Optional[MetricsServer] = None
        self.registry_collector: Any = None
        self.connection: Any = Connector(settings.connect, settings.token) if settings.connect else None
        limit = None if settings.record_limit_mb is None else int(settings.record_limit_mb * 1e6)
        self.recording: Optional[Peer] = record_peer(settings.record, limit) if settings.record else None
        self.sender = Sender(
            self.rec,
            self.sites,
            hello=self._hello,
            flush_interval_s=settings.flush_interval_ms / 1e3,
            gauge_interval_ns=int(settings.gauge_interval_ms * 1e6),
            connection=self.connection,
            recording=self.recording,
            model=self.model,
            reactor=lambda: self.reactor_hooks.reactor,
            before_flush=self.reactor_hooks.lag.catch_up,
            metrics=self.metrics,
        )
        self.watchdog = Watchdog(
            self.rec,
            self.sites,
            threshold_ns=int(settings.stall_threshold_ms * 1e6),
            sample_interval_ns=int(settings.sample_interval_ms * 1e6),
            stop_codes=self.reactor_hooks.stop_codes,
        )
        self.running = False
        self.closed = False
        self.disabled = False
        self.announcement: Optional[str] = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _hello(self) -> bytes:
        metadata = {
            "reactorscope": __version__,
            "python": ".".join(map(str, sys.version_info[:3])),
            "executable": sys.executable,
            "argv": list(sys.argv),
            "cwd": os.getcwd(),
            "session": self.settings.session,
            "userCode": self.user_code.describe(),
        }
        # No token: the handshake (handshake.py) proved it without sending it, and a recording keeps no secret.
        return wire.encode_hello(os.getpid(), self.rec.origin_wall_ns, metadata)

    # -- the reactor ---------------------------------------------------------------------------------

    def attach_reactor(self, reactor: Any) -> bool:
        """Called with each object installed as the reactor (right after installReactor's checks), or at once
        when the reactor already exists. True once a reactor is hooked: later installs (a test's stand-in
        reactor, with the real one still running) are left alone, and so is an object that is no reactor."""
        if self.disabled:
            return True
        if self.reactor_hooks.reactor is not None:
            return True
        try:
            if not self.reactor_hooks.install(reactor):
                return False
            if self.reactor_hooks.family == "asyncio":
                self.asyncio_hooks.install(reactor, self.reactor_hooks.open_event, self.reactor_hooks.close_timer())
                self.reactor_hooks.stop_codes.update(self.asyncio_hooks.stop_codes)
            from twisted.internet import defer

            self.defer_hooks.install(defer)
            import twisted

            self.sender.set_meta(reactor=type(reactor).__name__, twisted=twisted.__version__, family=self.reactor_hooks.family)
            if getattr(reactor, "running", False):
                self._reactor_running()
            else:
                reactor.callWhenRunning(self._reactor_running)
        except Exception as error:
            warn(f"could not hook the reactor ({error!r}); the app runs without Reactor Scope")
            self.disable()
        return True

    def attach_task(self, task: Any) -> None:
        """Called when ``twisted.internet.task`` has been imported (install_hook.when_imported)."""
        if not self.disabled:
            self.task_hooks.install(task)

    def attach_web(self, server: Any) -> None:
        """Called when ``twisted.web.server`` has been imported (install_hook.when_imported)."""
        if not self.disabled:
            self.web_hooks.install(server)

    def _reactor_running(self) -> None:
        try:
            self.rec.reactor_thread = threading.get_ident()
            self.start_threads()
            self.reactor_hooks.start_lag()
        except Exception as error:
            warn(f"could not start ({error!r}); the app runs without Reactor Scope")
            self.disable()

    def start_threads(self) -> None:
        if self.running or self.closed:
            return
        self.running = True
        if self.settings.listen and self.connection is None:
            self.connection = self.sender.connection = Listener(self.settings.listen, self.settings.token)
            self.announcement = announce(
                {
                    "pid": os.getpid(),
                    "address": self.connection.address,
                    "token": self.settings.token,
                    "argv": sys.argv,
                    "session": self.settings.session,
                }
            )
            warn(attach_hint(self.connection.address, self.announcement))
        self.sender.start()
        self.watchdog.start()
        if self.metrics is not None and self.settings.metrics:
            try:
                self.metrics_server = MetricsServer(self.settings.metrics, self.metrics)
                self.metrics_server.start()
                warn(f"Prometheus metrics on {self.metrics_server.url}")
            except OSError as error:
                self.metrics_server = None
                warn(f"could not serve metrics on {self.settings.metrics} ({error.strerror or error}); the app runs on")
            self.registry_collector = prometheus_registry.register(self.metrics)  # the app's own /metrics too

    def _after_fork_in_child(self) -> None:
        """Threads do not survive a fork; the parent's unsent data, connection and recording stay the parent's.

        A fork before the reactor ran (twistd's daemon fork) leaves the child to be the session: its threads start
        with its reactor. A child forked after the reactor started (a pre-fork server, ``os.fork()`` in a
        handler) is silent: it records nothing, sends nothing, writes nothing into the parent's recording, says
        no GOODBYE and prints no report, and never waits on a lock the parent's threads held at the fork.
        """
        forked_while_running = self.running
        self.running = False
        self.rec.reset_after_fork()
        self.sender.after_fork_in_child()
        peer = getattr(self.connection, "peer", None)
        if peer is not None:
            peer.alive = False  # drop without shutdown(): that would cut the parent's connection too
        if isinstance(self.connection, Listener):
            self.connection = self.sender.connection = None
        if self.metrics_server is not None:
            self.metrics_server.forget_after_fork()  # the parent's thread serves it; the child's copy closes
            self.metrics_server = None
        if forked_while_running:
            self.closed = True  # close() at the child's exit does nothing
            self.rec.limit = 0  # the hooks' events are dropped at once, never kept
            self.rec.samples_limit = 0
            self.rec.ticks = None  # nor are tick times kept, with no sender to take them
            self.connection = self.sender.connection = None
            self.recording = self.sender.recording = None
            self.announcement = None  # the parent's announce file is the parent's to remove

    # -- the end ---------------------------------------------------------------------------------------

    def close(self, exit_code: Optional[int] = None, reason: str = "exit") -> bool:
        """Flushes what is left, says goodbye, prints the report. True when ``--fail-over`` was exceeded."""
        if self.closed:
            return False
        self.closed = True
        try:
            self.watchdog.stop()
            self.sender.stop()
            if self.metrics_server is not None:
                self.metrics_server.close()
                self.metrics_server = None
            prometheus_registry.unregister(self.registry_collector)
            self.sender.flush(goodbye=(exit_code, reason) if exit_code is not None else None)
            if self.connection is not None:
                self.connection.close()
            if self.recording is not None:
                self.recording.close()
            if self.announcement:
                try:
                    os.unlink(self.announcement)
                except OSError:
                    pass
            if self.model is None:
                return False
            self.model.add_sites(self.sites.rows_since(0))
            if self.settings.report:
                say(report.render(self.model))
            limit = self.settings.fail_over_ms
            longest = self.model.max_top_level_ns
            if limit is not None and longest > limit * 1e6:
                warn(f"a callback held the reactor for {longest / 1e6:.1f} ms, over --fail-over {limit:g} ms")
                return True
            return False
        except Exception as error:
            warn(f"error while finishing ({error!r})")
            return False

    def close_before_exit(self, exit_code: int, reason: str) -> None:
        """``close`` for an end that skips Python's exit (``exit_paths``), in a process that ran its reactor: a
        process that forked before its reactor ran (twistd's daemonising parent, ending by ``os._exit``) leaves
        the session to its child."""
        if self.running:
            self.close(exit_code, reason)

    def disable(self) -> None:
        self.disabled = True
        self.reactor_hooks.uninstall()
        self.asyncio_hooks.uninstall()
        self.defer_hooks.uninstall()
        self.task_hooks.uninstall()
        self.web_hooks.uninstall()
        self.watchdog.stop()
        self.sender.stop()
        if self.metrics_server is not None:
            self.metrics_server.close()
            self.metrics_server = None


def attach_hint(address: str, announcement: Optional[str]) -> str:
    """What a user can do with a listening app: the attach file is how the extension finds it (and its token,
    which is never printed)."""
    if announcement:
        return (
            f"listening on {address} for Reactor Scope to attach: in VS Code, run \"Reactor Scope: Attach to Running "
            f"App\" and pick pid {os.getpid()} (it finds this app through {announcement})"
        )
    return (
        f"listening on {address}, but no attach file could be written in {discovery_dir()}, so Reactor Scope "
        "cannot find this app: make that folder yours (it follows XDG_RUNTIME_DIR, which VS Code must share) and "
        "start the app again"
    )


def start(settings: Settings, clock: Optional[Clock] = None, module: Optional[str] = None) -> Session:
    """Starts the one session of this process; a second call returns the first session. ``module``: what
    ``-m`` runs (its package is the app's code)."""
    global _active
    with _lock:
        if _active is None:
            from reactorscope.install_hook import install_reactor_hook, when_imported

            _active = Session(settings, clock, module)
            install_reactor_hook(_active.attach_reactor)
            when_imported("twisted.internet.task", _active.attach_task)
            when_imported("twisted.web.server", _active.attach_web)
        return _active


def active() -> Optional[Session]:
    return _active
