"""Ends that skip Python's exit still finish the session: the report, the ``--fail-over`` verdict, the last
frames of the stream and the recording, GOODBYE with the status the parent will see.

Servers usually end without reaching the code after the app or the atexit handlers. Twisted's ``twist`` and
``twistd`` stop the reactor on SIGINT or SIGTERM and then kill themselves with the same signal
(``twisted.application.app._exitWithSignal``), so that a shell sees them killed by it; a process that is
done may call ``os._exit``. ``os.kill``, ``os.killpg`` and ``os._exit`` are wrapped (same name, module and
docstring; they cost nothing until called) to see these ends before they happen:

- a kill aimed at this process whose signal ends it (its disposition is the default and the default
  terminates) closes the session first, with exit status ``128 + signal`` and reason ``signal``, as the launcher
  reports a KeyboardInterrupt;
- ``os._exit`` closes the session with the status it exits with.

An audit hook (PEP 578) would see ``os.kill`` without a wrapper, but it runs on every audited event, among them
``sys._getframe`` (18 ns became 157 ns with a hook that returned at once), which the hooks call per callback.

The kill and the exit then go on exactly as the app asked: same signal, same status (``--fail-over`` is said
but cannot change a status the app chose). A forked child's session is already closed, so a child's
``os._exit`` (Twisted's process spawning, multiprocessing) goes straight through.
"""
from __future__ import annotations

import functools
import os
import signal
from typing import Any, Callable, Optional

# Signals whose default action does not end the process (POSIX: ignore, stop or continue).
_NOT_ENDING = frozenset(
    getattr(signal, name)
    for name in ("SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGWINCH")
    if hasattr(signal, name)
)

Close = Callable[[int, str], Any]

_close: Optional[Close] = None
_hooked = False


def _ends_this_process(target: int, sig: int, group: bool) -> bool:
    """Whether ``kill(target, sig)`` (``killpg`` when ``group``) will end this process by its default action."""
    if group:
        aimed = target in (0, os.getpgrp())
    else:
        aimed = target == os.getpid() or target == 0 or target == -os.getpgrp()
    if not aimed or sig == 0 or sig in _NOT_ENDING:
        return False
    if sig == getattr(signal, "SIGKILL", None):
        return True
    try:
        return signal.getsignal(sig) == signal.SIG_DFL
    except (ValueError, OSError):  # not a signal Python knows (e.g. a real-time one): assume its default
        return True


def _before_kill(target: Any, sig: Any, group: bool) -> None:
    close = _close
    if close is None:
        return
    try:
        if _ends_this_process(int(target), int(sig), group):
            close(128 + int(sig), "signal")
    except Exception:  # never let the shim change whether or how the kill happens
        pass


def _wrap_kill(real: Callable[[int, int], None], group: bool) -> Callable[[int, int], None]:
    @functools.wraps(real)
    def kill(target: int, sig: int, /) -> None:
        _before_kill(target, sig, group)
        real(target, sig)

    return kill


def install(close: Close) -> None:
    """Calls ``close(status, reason)`` before this process ends by a signal it sends itself or by ``os._exit``.
    ``close`` must be idempotent (the session's is). Once per process; later calls change the target."""
    global _close, _hooked
    _close = close
    if _hooked:
        return
    _hooked = True
    os.kill = _wrap_kill(os.kill, group=False)  # type: ignore[assignment]
    if hasattr(os, "killpg"):
        os.killpg = _wrap_kill(os.killpg, group=True)  # type: ignore[assignment]
    real_exit = os._exit

    @functools.wraps(real_exit)
    def _exit(status: int) -> None:  # type: ignore[misc]
        target = _close
        if target is not None:
            try:
                target(int(status), "exit")
            except Exception:
                pass
        real_exit(status)

    os._exit = _exit  # type: ignore[assignment]


def uninstall() -> None:
    """Nothing is called any more (the wrappers stay, calling straight through)."""
    global _close
    _close = None
