"""The stall sampler under the real shim: callbacks a little over the threshold, which end in a short decoy,
have their held time at the line they spent it on (issue 10, "the right line"). An accuracy check, never a
timed one: the figure is how the samples share the callbacks' time, whatever the machine's speed."""
from helpers import APPS, Recording, held_by_line, line_of, run_shim

APP = APPS / "near_threshold_app.py"
COUNT = 40


def test_callbacks_just_over_the_threshold_are_held_at_their_true_line(tmp_path):
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), str(APP), str(COUNT)], cwd=APPS)
    assert result.returncode == 0, result.stderr
    rec = Recording.read(record)
    handlers = rec.events_at("handler")
    assert len(handlers) == COUNT
    starts = {start for _, _, start, _ in handlers}
    sampled = {stall["callbackStart"] for stall in rec.stalls}
    assert sampled <= starts, "only the stalled callbacks have samples"
    assert len(sampled) >= 0.9 * COUNT, f"{len(sampled)} of {COUNT} stalls were sampled"

    held = held_by_line(rec.stalls)
    spin = rec.site_named("spin")["id"]
    decoy = rec.site_named("decoy")["id"]
    true_line = held.get((spin, line_of(APP, "TRUE LINE")), 0)
    decoy_line = held.get((decoy, line_of(APP, "DECOY LINE")), 0)
    total = sum(held.values())
    shares = {key: round(ns / total, 3) for key, ns in held.items()}
    assert true_line >= 0.9 * total, f"true line {true_line / total:.3f} of the held time; all: {shares}"
    assert decoy_line < true_line
    # The samples cover the stalls: held time is the sampled callbacks' time up to their last samples.
    stalled_ns = sum(duration for _, _, start, duration in handlers if start in sampled)
    assert 0.7 * stalled_ns <= total <= stalled_ns


def test_short_callbacks_leave_no_samples(tmp_path):
    # A storm of callbacks far under the threshold: the sampler takes samples of them and drops them all.
    app = tmp_path / "short.py"
    app.write_text(
        "import time\n"
        "from twisted.internet import reactor\n"
        "def short(left):\n"
        "    time.sleep(0.002)\n"
        "    if left: reactor.callLater(0, short, left - 1)\n"
        "    else: reactor.stop()\n"
        "reactor.callLater(0, short, 200)\n"
        "reactor.run()\n"
    )
    record = tmp_path / "rec.bin"
    result = run_shim(["--record", str(record), str(app)])
    assert result.returncode == 0, result.stderr
    rec = Recording.read(record)
    assert len(rec.events_at("short")) == 201
    assert rec.stalls == []
