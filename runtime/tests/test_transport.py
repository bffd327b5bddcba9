"""Streaming to a real socket: the handshake, reconnects, drops when the peer is gone or stuck, attach mode.
What a peer that does not know the token gets (impostors, replays): test_handshake.py."""
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import APPS, TOKEN, FakeServer, Recording, attach, python_env, read_until, run_python, run_shim
from reactorscope import transport, wire
TICKING = str(APPS / "ticking_app.py")


def token_env():
    return python_env({"REACTORSCOPE_TOKEN": TOKEN})


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def test_the_stream_opens_with_hello_after_the_handshake_and_ends_with_goodbye(server, tmp_path):
    record = tmp_path / "rec.bin"
    result = run_shim(["--connect", server.address, "--record", str(record), str(APPS / "blocking_app.py")], env=token_env())
    assert result.returncode == 0, result.stderr
    assert server.wait_for(lambda: server.connections and server.connections[0][-1:] and server.connections[0][-1].type == wire.GOODBYE)
    assert server.refused == 0 and len(server.server_proofs) == 1, "one handshake, which the shim took"
    rec = Recording(server.connections[0])
    hello = rec.frames[0]
    assert hello.type == wire.HELLO and "token" not in hello.body
    # The recording (the extension records every run) holds no secret: the token is nowhere in it.
    recorded = record.read_bytes()
    assert recorded.startswith(wire.PREAMBLE) and TOKEN.encode() not in recorded
    assert Recording.read(record).frames[0].body == hello.body
    assert rec.events_at("sleepy_handler", wire.KIND_TIMER)
    assert any(s["samples"] for s in rec.stalls)


def test_a_unix_socket_works_too(tmp_path):
    path = str(tmp_path / "rs.sock")
    s = FakeServer("unix", path)
    try:
        result = run_shim(["--connect", s.address, str(APPS / "blocking_app.py")], env=token_env())
        assert result.returncode == 0, result.stderr
        assert s.wait_for(lambda: s.connections and any(f.type == wire.GOODBYE for f in s.connections[0]))
        assert Recording(s.connections[0]).events_at("busy_handler", wire.KIND_TIMER)
    finally:
        s.close()


def test_it_reconnects_and_resends_hello_and_every_site(server):
    server.close_after_hello = 1
    result = run_shim(["--connect", server.address, TICKING, "1.5"], env=token_env())
    assert result.returncode == 0, result.stderr
    assert server.wait_for(lambda: len(server.connections) >= 2 and server.connections[1][-1:] and server.connections[1][-1].type == wire.GOODBYE)
    first, second = server.connections[0], server.connections[1]
    assert [f.type for f in first] == [wire.HELLO]
    # The server had proved the token and welcomed the shim: a close after that is a server gone away, quietly.
    assert result.stderr == ""
    again = Recording(second)
    assert second[0].type == wire.HELLO
    tick = again.site_named("tick_handler")
    assert again.events_at("tick_handler", wire.KIND_TIMER)
    assert tick["id"] in again.sites  # the site table came again, ids unchanged


def refusal_line(address, reason):
    return f"reactorscope: {transport.refusal_message(address, reason)}\n"


def test_a_wrong_token_is_said_once_and_the_app_is_unaffected(tmp_path):
    server = FakeServer(token=TOKEN)  # proves TOKEN, which is not the shim's: the shim takes nothing from it
    record = tmp_path / "rec.bin"
    try:
        plain = run_python([TICKING, "2"])
        wrong = run_shim(["--connect", server.address, "--record", str(record), TICKING, "2"],
                         env=python_env({"REACTORSCOPE_TOKEN": "stale-token"}))
    finally:
        server.close()
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr
    assert wrong.returncode == plain.returncode
    # "ticks N": the count varies from run to run anyway.
    assert re.sub(r"\d+", "N", wrong.stdout) == re.sub(r"\d+", "N", plain.stdout) == "ticks N\n"
    assert wrong.stderr == refusal_line(server.address, "its proof does not match this session's token"), "one line, said once"
    # Every connection was refused in its handshake, and retried with a growing backoff (0.25, 0.5, 1 s: about
    # 4 connections in 2 s; without it, one every flush or two).
    assert server.wait_for(lambda: server.refused == len(server.connections))
    assert 2 <= server.refused <= 6, server.refused
    assert all(c == [] for c in server.connections), "no HELLO, nor anything else, reached it"
    rec = Recording.read(record)
    assert rec.events_at("tick_handler", wire.KIND_TIMER), "the recording keeps everything"
    assert dict(rec.gauges[-1]["values"])[wire.GAUGE_EVENTS_DROPPED] > 0, "what the server refused is counted"
    lags = [lag for loop in rec.loops for lag in loop["lags"]]
    assert lags and max(lags) < 1.0e9, f"max loop lag {max(lags) / 1e6:.0f} ms"


