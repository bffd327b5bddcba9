"""The handshake that opens every connection, the shim's side of it (docs/protocol.md, "Handshake").

Twin of protocol/handshake.ts (the telemetry server's side): the same labels and proofs, held to the same
bytes by test/fixtures/wire/handshake.json. Each side proves it knows the per-session token without sending
it: proof = HMAC-SHA256(token, label || shim nonce || server nonce), with a label per direction, so a proof
is good for one direction of one connection only (no reflection, no replay). The shim sends its preamble and
a fresh nonce, and nothing else until the server's proof checks: a peer that only took the server's address
(or the port a shim listens on) learns a random nonce. Only then does the shim prove the token itself, and
it sends HELLO once the server has welcomed that proof.

No I/O here: transport.py (connect mode) and listener.py (attach mode) feed what the peer sends and write
what this returns. Nothing received is executed: frames are compared, never run.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Union

from reactorscope import wire

SERVER_LABEL = b"reactorscope/2 server proof"
SHIM_LABEL = b"reactorscope/2 shim proof"


def prove(token: str, label: bytes, shim_nonce: bytes, server_nonce: bytes) -> bytes:
    """HMAC-SHA256 keyed with the token (UTF-8) over the label and both nonces (fixed sizes, so unambiguous)."""
    return hmac.new(token.encode("utf-8"), label + shim_nonce + server_nonce, hashlib.sha256).digest()


class Refused(Exception):
    """The peer did not prove the token, or broke the handshake. The message names no secret."""


class ShimHandshake:
    """One connection's handshake, on the shim's side: ``opening()`` first, then ``feed`` what arrives and send
    what it returns, until ``done``. Raises Refused as soon as the peer goes wrong."""

    def __init__(self, token: str) -> None:
        self._token = token
        self.nonce = secrets.token_bytes(wire.NONCE_BYTES)
        self._decoder = wire.StreamDecoder(max_payload=wire.PREAUTH_MAX_PAYLOAD)
        self.proved = False  # the peer proved the token; the shim's own proof went out
        self.done = False  # the peer welcomed that proof: HELLO may follow

    def opening(self) -> bytes:
        return wire.PREAMBLE + wire.encode_challenge(self.nonce)

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> bytes:
        """What to send back: the shim's proof once the peer's checks, else nothing."""
        reply = b""
        try:
            frames = list(self._decoder.feed(data))
        except wire.ProtocolError as error:
            raise Refused(f"it broke the protocol: {error}") from None
        for frame in frames:
            if self.done:
                break  # the server sends nothing after WELCOME; whatever follows is not read
            name = wire.FRAME_NAMES.get(frame.type, str(frame.type)).upper()
            if not self.proved:
                if frame.type != wire.SERVER_PROOF:
                    raise Refused(f"it sent {name} instead of proving it knows the token")
                server_nonce = bytes.fromhex(frame.body["nonce"])
                expected = prove(self._token, SERVER_LABEL, self.nonce, server_nonce)
                # Every candidate is compared, in constant time each: which one matched says nothing secret.
                matches = [hmac.compare_digest(expected, bytes.fromhex(p)) for p in frame.body["proofs"]]
                if not any(matches):
                    raise Refused("its proof does not match this session's token")
                self.proved = True
                reply += wire.encode_shim_proof(prove(self._token, SHIM_LABEL, self.nonce, server_nonce))
            elif frame.type == wire.WELCOME:
                self.done = True
            else:
                raise Refused(f"it sent {name} instead of welcoming the shim's proof")
        return reply
