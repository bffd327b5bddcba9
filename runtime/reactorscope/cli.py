"""The `reactorscope` command line."""
from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Optional, Sequence

from reactorscope import __version__


def environment_info() -> dict[str, Optional[str]]:
    """What the extension needs to know about an interpreter before it runs an app with it."""
    try:
        import twisted  # deferred: only this command needs it

        twisted_version: Optional[str] = twisted.__version__
    except ImportError:
        twisted_version = None
    return {
        "reactorscope": __version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "twisted": twisted_version,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reactorscope", description="See what a Twisted reactor is doing and which callback blocks it."
    )
    parser.add_argument("--version", action="version", version=f"reactorscope {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("info", help="print this package's, Python's and Twisted's versions as JSON")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        print(json.dumps(environment_info()))
        return 0
    parser.print_help(sys.stderr)
    return 2
