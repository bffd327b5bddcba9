"""Apps started by something else: REACTORSCOPE (JSON settings) plus the bootstrap folder on PYTHONPATH."""
import json
import os

from helpers import APPS, BOOTSTRAP, RUNTIME, Recording, python_env, run_python
from reactorscope import wire



def env_for(settings, extra_path=()):
    env = python_env()
    env["PYTHONPATH"] = os.pathsep.join([str(BOOTSTRAP), *map(str, extra_path)])  # no runtime/: the bootstrap finds it
    env["REACTORSCOPE"] = json.dumps(settings)
    return env


def test_the_environment_variable_instruments_a_plain_python(tmp_path):
    record = tmp_path / "rec.bin"
    result = run_python([str(APPS / "blocking_app.py")], env=env_for({"record": str(record)}))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rec = Recording.read(record)
    assert rec.events_at("sleepy_handler", wire.KIND_TIMER)
    assert rec.frames[0].type == wire.HELLO


def test_the_variables_are_removed_so_children_are_not_instrumented(tmp_path):
    code = "import json, os; print(json.dumps(sorted(k for k in os.environ if k.startswith('REACTORSCOPE'))))"
    env = env_for({"record": str(tmp_path / "r.bin")})
    env["REACTORSCOPE_TOKEN"] = "secret"
    result = run_python(["-c", code], env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_another_sitecustomize_still_runs(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import builtins\nbuiltins.OTHER_SITECUSTOMIZE_RAN = True\n")
    code = "import builtins; print(getattr(builtins, 'OTHER_SITECUSTOMIZE_RAN', False))"
    result = run_python(["-c", code], env=env_for({"record": str(tmp_path / "r.bin")}, [other]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_without_the_variable_nothing_is_loaded():
    env = python_env()
    env["PYTHONPATH"] = str(BOOTSTRAP)
    result = run_python(["-c", "import sys; print('reactorscope' in sys.modules)"], env=env)
    assert result.stdout.strip() == "False"


def test_bad_settings_are_reported_and_the_app_still_runs():
    env = env_for({"no_such_setting": 1})
    result = run_python(["-c", "print('app ran')"], env=env)
    assert result.returncode == 0
    assert result.stdout.strip() == "app ran"
    assert "reactorscope: not started: REACTORSCOPE has unknown settings: no_such_setting" in result.stderr


def test_the_runtime_folder_is_found_from_the_bootstrap():
    assert (BOOTSTRAP.parent.parent / "reactorscope" / "__init__.py").exists()
    assert BOOTSTRAP.parent.parent == RUNTIME
