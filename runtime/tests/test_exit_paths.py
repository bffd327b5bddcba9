"""The report, the --fail-over verdict and the recording's last frames come out however the app ends, with the
exit status as it was: servers stopped by SIGINT or SIGTERM (``twist`` and ``twistd`` kill themselves with the
signal once the reactor stopped; a plain script's reactor just stops), ``os._exit`` after a clean stop, a
signal the app sends itself (issue 16, item 9; ``reactorscope/exit_paths.py``)."""
import signal
import subprocess
import sys
import time

import pytest

from helpers import APPS, Recording, python_env, run_python, run_shim
from reactorscope import wire

EXIT_APP = APPS / "exit_app.py"
REPORT_TITLE = "Reactor Scope: slowest handlers"
WEB = ["--listen", "tcp:0:interface=127.0.0.1", "--path", str(APPS)]
SERVERS = {
    "twist": ["-m", "twisted", "web", *WEB],
    "twistd": ["-m", "reactorscope.twistd", "-n", "--pidfile=", "web", *WEB],
    "script": [str(APPS / "serve_app.py")],
}


def _serve_then_signal(command, sig, cwd):
    """Runs ``command`` until its reactor runs (its first log or tick line), then sends ``sig``; returns the
    exit status and the output."""
    process = subprocess.Popen(command, env=python_env(), cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        started = process.stdout.readline()  # twist/twistd log their start; the script says "serving"
        assert started, process.stderr.read()
        time.sleep(0.3)  # a few of the reactor's iterations, so there is something to report
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return process.returncode, started + out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_server_stopped_by_a_signal_still_reports_and_ends_its_recording(tmp_path, server, sig):
    plain_status, _, _ = _serve_then_signal([sys.executable, *SERVERS[server]], sig, tmp_path)
    record = tmp_path / "rec.bin"
    shim = [sys.executable, "-m", "reactorscope", "run", "--report", "--fail-over", "100000", "--record", str(record)]
    status, _, err = _serve_then_signal([*shim, *SERVERS[server]], sig, tmp_path)
    assert status == plain_status, err
    assert REPORT_TITLE in err, err
    frames = Recording.read(record).frames
    assert frames[-1].type == wire.GOODBYE, "the recording's last frames were lost"
    if plain_status < 0:  # killed by the signal: twist and twistd re-raise it once the reactor stopped
        assert frames[-1].body == {"exitCode": 128 - plain_status, "reason": "signal"}
    else:
        assert frames[-1].body == {"exitCode": plain_status, "reason": "exit"}


@pytest.mark.parametrize("args", [["os_exit", "0"], ["os_exit", "5"], ["signal"]], ids=["os_exit-0", "os_exit-5", "kill-self"])
def test_ends_that_skip_pythons_exit_keep_status_and_output_and_still_report(tmp_path, args):
    plain = run_python([str(EXIT_APP), *args])
    record = tmp_path / "rec.bin"
    shimmed = run_shim(["--record", str(record), "--report", str(EXIT_APP), *args])
    assert shimmed.returncode == plain.returncode
    assert shimmed.stdout == plain.stdout
    assert shimmed.stderr.startswith(plain.stderr) and REPORT_TITLE in shimmed.stderr[len(plain.stderr):]
    goodbye = Recording.read(record).frames[-1]
    assert goodbye.type == wire.GOODBYE
    if plain.returncode < 0:
        assert goodbye.body == {"exitCode": 128 - plain.returncode, "reason": "signal"}
    else:
        assert goodbye.body == {"exitCode": plain.returncode, "reason": "exit"}


def test_fail_over_is_said_at_os_exit_and_the_apps_status_stays():
    result = run_shim(["--fail-over", "0.001", str(EXIT_APP), "os_exit", "0"])
    assert result.returncode == 0, "os._exit's status is the app's"
    assert "over --fail-over 0.001 ms" in result.stderr
