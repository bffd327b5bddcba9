"""Who is on the other end (issue 11, item 5): a peer that does not know the token gets nothing but a nonce.

Connect mode: another local user listening where the shim connects (the telemetry server's port, taken after
it died) records what the real shim sends: its preamble and a nonce, never the token, argv or cwd, whether it
stays silent, answers with a wrong proof or replays a proof a real server gave on another connection. Attach
mode: a peer connecting to the listening shim with a wrong or replayed proof likewise; idle connections do not
delay a real attach; the shim says where it can be attached from, never its token. The server's side of the
same: test/unit/debugSocket.test.ts.
"""
import os
import socket
import subprocess
import sys
import threading
from typing import Callable, List, Optional

import pytest

from helpers import (
    APPS, TOKEN, FakeServer, Recording, attach, python_env, read_until, run_shim, server_proof,
)
from reactorscope import transport, wire

TICKING = str(APPS / "ticking_app.py")
ARGV_MARKER = "argv-only-the-server-may-see"
OPENING_BYTES = len(wire.PREAMBLE) + len(wire.encode_challenge(bytes(wire.NONCE_BYTES)))


class Impostor:
    """Listens where the shim connects, on a real socket, as another local user would who took the server's
    port; keeps every byte each connection sent. ``answer(shim_nonce)`` is what it sends once the CHALLENGE
    came (None: nothing)."""

    def __init__(self, answer: Callable[[bytes], Optional[bytes]]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.address = f"tcp:127.0.0.1:{self.sock.getsockname()[1]}"
        self.answer = answer
        self.captures: List[bytearray] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            capture = bytearray()
            self.captures.append(capture)
            threading.Thread(target=self._read, args=(conn, capture), daemon=True).start()

    def _read(self, conn: socket.socket, capture: bytearray) -> None:
        answered = False
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                capture += data
                if not answered and len(capture) >= OPENING_BYTES:
                    answered = True
                    reply = self.answer(bytes(capture[len(wire.PREAMBLE) + 8 : OPENING_BYTES]))
                    if reply is not None:
                        conn.sendall(wire.PREAMBLE + reply)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def captured_server_proof() -> bytes:
    """A SERVER_PROOF a server that knows the token sent the real shim's code on another connection."""
    server = FakeServer(token=TOKEN)
    try:
        connector = transport.Connector(server.address, TOKEN)
        assert connector.current() is not None, "the real handshake went through"
        connector.close()
        return server.server_proofs[0]
    finally:
        server.close()


ANSWERS = {
    "silent": lambda nonce: None,
    "a proof with another token": lambda nonce: server_proof(["another token"], nonce, os.urandom(wire.NONCE_BYTES)),
    "random bytes for a proof": lambda nonce: wire.encode_server_proof(os.urandom(32), [os.urandom(32)]),
    "a proof for the real token, replayed from another connection": None,  # filled in by the test
    "HELLO instead of a proof": lambda nonce: wire.encode_hello(1, 0, {}),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_a_peer_that_took_the_servers_address_learns_nothing_but_a_nonce(tmp_path, answer):
    replay = captured_server_proof() if ANSWERS[answer] is None else None
    impostor = Impostor(ANSWERS[answer] or (lambda nonce: replay))
    record = tmp_path / "rec.bin"
    workdir = tmp_path / "cwd-only-the-server-may-see"
    workdir.mkdir()
    try:
        result = run_shim(["--connect", impostor.address, "--record", str(record), TICKING, "1.5", "calm", ARGV_MARKER],
                          env=python_env({"REACTORSCOPE_TOKEN": TOKEN}), cwd=str(workdir))
    finally:
        impostor.close()
    assert result.returncode == 0 and result.stdout.startswith("ticks "), result.stderr
    assert impostor.captures, "the shim did connect"
    nonces = []
    for capture in impostor.captures:
        assert len(capture) == OPENING_BYTES, f"{len(capture)} bytes: more than the preamble and a nonce"
        (challenge,) = wire.decode_stream(bytes(capture))
        assert challenge.type == wire.CHALLENGE
        nonces.append(challenge.body["nonce"])
        for secret in (TOKEN, ARGV_MARKER, str(workdir)):
            assert secret.encode() not in capture
    assert len(set(nonces)) == len(nonces), "a fresh nonce on every connection"
    # Said once, without the secret; the recording, written all along, holds no token either.
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "did not prove it knows this session's token" in lines[0], result.stderr
    assert TOKEN not in result.stderr
    recorded = record.read_bytes()
    assert TOKEN.encode() not in recorded
    assert Recording.read(record).events_at("tick_handler", wire.KIND_TIMER), "the recording keeps everything"


# -- attach mode ---------------------------------------------------------------------------------------------


class ListeningApp:
    """ticking_app.py run with --listen: its attach file (and the token in it) and what it says on stderr."""

    def __init__(self, tmp_path, seconds: str = "4", env: Optional[dict] = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reactorscope", "run", "--listen", TICKING, seconds],
            env=env or python_env({"XDG_RUNTIME_DIR": str(tmp_path)}),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.line = self.process.stderr.readline()
        folder = tmp_path / f"reactorscope-{os.getuid()}"
        self.info = None
        if env is None:
            import json

            self.info = json.loads((folder / f"{self.process.pid}.json").read_text())

    def finish(self):
        self.process.wait(timeout=30)
        stderr = self.process.stderr.read()  # through the same buffer readline() used
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode, self.line + stderr


def connect_raw(address: str) -> socket.socket:
    family, target = transport.parse_address(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(target)
    return sock


def receive_all(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes the connection."""
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


def test_attach_mode_a_wrong_or_replayed_proof_gets_a_nonce_and_is_closed(tmp_path):
    app = ListeningApp(tmp_path)
    try:
        address, token = app.info["address"], app.info["token"]
        # A real attach, whose SERVER_PROOF is captured.
        sent: List[bytes] = []
        peer, decoder = attach(address, token, sent=sent)
        assert read_until(peer, decoder, lambda frames: frames)[0].type == wire.HELLO
        peer.close()

        attempts = {
            "wrong token": lambda nonce: server_proof(["wrong-token"], nonce, os.urandom(wire.NONCE_BYTES)),
            "replayed proof": lambda nonce: sent[0],
        }
        for name, answer in attempts.items():
            intruder = connect_raw(address)
            opening = b""
            while len(opening) < OPENING_BYTES:
                opening += intruder.recv(OPENING_BYTES - len(opening))
            intruder.sendall(wire.PREAMBLE + answer(opening[len(wire.PREAMBLE) + 8 :]))
            assert receive_all(intruder) == b"", f"{name}: closed, with nothing after the nonce"
            assert [f.type for f in wire.decode_stream(opening)] == [wire.CHALLENGE]
            assert token.encode() not in opening
            intruder.close()

        # The real server still attaches after them.
        peer, decoder = attach(address, token)
        assert read_until(peer, decoder, lambda frames: frames)[0].type == wire.HELLO
        peer.close()
    finally:
        status, stderr = app.finish()
    assert status == 0
    assert token not in stderr
    assert sum("did not prove it knows this session's token" in line for line in stderr.splitlines()) == 1, stderr


def test_idle_connections_do_not_delay_a_real_attach(tmp_path):
    app = ListeningApp(tmp_path, seconds="8")
    idle: List[socket.socket] = []
    try:
        address, token = app.info["address"], app.info["token"]
        idle = [connect_raw(address) for _ in range(3)]  # connected, never a word
        peer, decoder = attach(address, token)
        frames = read_until(peer, decoder, lambda frames: any(f.type == wire.EVENTS for f in frames))
        assert frames[0].type == wire.HELLO and frames[0].body["pid"] == app.process.pid
        # The real server was welcomed and streamed to while every idle connection still waits for its handshake.
        for sock in idle:
            opening = b""
            while len(opening) < OPENING_BYTES:
                opening += sock.recv(OPENING_BYTES - len(opening))
            assert [f.type for f in wire.decode_stream(opening)] == [wire.CHALLENGE]
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)  # nothing more, and not closed: still pending
        peer.close()
    finally:
        for sock in idle:
            sock.close()
        status, _ = app.finish()
    assert status == 0


def test_the_listening_message_says_how_to_attach_and_never_the_token(tmp_path):
    app = ListeningApp(tmp_path, seconds="0.5")
    status, stderr = app.finish()
    assert status == 0
    path = tmp_path / f"reactorscope-{os.getuid()}" / f"{app.process.pid}.json"
    assert app.line == (
        f"reactorscope: listening on {app.info['address']} for Reactor Scope to attach: in VS Code, run \"Reactor "
        f"Scope: Attach to Running App\" and pick pid {app.process.pid} (it finds this app through {path})\n"
    )
    assert app.info["token"] not in stderr and "REACTORSCOPE_TOKEN" not in stderr


def test_without_an_attach_file_the_message_says_what_to_fix(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    app = ListeningApp(tmp_path, seconds="0.5", env=python_env({"XDG_RUNTIME_DIR": str(not_a_folder)}))
    status, stderr = app.finish()
    assert status == 0
    assert "REACTORSCOPE_TOKEN" not in stderr, "a token the user was never shown"
    folder = not_a_folder / f"reactorscope-{os.getuid()}"
    assert f"no attach file could be written in {folder}, so Reactor Scope cannot find this app" in stderr, stderr