def test_a_server_that_goes_away_mid_stream_is_retried_quietly(server, tmp_path):
    server.hang_up_after_s = 1.2  # accepts, reads frames for a while, then closes (a restart, say)
    record = tmp_path / "rec.bin"
    result = run_shim(["--connect", server.address, "--record", str(record), TICKING, "2.5"], env=token_env())
    assert result.returncode == 0 and result.stdout.startswith("ticks ")
    assert server.wait_for(lambda: len(server.connections) >= 2 and server.connections[-1][-1:] and server.connections[-1][-1].type == wire.GOODBYE)
    assert result.stderr == "", "no word about the token"
    assert server.refused == 0 and len(server.connections) == 2
    assert Recording(server.connections[0]).events_at("tick_handler", wire.KIND_TIMER)
    assert Recording(server.connections[1]).events_at("tick_handler", wire.KIND_TIMER)
    # What the server received is never counted as dropped: the count is a lower bound of what it missed.
    received = sum(len(Recording(frames).events) for frames in server.connections)
    rec = Recording.read(record)
    dropped = dict(rec.gauges[-1]["values"])[wire.GAUGE_EVENTS_DROPPED]
    assert dropped <= len(rec.events) - received, f"{dropped:.0f} counted, {len(rec.events) - received} missed"


def test_the_connector_backs_off_on_refusals_and_not_after_a_welcome(server, monkeypatch):
    said = []
    monkeypatch.setattr(transport, "warn", said.append)
    now = [1000.0]
    connector = transport.Connector(server.address, TOKEN, clock=lambda: now[0])
    seen = {"connections": 0, "refused": 0}

    def refused_then_waits(wait):
        """Connects to a server that proves another token: refused in the handshake; then waits ``wait``."""
        refused_at = now[0]
        assert connector.current() is None, "refused"
        seen["connections"] += 1
        seen["refused"] += 1
        assert server.wait_for(lambda: (len(server.connections), server.refused) == (seen["connections"], seen["refused"]))
        now[0] = refused_at + wait - 0.01
        assert connector.current() is None and len(server.connections) == seen["connections"], "not before the backoff"
        now[0] = refused_at + wait

    server.tokens = ["another-sessions-token"]
    for wait in [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]:
        refused_then_waits(wait)
    assert connector.refusals == 7 and len(said) == 1 and "did not prove it knows this session's token" in said[0]
    assert TOKEN not in said[0] and "another-sessions-token" not in said[0]

    # Welcomed, then lost: retried at once (the clock stands still), and the backoff starts over.
    server.tokens = [TOKEN]
    peer = connector.current()
    assert peer is not None and peer.send(wire.encode_hello(1, 0, {}))
    assert server.wait_for(lambda: [f.type for f in server.connections[-1]] == [wire.HELLO])
    server.hang_up()
    assert server.wait_for(lambda: not peer.check())
    again = connector.current()
    assert again is not None and again is not peer
    seen["connections"] += 2
    assert len(server.connections) == seen["connections"]
    server.tokens = ["another-sessions-token"]
    server.hang_up()
    assert server.wait_for(lambda: not again.check())
    refused_then_waits(0.25)
    assert len(said) == 1 and server.refused == 8


