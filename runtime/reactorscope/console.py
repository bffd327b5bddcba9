"""The shim's only voice: lines on the process's original stderr, prefixed, that can never raise into the app.

Original, not ``sys.stderr``: twistd replaces that with a logger that nothing observes any more at exit, so
the report and ``--fail-over``'s message would be lost.
"""
import sys


def say(text: str) -> None:
    try:
        stream = sys.__stderr__ or sys.stderr
        stream.write(text)
        stream.flush()
    except Exception:
        pass


def warn(message: str) -> None:
    say(f"reactorscope: {message}\n")
