"""model.py (what --report prints) against test/fixtures/hotspots/expected.json, which test/unit/hotspotsFixture.test.ts
checks the server's SessionStore against too: one recording, one expected result, both sides (hotspots_fixture.py)."""
import json

from hotspots_fixture import EXPECTED, RECORDING, computed
from reactorscope import model, report


def test_the_model_computes_the_expected_hotspots_of_the_golden_recording():
    assert computed() == json.loads(EXPECTED.read_text())


def test_the_report_of_the_golden_recording_leads_with_the_apps_handlers():
    text = report.render(model.from_recording(RECORDING.read_bytes()))
    handlers, blocked = text.split("Where the reactor was blocked")
    assert handlers.index("slow_timer") < handlers.index("(library code") < handlers.index("Deferred.callback")
    for name in ("flow", "Page.render_GET", "slow_callback"):
        row = next(line for line in handlers.splitlines() if line.strip().startswith(name + " "))
        assert row.endswith("nested"), row
    source = (RECORDING.parent / "app.py").read_text().splitlines()
    line_of = {marker: n for n, text in enumerate(source, 1) for marker in ("STEP LINE", "DISPATCHED LINE") if marker in text}
    # The step's line is credited to the coroutine (nested) and to the library timer that ran it.
    step = [line.split() for line in blocked.splitlines() if f"app.py:{line_of['STEP LINE']} " in line]
    assert [row[-1] for row in step] == ["flow", "Deferred.callback"], blocked
    # The app's function that a library callable ran, with no event of its own: found in the stall samples.
    row = next(line for line in handlers.splitlines() if line.strip().startswith("dispatched "))
    assert row.endswith("sampled"), row
    lines = [line.split() for line in blocked.splitlines() if f"app.py:{line_of['DISPATCHED LINE']} " in line]
    assert [row[-1] for row in lines] == ["dispatched", "ThreadedContextTracker.callWithContext"], blocked
