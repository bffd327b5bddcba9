"""usercode.py against test/fixtures/usercode.json, the cases test/unit/userCode.test.ts checks protocol/userCode.ts
with; and the rule one run builds (the package run, --user-code, the library folders)."""
import json
import os
from pathlib import Path

import pytest

from reactorscope import usercode
from reactorscope.usercode import UserCode

CASES = json.loads((Path(__file__).resolve().parents[2] / "test" / "fixtures" / "usercode.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"][:40] for c in CASES])
def test_the_shared_cases(case):
    rule = UserCode.from_description(case["rule"])
    assert {file: rule.is_user_file(file) for file in case["files"]} == case["files"]


def test_a_description_reads_back_as_the_same_rule():
    rule = usercode.build("json", ["reactorscope", "/srv/extra/*.py"])
    again = UserCode.from_description(json.loads(json.dumps(rule.describe())))
    assert again.describe() == rule.describe()


def test_a_run_builds_its_rule_from_the_module_and_user_code():
    rule = usercode.build("json", ["pytest"])
    assert rule.is_user_file(usercode.__file__) is False, "the runtime is library code"
    assert rule.is_user_file(os.path.join(os.path.dirname(json.__file__), "decoder.py")), "the package run with -m"
    assert rule.is_user_file(pytest.__file__), "a package named with --user-code"
    assert not rule.is_user_file(os.path.join(os.path.dirname(os.__file__), "asyncio", "events.py"))
    assert rule.is_user_file("/somewhere/the/app.py")


def test_the_reactor_package_run_as_a_module_is_not_the_app():
    assert usercode.build("twisted", []).include == []


def test_a_glob_and_a_folder_from_the_command_line():
    vendored = "/venv/lib/python3.11/site-packages/vendored"
    rule = usercode.build(None, [vendored, "*/site-packages/acme_*"])
    assert rule.globs == [vendored + os.sep + "*", "*/site-packages/acme_*"]
    assert rule.is_user_file(vendored + "/api.py") and rule.is_user_file("/venv/lib/python3.11/site-packages/acme_x/a.py")
    assert not rule.is_user_file("/venv/lib/python3.11/site-packages/twisted/web/http.py")
