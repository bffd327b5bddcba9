"""Run the app as ``python SCRIPT`` or ``python -m MODULE`` would, with the session around it.

The app sees the same ``sys.argv``, ``sys.path[0]`` and ``__main__`` (a fresh module in ``sys.modules``, with
the globals Python gives it: ``__file__`` as Python makes it absolute, without normalising it, the
SourceFileLoader, ``__builtins__`` the module, no ``__file__`` once the script is done); a script is compiled
under that same ``__file__``, so tracebacks name the same paths. Modules, folders and zip files run through
runpy's ``_run_module_as_main``, as Python runs them. Exit code, output and uncaught exceptions (the same
traceback: the shim's frames below the app's are cut, exit status 1; KeyboardInterrupt ends by SIGINT) are as
without the shim; ends that skip Python's exit (a signal the app sends itself, as ``twist`` and ``twistd`` do,
or ``os._exit``) still finish the session (``exit_paths``). ``--fail-over`` turns an exit status of 0 into 3
when a callback blocked too long.
The shim's frames stay below the app's on the stack (``traceback.extract_stack()`` sees them): only
exceptions' tracebacks are cut.
"""
from __future__ import annotations

import builtins
import importlib.machinery
import os
import pkgutil
import runpy
import signal
import sys
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import List, Optional, Tuple

from reactorscope.config import Settings
from reactorscope import exit_paths, session as sessions

FAIL_OVER_EXIT = 3
_OWN_FILES = os.path.dirname(os.path.abspath(__file__)) + os.sep  # runpy's frames stay, as python -m shows them


@dataclass
class Target:
    script: Optional[str] = None
    module: Optional[str] = None
    args: Tuple[str, ...] = ()


def _exit_code(error: SystemExit) -> Tuple[int, Optional[str]]:
    """What Python's own handling of SystemExit would exit with, and what it would print."""
    code = error.code
    if code is None:
        return 0, None
    if isinstance(code, int):
        return code, None
    return 1, str(code)


def _app_traceback(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN_FILES):
        tb = tb.tb_next
    return tb


def _print_uncaught(error: BaseException) -> None:
    # The printed traceback is the exception's own (PyErr_Display reads __traceback__), so trim that.
    error.__traceback__ = _app_traceback(error.__traceback__)
    sys.excepthook(type(error), error, error.__traceback__)


def _set_path(target: Target) -> None:
    """``sys.path[0]`` as ``python SCRIPT`` sets it, before the session starts: the packages ``--user-code``
    names are found from there."""
    if target.script is not None:
        sys.path[0] = os.path.dirname(os.path.realpath(target.script))  # as _run_script sets it


def _fresh_main() -> ModuleType:
    """``__main__`` as Python makes it at start-up, in ``sys.modules`` for good (the shim's own module goes)."""
    main = ModuleType("__main__")
    main.__loader__ = importlib.machinery.BuiltinImporter
    main.__dict__["__annotations__"] = {}
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    return main


def _run_script(script: str) -> None:
    """What ``python SCRIPT`` does (CPython's pymain_run_file): the file's code in ``__main__``'s namespace."""
    filename = script if os.path.isabs(script) else os.path.join(os.getcwd(), script)
    if pkgutil.get_importer(filename) is not None:  # a folder or a zip file with __main__.py
        sys.path[0] = filename
        _fresh_main()
        runpy._run_module_as_main("__main__", alter_argv=False)  # type: ignore[attr-defined]
        return
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    main = _fresh_main().__dict__
    main["__file__"] = filename
    main["__cached__"] = None
    main["__loader__"] = importlib.machinery.SourceFileLoader("__main__", filename)
    with open(filename, "rb") as file:
        source = file.read()
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, main)
    finally:  # as Python: the finished script's namespace has no __file__ (atexit handlers see that)
        main.pop("__file__", None)
        main.pop("__cached__", None)


def _run_target(target: Target) -> None:
    if target.module:
        sys.argv = ["-m", *target.args]  # runpy sets argv[0] to the module's file once it is found
        _fresh_main()
        runpy._run_module_as_main(target.module, alter_argv=True)  # type: ignore[attr-defined]
    else:
        assert target.script is not None
        sys.argv = [target.script, *target.args]
        _run_script(target.script)


def run(settings: Settings, target: Target) -> int:
    _set_path(target)
    session = sessions.start(settings, module=target.module)
    exit_paths.install(session.close_before_exit)
    exit_code, reason, message = 0, "exit", None
    interrupted = False
    try:
        _run_target(target)
    except SystemExit as error:
        exit_code, message = _exit_code(error)
    except KeyboardInterrupt as error:
        interrupted = True
        exit_code, reason = 128 + signal.SIGINT, "signal"
        _print_uncaught(error)
    except BaseException as error:
        exit_code, reason = 1, "exception"
        _print_uncaught(error)
    if message is not None:
        sys.stderr.write(message + "\n")
    if session.close(exit_code, reason) and exit_code == 0:
        exit_code = FAIL_OVER_EXIT
    if interrupted:
        _die_by_sigint()
    return exit_code


def _die_by_sigint() -> None:
    """Python ends on an uncaught KeyboardInterrupt by SIGINT, so the parent sees the signal."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


def split_command_line(argv: List[str], value_options: Tuple[str, ...]) -> Tuple[List[str], Target]:
    """Splits ``[options] SCRIPT [ARGS]`` or ``[options] -m MODULE [ARGS]``: options end at the target."""
    options: List[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            if i + 1 >= len(argv):
                raise ValueError("-m needs a module name")
            return options, Target(module=argv[i + 1], args=tuple(argv[i + 2 :]))
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        take = 1 if "=" in arg or arg not in value_options else 2
        options.extend(argv[i : i + take])
        i += take
    if i >= len(argv):
        raise ValueError("give a script to run, or -m MODULE")
    return options, Target(script=argv[i], args=tuple(argv[i + 1 :]))
