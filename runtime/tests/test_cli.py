import json
import os
import subprocess
import sys
from pathlib import Path

import twisted

import reactorscope

RUNTIME = Path(__file__).resolve().parents[1]
PACKAGE_JSON = RUNTIME.parent / "package.json"


def run_module(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(RUNTIME))
    return subprocess.run(
        [sys.executable, "-m", "reactorscope", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_version_matches_the_extension():
    extension_version = json.loads(PACKAGE_JSON.read_text())["version"]
    assert reactorscope.__version__ == extension_version
    result = run_module("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"reactorscope {extension_version}"


def test_info_reports_the_interpreter_and_its_twisted():
    result = run_module("info")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    info["executable"] = os.path.realpath(info["executable"])
    assert info == {
        "reactorscope": reactorscope.__version__,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "executable": os.path.realpath(sys.executable),
        "twisted": twisted.__version__,
    }


def test_no_command_prints_usage_and_fails():
    result = run_module()
    assert result.returncode == 2
    assert "usage: reactorscope" in result.stderr


def test_importing_the_package_does_not_import_twisted():
    # The shim is loaded before the app; importing Twisted early would pick the reactor for it.
    code = "import sys, reactorscope; print([m for m in sys.modules if m.split('.')[0] == 'twisted'])"
    env = dict(os.environ, PYTHONPATH=str(RUNTIME))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
