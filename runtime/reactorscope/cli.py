"""The ``reactorscope`` command line.

    python -m reactorscope run [options] SCRIPT [ARGS...]
    python -m reactorscope run [options] -m MODULE [ARGS...]     (twist: -m twisted ...; twistd: -m twisted.scripts.twistd ...)
    python -m reactorscope info
    python -m reactorscope export RECORDING --format perfetto|chrome|speedscope -o FILE
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Dict, List, Optional, Sequence

from reactorscope import __version__
from reactorscope.config import ENV_TOKEN, ConfigError, Settings

RUN_VALUE_OPTIONS = (
    "--connect", "--metrics", "--record", "--record-limit", "--fail-over", "--stall-threshold", "--sample-interval", "--user-code",
)


def environment_info() -> Dict[str, Optional[str]]:
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


def run_options_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reactorscope run",
        usage="reactorscope run [options] SCRIPT [ARGS...] | [options] -m MODULE [ARGS...]",
        description="Run a Twisted app with its reactor instrumented. The token for --connect/--listen comes "
        f"from the {ENV_TOKEN} environment variable.",
    )
    parser.add_argument("--connect", metavar="ADDRESS", help="stream to the telemetry server at tcp:127.0.0.1:PORT or unix:PATH")
    parser.add_argument("--listen", metavar="ADDRESS", nargs="?", const="tcp:127.0.0.1:0",
                        help="attach mode: listen (--listen, or --listen=unix:PATH; default tcp:127.0.0.1:0) for the server to connect")
    parser.add_argument("--metrics", metavar="ADDRESS",
                        help="serve Prometheus metrics at tcp:127.0.0.1:PORT (loopback only; PORT 0 picks one), "
                        "from a thread of the shim")
    parser.add_argument("--record", metavar="FILE", help="write every frame to FILE (readable up to the last flush)")
    parser.add_argument("--record-limit", metavar="MB", type=float, dest="record_limit_mb",
                        help="stop recording before FILE passes MB megabytes (default: no limit)")
    parser.add_argument("--report", action="store_true", help="print the slowest handlers and stalled lines at exit")
    parser.add_argument("--fail-over", metavar="MS", type=float, dest="fail_over_ms",
                        help="exit with status 3 when a callback held the reactor longer than MS milliseconds")
    # Defaults are Settings' (config.py), written once.
    parser.add_argument("--stall-threshold", metavar="MS", type=float, dest="stall_threshold_ms",
                        default=Settings.stall_threshold_ms,
                        help="callbacks running at least this long are stalls, with their stack samples "
                        f"(default {Settings.stall_threshold_ms:g})")
    parser.add_argument("--sample-interval", metavar="MS", type=float, dest="sample_interval_ms",
                        default=Settings.sample_interval_ms,
                        help="stack sampling interval while a callback runs; only stalls' samples are kept "
                        f"(default {Settings.sample_interval_ms:g})")
    parser.add_argument("--user-code", metavar="PKG_OR_GLOB", action="append", dest="user_code", default=[],
                        help="a package (import name) or path glob that is the app's code too (repeatable); the "
                        "report and the editor lead with the app's handlers")
    return parser


def settings_from_options(options: argparse.Namespace) -> Settings:
    token = os.environ.pop(ENV_TOKEN, "")
    if options.listen and not token:
        import secrets

        token = secrets.token_urlsafe(24)
    return Settings(
        connect=options.connect,
        listen=options.listen,
        token=token,
        metrics=options.metrics,
        record=options.record,
        record_limit_mb=options.record_limit_mb,
        report=options.report,
        fail_over_ms=options.fail_over_ms,
        stall_threshold_ms=options.stall_threshold_ms,
        sample_interval_ms=options.sample_interval_ms,
        user_code=list(options.user_code),
    ).validate()


def run_command(argv: List[str]) -> int:
    from reactorscope.launcher import run, split_command_line

    parser = run_options_parser()
    try:
        option_args, target = split_command_line(argv, RUN_VALUE_OPTIONS)
    except ValueError as error:
        if argv and argv[0] in ("-h", "--help"):
            parser.print_help()
            return 0
        parser.error(str(error))
    options = parser.parse_args(option_args)
    try:
        settings = settings_from_options(options)
    except ConfigError as error:
        parser.error(str(error))
    if target.script is not None and not os.path.exists(target.script):
        parser.error(f"no such script: {target.script}")
    return run(settings, target)


def export_command(options: argparse.Namespace) -> int:
    from reactorscope.export import export  # deferred: only this command needs it

    if not os.path.isfile(options.recording):
        print(f"reactorscope export: no such recording: {options.recording}", file=sys.stderr)
        return 2
    try:
        written = export(options.recording, options.format, options.output)
    except (ValueError, OSError) as error:
        print(f"reactorscope export: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"output": options.output, "format": options.format, **written}))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "run":
        return run_command(args[1:])
    parser = argparse.ArgumentParser(
        prog="reactorscope", description="See what a Twisted reactor is doing and which callback blocks it."
    )
    parser.add_argument("--version", action="version", version=f"reactorscope {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run a script or module with the reactor instrumented (see: run --help)")
    commands.add_parser("info", help="print this package's, Python's and Twisted's versions as JSON")
    exporting = commands.add_parser("export", help="write a recording in a format other viewers open")
    exporting.add_argument("recording", metavar="RECORDING", help="a recording (--record FILE, or one the editor kept)")
    exporting.add_argument("--format", required=True, choices=("perfetto", "chrome", "speedscope"),
                           help="perfetto: protobuf trace (ui.perfetto.dev); chrome: Trace Event JSON; speedscope: its JSON")
    exporting.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it")
    parsed = parser.parse_args(args)
    if parsed.command == "export":
        return export_command(parsed)
    if parsed.command == "info":
        print(json.dumps(environment_info()))
        return 0
    parser.print_help(sys.stderr)
    return 2
