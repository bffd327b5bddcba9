"""Reactor Scope's bootstrap: put this folder on PYTHONPATH and set REACTORSCOPE to instrument any Python
that starts with it. The next ``sitecustomize`` on the path (Debian ships one) still runs. Ignored by
``python -I``, ``-E`` and ``-S``, as every sitecustomize is.
"""
import os
import sys


def _chain_next_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import sitecustomize  # noqa: F401  (the next one, if any)
    except ImportError:
        if ours is not None:
            sys.modules["sitecustomize"] = ours
    except Exception as error:  # the other sitecustomize's own failure: report it as Python would
        sys.stderr.write(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n{type(error).__name__}: {error}\n")
    finally:
        sys.path[:] = saved


def _start() -> None:
    if "REACTORSCOPE" not in os.environ:
        return
    runtime = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if runtime not in sys.path:
        sys.path.append(runtime)  # appended: never shadows the app's own modules
    try:
        from reactorscope.autostart import start_from_environment

        start_from_environment()
    except Exception as error:
        sys.stderr.write(f"reactorscope: not started: {error!r}\n")


_chain_next_sitecustomize()
_start()