def test_with_no_server_the_app_runs_and_drops_are_counted(tmp_path):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    record = tmp_path / "rec.bin"
    result = run_shim(["--connect", f"tcp:127.0.0.1:{port}", "--record", str(record), TICKING, "0.5"], env=token_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ticks ")
    rec = Recording.read(record)
    assert rec.events_at("tick_handler", wire.KIND_TIMER), "the recording keeps everything"
    dropped = dict(rec.gauges[-1]["values"])[wire.GAUGE_EVENTS_DROPPED]
    assert dropped >= len(rec.events_at("tick_handler")), "what no connection took is counted"


def test_a_stuck_peer_never_blocks_the_reactor(tmp_path):
    stuck = FakeServer(reading=False)
    record = tmp_path / "rec.bin"
    try:
        result = run_shim(["--connect", stuck.address, "--record", str(record), TICKING, "4", "storm"],
                          env=token_env(), timeout=90)
    finally:
        stuck.close()
    assert result.returncode == 0, result.stderr
    rec = Recording.read(record)
    dropped = dict(rec.gauges[-1]["values"])[wire.GAUGE_EVENTS_DROPPED]
    assert dropped > 0, "a peer that never reads loses data, counted"
    lags = [lag for loop in rec.loops for lag in loop["lags"]]
    # The sender waits up to 2 s on a stuck socket; had the reactor waited with it, lag would show it.
    assert lags and max(lags) < 1.0e9, f"max loop lag {max(lags) / 1e6:.0f} ms"


def test_what_a_stuck_server_never_received_is_in_the_drop_count(tmp_path):
    """A server that accepts and never reads: the app gives up each connection after a send times out, and
    reconnects. Every callback that did not reach the server's sockets is in the drop count (gauge 14, as the
    recording has it at the end), which is a lower bound: it cannot know whether the server would ever have read
    the rest (the UI says "at least")."""
    stuck = FakeServer(reading=False)
    record = tmp_path / "rec.bin"
    try:
        result = run_shim(["--connect", stuck.address, "--record", str(record), TICKING, "3", "storm"],
                          env=token_env(), timeout=90)
        assert result.returncode == 0, result.stderr
        received = stuck.unread_events()
    finally:
        stuck.close()
    rec = Recording.read(record)
    measured = len(rec.events)  # the recording never drops
    never_received = measured - received
    dropped = dict(rec.gauges[-1]["values"])[wire.GAUGE_EVENTS_DROPPED]
    print(f"measured {measured}, reached the server {received}, counted as dropped {dropped:.0f}")
    assert len(stuck.connections) >= 2 and never_received > 0, "the server's buffers filled, and the app gave up"
    assert dropped >= never_received, f"{dropped:.0f} counted, {never_received} of {measured} never reached the server"


def test_a_bad_address_is_refused_before_the_app_runs():
    result = run_shim(["--connect", "tcp:10.1.2.3:9000", TICKING, "0.1"], env=token_env())
    assert result.returncode == 2
    assert "loopback only" in result.stderr
    assert "ticks" not in result.stdout


ADDRESSES = json.loads((Path(__file__).resolve().parents[2] / "test" / "fixtures" / "addresses.json").read_text())


@pytest.mark.parametrize("case", ADDRESSES["accepted"], ids=[c["address"] for c in ADDRESSES["accepted"]])
def test_loopback_literals_are_accepted(case):
    """The same cases as server/src/debugSocket.ts (parseTcpAddress): test/fixtures/addresses.json."""
    family, (host, port) = transport.parse_address(case["address"])
    assert (host, port) == (case["host"], case["port"])
    assert family == (socket.AF_INET6 if ":" in host else socket.AF_INET)


@pytest.mark.parametrize("case", ADDRESSES["refused"], ids=[c["address"] for c in ADDRESSES["refused"]])
def test_anything_but_a_loopback_literal_is_refused(case):
    with pytest.raises(transport.AddressError, match=case["error"]):
        transport.parse_address(case["address"])


def test_connect_without_a_token_is_refused():
    result = run_shim(["--connect", "tcp:127.0.0.1:9", TICKING, "0.1"])
    assert result.returncode == 2
    assert "REACTORSCOPE_TOKEN" in result.stderr


def read_attach_file(process, timeout=20.0):
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "listening on" in line:
            path = line.rsplit("it finds this app through ", 1)[1].strip().rstrip(")")
            with open(path) as handle:
                return json.load(handle), path
    raise AssertionError(f"the shim did not say where it listens: {line!r}")


def test_attach_mode_needs_the_token(tmp_path):
    env = python_env({"XDG_RUNTIME_DIR": str(tmp_path)})
    process = subprocess.Popen([sys.executable, "-m", "reactorscope", "run", "--listen", TICKING, "3"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info, path = read_attach_file(process)
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
        assert info["pid"] == process.pid and info["address"].startswith("tcp:127.0.0.1:")

        with pytest.raises(AssertionError, match="did not take our proof"):
            attach(info["address"], "wrong-token")

        peer, decoder = attach(info["address"], info["token"])
        frames = read_until(peer, decoder, lambda frames: any(f.type == wire.EVENTS for f in frames))
        assert frames[0].type == wire.HELLO and frames[0].body["pid"] == process.pid
        assert Recording(frames).events_at("tick_handler", wire.KIND_TIMER)
        peer.close()
    finally:
        process.wait(timeout=30)
    assert process.returncode == 0
    assert not os.path.exists(path), "the attach file goes when the app exits"


def test_a_killed_process_leaves_a_readable_recording(tmp_path):
    record = tmp_path / "killed.bin"
    process = subprocess.Popen([sys.executable, "-m", "reactorscope", "run", "--record", str(record), TICKING, "30"],
                               env=python_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not record.exists() or record.stat().st_size < 2000):
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait(timeout=10)
    decoder = wire.StreamDecoder()
    frames = list(decoder.feed(record.read_bytes()))
    assert decoder.pending_bytes == 0, "every flush wrote whole frames"
    rec = Recording(frames)
    assert frames[0].type == wire.HELLO and rec.events_at("tick_handler", wire.KIND_TIMER)
    assert not rec.of(wire.GOODBYE)


def test_a_recording_limit_keeps_whole_frames_under_it_and_says_so(tmp_path):
    record = tmp_path / "limited.bin"
    limit_mb = 0.5
    result = run_shim(["--record", str(record), "--record-limit", str(limit_mb), TICKING, "2", "storm"])
    assert result.returncode == 0, result.stderr
    size = record.stat().st_size
    assert 0 < size <= limit_mb * 1e6
    decoder = wire.StreamDecoder()
    frames = list(decoder.feed(record.read_bytes()))
    assert decoder.pending_bytes == 0, "the recording ends on a whole frame"
    assert frames[0].type == wire.HELLO and Recording(frames).events_at("storm_handler", wire.KIND_TIMER)
    assert f"the recording {record} reached its limit of 0.5 MB; what follows is not recorded" in result.stderr
    assert result.stderr.count("reached its limit") == 1
