"""Ends that skip Python's exit still finish the session: the report, the ``--fail-over`` verdict, the last
frames of the stream and the recording, GOODBYE with the status the parent will see.

Servers usually end without reaching the code after the app or the atexit handlers. Twisted's ``twist`` and
``twistd`` stop the reactor on SIGINT or SIGTERM and then kill themselves with the same signal
(``twisted.application.app._exitWithSignal``), so that a shell sees them killed by it; a process that is
done may call ``os._exit``. Two watch points see these ends before they happen:

- an audit hook (PEP 578; it cannot be removed, and costs one string comparison per audited event) sees
  ``os.kill`` / ``os.killpg`` aimed at this process. When the signal ends the process (its disposition is the
  default and the default terminates) the session closes first, with exit status ``128 + signal`` and reason
  ``signal``, as the launcher reports a KeyboardInterrupt;
- ``os._exit`` is wrapped (same name, module and docstring) to close the session with the status it exits with.

The kill and the exit then go on exactly as the app asked: same signal, same status (``--fail-over`` is said
but cannot change a status the app chose). A forked child's session is already closed, so a child's
``os._exit`` (Twisted's process spawning, multiprocessing) goes straight through.
"""
from __future__ import annotations

import functools
import os
import signal
import sys
from typing import Any, Callable, Optional, Tuple

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


def _audit(event: str, args: Tuple[Any, ...]) -> None:
    if event != "os.kill" and event != "os.killpg":
        return
    close = _close
    if close is None:
        return
    try:
        target, sig = int(args[0]), int(args[1])
        if _ends_this_process(target, sig, event == "os.killpg"):
            close(128 + sig, "signal")
    except Exception:  # never let the shim change whether the kill happens
        pass


def install(close: Close) -> None:
    """Calls ``close(status, reason)`` before this process ends by a signal it sends itself or by ``os._exit``.
    ``close`` must be idempotent (the session's is). Once per process; later calls change the target."""
    global _close, _hooked
    _close = close
    if _hooked:
        return
    _hooked = True
    sys.addaudithook(_audit)
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
    """Nothing is called any more (the audit hook stays, as PEP 578 hooks do, and returns at once)."""
    global _close
    _close = None
