"""The shim never changes what the app does: exit status, output, exceptions, argv, __main__; and it
launches scripts, modules, twist and twistd (foreground and daemonised)."""
import json
import os
import re
import signal
import sys
import time
from typing import Dict, List, Tuple

import pytest

from helpers import APPS, Recording, line_of, python_env, run_python, run_shim
from reactorscope import wire

EXIT_APP = APPS / "exit_app.py"


def both(*args, cwd=None):
    plain = run_python([str(EXIT_APP), *args], cwd=cwd)
    shimmed = run_shim([str(EXIT_APP), *args], cwd=cwd)
    return plain, shimmed


@pytest.mark.parametrize("args", [["zero"], ["code", "0"], ["code", "4"], ["code", "255"], ["message"], ["raise"]])
def test_exit_status_and_output_are_unchanged(args):
    plain, shimmed = both(*args)
    assert shimmed.returncode == plain.returncode
    assert shimmed.stdout == plain.stdout
    assert shimmed.stderr == plain.stderr


def test_an_uncaught_exception_prints_the_same_traceback():
    plain, shimmed = both("raise")
    assert plain.returncode == 1
    assert "ValueError: boom" in plain.stderr and "nested_failure" in plain.stderr
    assert shimmed.stderr == plain.stderr


def test_keyboard_interrupt_ends_by_sigint_as_python_does():
    plain, shimmed = both("interrupt")
    assert plain.returncode == -signal.SIGINT
    assert shimmed.returncode == plain.returncode
    assert shimmed.stderr == plain.stderr


def test_argv_main_and_path_are_the_apps():
    plain, shimmed = both("environment", "--flag", "value")
    assert json.loads(shimmed.stdout.splitlines()[-1]) == json.loads(plain.stdout.splitlines()[-1])
    seen = json.loads(shimmed.stdout.splitlines()[-1])
    assert seen["argv"] == [str(EXIT_APP), "environment", "--flag", "value"]
    assert seen["name"] == "__main__" and seen["main_is_this"] is True


def test_module_mode_matches_python_dash_m():
    plain = run_python(["-m", "exit_app", "environment"], cwd=APPS)
    shimmed = run_shim(["-m", "exit_app", "environment"], cwd=APPS)
    assert shimmed.returncode == plain.returncode == 0
    assert json.loads(shimmed.stdout.splitlines()[-1]) == json.loads(plain.stdout.splitlines()[-1])


def test_a_missing_script_is_a_clear_error():
    result = run_shim(["/nonexistent/app.py"])
    assert result.returncode == 2
    assert "no such script: /nonexistent/app.py" in result.stderr


def test_report_names_the_blocking_lines(tmp_path):
    app = APPS / "blocking_app.py"
    result = run_shim(["--report", str(app)])
    assert result.returncode == 0, result.stderr
    report = result.stderr
    handlers = report.split("Where the reactor was blocked")[0]
    assert "sleepy_handler" in handlers and "busy_handler" in handlers
    stalls = report.split("Where the reactor was blocked")[1]
    assert f"blocking_app.py:{line_of(app, 'BLOCKING LINE')}" in stalls
    assert f"blocking_app.py:{line_of(app, 'CPU LINE')}" in stalls


def test_report_holds_each_line_for_the_time_since_the_sample_before(tmp_path):
    # Stalls a little over the threshold: their samples and their end are drained in the same flush. Each
    # sample holds its line for the time since the previous sample of its callback (the first: since the
    # callback's start): docs/protocol.md, STALL.
    app = APPS / "short_stalls_app.py"
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), "--report", str(app)], cwd=APPS)
    assert result.returncode == 0, result.stderr
    rec = Recording.read(record)
    samples: Dict[Tuple[int, int], List[Tuple[int, int]]] = {}  # (t, innermost line; 0 for an empty stack)
    for stall in rec.stalls:
        key = (stall["callbackStart"], stall["site"])
        samples.setdefault(key, []).extend((s["t"], s["stack"][0][1] if s["stack"] else 0) for s in stall["samples"])
    assert len(samples) >= 2, "the watchdog sampled most of the three stalls"
    line = line_of(app, "SHORT STALL LINE")
    expected_ns = 0
    for (start, _site), taken in samples.items():
        previous = start
        for t, frame_line in sorted(taken):
            expected_ns += (t - previous) if frame_line == line else 0
            previous = t
    stalls = result.stderr.split("Where the reactor was blocked")[1]
    held = re.search(rf"^  short_stalls_app.py:{line}  +short_stall +~([\d.]+) ms  +short_stall$", stalls, re.M)
    assert held, result.stderr
    assert abs(float(held.group(1)) - expected_ns / 1e6) < 0.1, result.stderr


