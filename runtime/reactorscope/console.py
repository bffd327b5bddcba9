"""The shim's only voice: one line on stderr, prefixed, that can never raise into the app."""
import sys


def warn(message: str) -> None:
    try:
        sys.stderr.write(f"reactorscope: {message}\n")
        sys.stderr.flush()
    except Exception:
        pass
