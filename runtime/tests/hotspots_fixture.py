"""test/fixtures/hotspots/: one golden recording (recording.rsrec, made by running app.py there under the shim)
and the hotspots expected from it (expected.json). runtime/tests/test_hotspots_fixture.py checks model.py against
the file, and test/unit/hotspotsFixture.test.ts checks the server's SessionStore against the same file, so either
side diverging from the other fails.

expected.json is written from model.py once, and again only when the model changes on purpose (then check the
diff by hand, and make the TypeScript side agree):

    python runtime/tests/hotspots_fixture.py --write

To record again (new kinds of handler, a format change): see test/fixtures/hotspots/README.md.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict

from reactorscope import model

FIXTURE = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "hotspots"
RECORDING = FIXTURE / "recording.rsrec"
EXPECTED = FIXTURE / "expected.json"


def computed() -> Dict[str, Any]:
    """What model.py makes of the recording, in expected.json's shape."""
    recorded = model.from_recording(RECORDING.read_bytes())
    return {
        "about": "The hotspots of recording.rsrec, longest total first, as model.py (--report) and the server's "
        "SessionStore.hotspots() (the editor) must both compute them; userCode: by the session's rule. "
        "Regenerate with: python runtime/tests/hotspots_fixture.py --write (README.md).",
        "handlers": [
            {**model.summary_of(spot), "userCode": recorded.is_user_file(spot.file)} for spot in recorded.hotspots()
        ],
    }


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    EXPECTED.write_text(json.dumps(computed(), indent=2) + "\n")
    print(f"wrote {EXPECTED}")
