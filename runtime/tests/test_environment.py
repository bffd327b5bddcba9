"""Which Twisted this run tests: npm test runs pytest twice (scripts/test.mjs), on the newest Twisted in .venv and
on Debian's python3-twisted, and says which through REACTORSCOPE_EXPECT_TWISTED; a run on the wrong one (a
PYTHONPATH or a venv that leaks) must not pass as the other. Run by hand without it, this test is skipped."""
import os
import shutil
import subprocess
import sys

import pytest
import twisted

EXPECTED = os.environ.get("REACTORSCOPE_EXPECT_TWISTED")


def _version(text):
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def _debian_version():
    """python3-twisted's upstream version, as dpkg has it (``22.4.0-4+deb12u1`` gives 22.4.0)."""
    if shutil.which("dpkg-query") is None:
        pytest.skip("no dpkg-query on this machine")
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-twisted"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("python3-twisted is not installed")
    return out.stdout.split("-")[0]


@pytest.mark.skipif(EXPECTED is None, reason="REACTORSCOPE_EXPECT_TWISTED is set by npm test only")
def test_the_twisted_under_test_is_the_one_this_run_names():
    debian = _debian_version()
    if EXPECTED == "debian":
        assert twisted.__version__ == debian, f"Twisted {twisted.__version__} from {twisted.__file__}"
        assert twisted.__file__.startswith("/usr/lib/python3/dist-packages/"), twisted.__file__
    else:
        assert EXPECTED == "newest", EXPECTED
        assert sys.prefix != sys.base_prefix, "a virtual environment"
        assert twisted.__file__.startswith(sys.prefix), twisted.__file__
        assert _version(twisted.__version__) > _version(debian), f"Twisted {twisted.__version__}, Debian's {debian}"
