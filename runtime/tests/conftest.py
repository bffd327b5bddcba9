import sys
from pathlib import Path

# The runtime under test is this tree's, whatever the working folder (scripts/test.mjs runs pytest in
# runtime/; `python -m pytest runtime/tests` from the repository root works too).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import twisted  # noqa: E402


def pytest_report_header(config):
    return f"twisted {twisted.__version__} from {twisted.__file__}"