@pytest.mark.parametrize("limit,expected", [("50", 3), ("1000", 0)])
def test_fail_over_turns_a_clean_exit_into_status_3(limit, expected):
    result = run_shim(["--fail-over", limit, str(APPS / "blocking_app.py")])
    assert result.returncode == expected, result.stderr
    assert ("over --fail-over" in result.stderr) == (expected == 3)


def test_fail_over_keeps_the_apps_own_failure():
    result = run_shim(["--fail-over", "0.001", str(EXIT_APP), "code", "4"])
    assert result.returncode == 4


def test_twist_runs_as_a_module(tmp_path):
    record = tmp_path / "twist.bin"
    # twist serves until stopped: run it briefly, then interrupt it as a user would.
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-m", "reactorscope", "run", "--record", str(record), "-m", "twisted", "web",
         "--listen", "tcp:0:interface=127.0.0.1", "--path", str(APPS)],
        env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not record.exists() or b"EPollReactor" not in record.read_bytes()):
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    rec = Recording.read(record)
    assert rec.meta["reactor"] == "EPollReactor"
    assert rec.of(wire.HELLO)[0].body["metadata"]["argv"][1:3] == ["web", "--listen"]


def twistd_command():
    return ["-m", "reactorscope.twistd"]


def test_twistd_in_the_foreground(tmp_path):
    record = tmp_path / "twistd.bin"
    result = run_shim(["--record", str(record), *twistd_command(), "-n", "--pidfile=", "-y", str(APPS / "app.tac")],
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rec = Recording.read(record)
    assert rec.events_at("slow_tac_handler", wire.KIND_TIMER)
    assert rec.frames[-1].type == wire.GOODBYE


def test_twistd_fail_over_is_said_on_the_original_stderr(tmp_path):
    # twistd replaces sys.stderr with a logger that is no longer observed when the shim speaks at exit.
    result = run_shim(["--fail-over", "50", *twistd_command(), "-n", "--pidfile=", "-y", str(APPS / "app.tac")],
                      cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "over --fail-over 50 ms" in result.stderr


def test_twistd_daemonised_records_from_the_daemon(tmp_path):
    import subprocess

    record = tmp_path / "daemon.bin"
    pidfile = tmp_path / "twistd.pid"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "reactorscope", "run", "--record", str(record), *twistd_command(),
         "--pidfile", str(pidfile), "--logfile", str(tmp_path / "twistd.log"), "-y", str(APPS / "app.tac")],
        env=python_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _, stderr = launcher.communicate(timeout=30)
    assert launcher.returncode == 0, stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        frames = wire.decode_stream(record.read_bytes())
        if frames and frames[-1].type == wire.GOODBYE:
            break
        time.sleep(0.1)
    rec = Recording.read(record)
    assert rec.events_at("slow_tac_handler", wire.KIND_TIMER)
    assert rec.frames[-1].type == wire.GOODBYE
    assert rec.of(wire.HELLO)[0].body["pid"] != launcher.pid, "recorded by the daemon child, not the launcher"
    assert not pidfile.exists()


def _vendored_app(tmp_path):
    """A package run with -m (``shop``) whose slow Deferred callback is in a package installed under a
    site-packages folder (``vendored``): library code by its path, unless ``--user-code`` names it."""
    site = tmp_path / "site-packages" / "vendored"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text(
        "import time\n\ndef slow(result):\n    time.sleep(0.08)  # VENDORED LINE\n    return result\n"
    )
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "__init__.py").write_text("")
    (shop / "__main__.py").write_text(
        "from twisted.internet import defer, reactor\nimport vendored\n\n"
        "d = defer.Deferred()\nd.addCallback(vendored.slow)\n"
        "reactor.callLater(0.01, d.callback, None)\nreactor.callLater(0.2, reactor.stop)\nreactor.run()\n"
    )
    env = python_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site-packages"), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("named", [False, True])
def test_user_code_names_a_package_whose_nested_handlers_then_lead_the_report(tmp_path, named):
    env = _vendored_app(tmp_path)
    record = tmp_path / "rec.bin"
    options = ["--user-code", "vendored"] if named else []
    result = run_shim(["--record", str(record), "--report", *options, "-m", "shop"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rule = Recording.read(record).of(wire.HELLO)[0].body["metadata"]["userCode"]
    assert str(tmp_path / "shop") + os.sep in rule["include"], "the package run with -m is the app's"
    assert (str(tmp_path / "site-packages" / "vendored") + os.sep in rule["include"]) == named
    handlers = result.stderr.split("Where the reactor was blocked")[0]
    rows = [line.split() for line in handlers.splitlines() if line.strip().startswith("slow ")]
    if named:
        assert rows and rows[0][-1] == "nested", handlers
        assert handlers.index("slow ") < handlers.index("(library code"), "a named package is the app's code"
    else:
        assert not rows, "a package under site-packages is library code: its Deferred callback is no handler"
