"""Recording files: private to their user, and EVENTS frames small enough for the server to decode in pieces.
The Python decoder says where a stream broke, as protocol/wire.ts does."""
import os
import stat
import struct
from array import array

import pytest

from reactorscope import wire
from reactorscope.clock import ManualClock
from reactorscope.recorder import Recorder
from reactorscope.sender import Sender
from reactorscope.sites import SiteTable
from reactorscope.transport import record_peer

from helpers import APPS, Recording, run_shim

MIB = 1024 * 1024


def frame_headers(data: bytes):
    """(type, payload length) of each frame of a whole stream, read from the headers alone."""
    at = len(wire.PREAMBLE)
    while at < len(data):
        length, frame_type = struct.unpack_from("<IB", data, at)
        yield frame_type, length
        at += 8 + length


def record_a_real_run(record):
    """Runs blocking_app.py under the shim with --record, umask 022 as most users have it."""
    result = run_shim(["--record", str(record), str(APPS / "blocking_app.py")], cwd=APPS,
                      preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    assert Recording.read(record).events_at("sleepy_handler")


def test_a_real_run_creates_its_recording_0600(tmp_path):
    record = tmp_path / "app.rsrec"
    record_a_real_run(record)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600


def test_folders_a_real_run_creates_for_its_recording_are_0700(tmp_path):
    record = tmp_path / "runs" / "today" / "app.rsrec"
    record_a_real_run(record)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "runs" / "today").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "runs").stat().st_mode) == 0o700


def test_an_older_recording_of_ours_that_others_could_read_is_made_private(tmp_path):
    record = tmp_path / "old.rsrec"
    record.write_bytes(b"an older run")
    record.chmod(0o644)
    peer = record_peer(str(record))
    peer.send(wire.PREAMBLE)
    peer.close()
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert record.read_bytes() == wire.PREAMBLE


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root")
def test_another_users_file_is_neither_recorded_into_nor_truncated(tmp_path):
    record = tmp_path / "theirs.rsrec"
    record.write_bytes(b"their data")
    os.chown(record, 65534, 65534)
    with pytest.raises(PermissionError, match="another user"):
        record_peer(str(record))
    assert record.read_bytes() == b"their data"


def test_a_big_flush_goes_out_in_events_frames_well_under_a_mebibyte(tmp_path):
    clock = ManualClock()
    rec = Recorder(clock, buffer_events=100_000)
    n = 60_000  # one flush's worth on a busy reactor: 1.26 MB of columns
    for i in range(n):
        rec.events.extend((wire.KIND_TIMER if i % 2 else wire.KIND_DEFERRED, 1 + i % 50, 1000 * i, i))
    path = tmp_path / "big.rsrec"
    sender = Sender(rec, SiteTable(), hello=lambda: wire.encode_hello(1, 0, {}), flush_interval_s=1,
                    gauge_interval_ns=10**12, recording=record_peer(str(path)))
    sender.flush()
    sender.recording.close()
    data = path.read_bytes()
    sizes = [length for frame_type, length in frame_headers(data) if frame_type == wire.EVENTS]
    assert len(sizes) > 1 and max(sizes) < MIB // 2, sizes
    events = Recording(wire.decode_stream(data)).events
    assert events == [(wire.KIND_TIMER if i % 2 else wire.KIND_DEFERRED, 1 + i % 50, 1000 * i, i) for i in range(n)]


def test_the_decoder_says_where_a_stream_broke():
    meta = wire.encode_meta({"reactor": "EPollReactor"})
    events = wire.encode_events(*(array(t, v) for t, v in (("q", [5]), ("q", [7]), ("I", [1]), ("B", [1]))))
    decoder = wire.StreamDecoder()
    frames = []
    with pytest.raises(wire.ProtocolError, match="frame type 0") as caught:
        for frame in decoder.feed(wire.PREAMBLE + meta + events + bytes(64)):
            frames.append(frame)
    assert [f.type for f in frames] == [wire.META, wire.EVENTS]
    assert (caught.value.offset, caught.value.frame) == (len(wire.PREAMBLE) + len(meta) + len(events), 2)
    with pytest.raises(wire.ProtocolError, match="magic") as caught:
        list(wire.StreamDecoder().feed(b"\0" * 16))
    assert (caught.value.offset, caught.value.frame) == (0, -1)
