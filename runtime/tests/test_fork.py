"""A child forked after the reactor started (a pre-fork server, ``os.fork()`` in a handler) is silent: it never
hangs on a lock the parent's sender held at the fork, writes nothing into the parent's recording, and says no
GOODBYE; the parent's recording and its connection (``--connect``) each have one HELLO and one GOODBYE, its
own (issue 11, item 1)."""
import os
import signal
import subprocess
import sys

import pytest

from helpers import APPS, FakeServer, Recording, python_env
from reactorscope import wire

CHILDREN = 30
TOKEN = "fork-test-token"


@pytest.mark.parametrize("connect", [False, True], ids=["record", "record+connect"])
def test_children_forked_after_the_reactor_started_end_and_stay_out_of_the_parents_recording(tmp_path, connect):
    record = tmp_path / "rec.bin"
    out = tmp_path / "out.txt"
    server = FakeServer(token=TOKEN) if connect else None
    streaming = ["--connect", server.address] if server else []
    with out.open("w") as sink:  # a file, not a pipe: a hung child must not keep the test waiting
        process = subprocess.Popen(
            [sys.executable, "-m", "reactorscope", "run", *streaming, "--record", str(record),
             str(APPS / "fork_app.py"), str(CHILDREN)],
            stdout=sink, stderr=subprocess.STDOUT, env=python_env({"REACTORSCOPE_TOKEN": TOKEN}),
            start_new_session=True,
        )
        try:
            status = process.wait(timeout=90)
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group: hung children
            except ProcessLookupError:
                pass
            if server:
                server.close()
    text = out.read_text()
    assert status == 0, text
    assert f"parent: {CHILDREN} of {CHILDREN} children ended" in text, text
    assert sum(f"child {n} done" in text for n in range(CHILDREN)) == CHILDREN, text
    rec = Recording.read(record)
    assert len(rec.of(wire.HELLO)) == 1, "no child greeted into the parent's recording"
    assert [f.body for f in rec.of(wire.GOODBYE)] == [{"exitCode": 0, "reason": "exit"}]
    if server:
        # No child reconnected with the parent's token, or said goodbye for the parent's session.
        assert len(server.connections) == 1, f"{len(server.connections)} connections for one app"
        streamed = Recording(server.connections[0])
        assert len(streamed.of(wire.HELLO)) == 1
        assert [f.body for f in streamed.of(wire.GOODBYE)] == [{"exitCode": 0, "reason": "exit"}]
