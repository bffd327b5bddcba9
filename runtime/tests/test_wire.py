import json
import random
import re
from array import array
from pathlib import Path

import pytest

from reactorscope import handshake, wire
from wire_fixtures import encode_fixture, fixtures

FIXTURES = list(fixtures())


def expected_frames(description):
    return [(f["type"], f["body"]) for f in description["frames"] if f["type"] != "raw"]


def decoded(frames):
    return [(wire.FRAME_NAMES[f.type], f.body) for f in frames]


@pytest.mark.parametrize("name,description,bin_path", FIXTURES, ids=[f[0] for f in FIXTURES])
def test_encoder_writes_the_golden_bytes(name, description, bin_path):
    assert encode_fixture(description) == bin_path.read_bytes()


@pytest.mark.parametrize("name,description,bin_path", FIXTURES, ids=[f[0] for f in FIXTURES])
def test_decoder_reads_the_golden_bytes(name, description, bin_path):
    data = bin_path.read_bytes()
    if "error" in description:
        frames = []
        with pytest.raises(wire.ProtocolError, match=re.escape(description["error"])) as caught:
            frames.extend(wire.StreamDecoder().feed(data))
        at = description["errorAt"]
        assert (caught.value.offset, caught.value.frame) == (at["offset"], at["frame"])
        assert decoded(frames) == expected_frames(description), "the whole frames before the damage"
    else:
        assert decoded(wire.decode_stream(data)) == expected_frames(description)


def test_fixtures_cover_every_frame_type():
    seen = {f["type"] for _, d, _ in FIXTURES for f in d["frames"]}
    assert set(wire.FRAME_NAMES.values()) <= seen


def test_decoding_byte_by_byte_gives_the_same_frames():
    data = dict((n, p) for n, _, p in FIXTURES)["session"].read_bytes()
    decoder = wire.StreamDecoder()
    frames = []
    for i in range(len(data)):
        frames.extend(decoder.feed(data[i : i + 1]))
    assert decoder.pending_bytes == 0
    assert decoded(frames) == decoded(wire.decode_stream(data))


def test_a_cut_stream_keeps_every_whole_frame():
    data = dict((n, p) for n, _, p in FIXTURES)["session"].read_bytes()
    whole = wire.decode_stream(data)
    decoder = wire.StreamDecoder()
    cut = list(decoder.feed(data[:-3]))
    assert decoded(cut) == decoded(whole[:-1])
    assert decoder.pending_bytes > 0


def test_random_event_columns_round_trip():
    rng = random.Random(7)
    n = 10_000
    columns = (
        array("q", (rng.randrange(-(2**63), 2**63) for _ in range(n))),
        array("q", (rng.randrange(0, 2**63) for _ in range(n))),
        array("I", (rng.randrange(0, 2**32) for _ in range(n))),
        array("B", (rng.randrange(1, 7) for _ in range(n))),
    )
    (frame,) = wire.decode_stream(wire.PREAMBLE + wire.encode_events(*columns))
    assert [frame.body[k] for k in ("start", "duration", "site", "kind")] == [c.tolist() for c in columns]


def test_a_payload_over_the_limit_is_refused_when_encoding():
    with pytest.raises(wire.ProtocolError, match="limit"):
        wire.frame(wire.META, bytes(wire.MAX_PAYLOAD + 1))


def test_the_handshake_fixtures_proofs_are_this_sides_proofs():
    """protocol/handshake.ts checks the same bytes: both sides prove alike, or no shim ever connects."""
    description = dict((n, d) for n, d, _ in FIXTURES)["handshake"]
    frames = {f["type"]: f["body"] for f in description["frames"]}
    assert description["labels"] == {"server": handshake.SERVER_LABEL.decode(), "shim": handshake.SHIM_LABEL.decode()}
    shim_nonce, server_nonce = bytes.fromhex(frames["challenge"]["nonce"]), bytes.fromhex(frames["serverProof"]["nonce"])
    tokens = description["tokens"]
    assert frames["serverProof"]["proofs"] == [
        handshake.prove(t, handshake.SERVER_LABEL, shim_nonce, server_nonce).hex() for t in tokens
    ]
    assert frames["shimProof"]["proof"] == handshake.prove(tokens[0], handshake.SHIM_LABEL, shim_nonce, server_nonce).hex()


def test_a_version_1_stream_is_refused_before_its_hello_is_read():
    decoder = wire.StreamDecoder()
    old = dict((n, p) for n, _, p in FIXTURES)["old-version"].read_bytes()
    with pytest.raises(wire.ProtocolError, match="the shim and the extension must come from the same Reactor Scope release"):
        list(decoder.feed(old))


def test_a_frame_over_the_decoders_limit_is_refused_at_its_header():
    decoder = wire.StreamDecoder(max_payload=wire.PREAUTH_MAX_PAYLOAD)
    header = wire.frame(wire.CHALLENGE, bytes(wire.PREAUTH_MAX_PAYLOAD + 1))[:8]
    with pytest.raises(wire.ProtocolError, match=f"over the {wire.PREAUTH_MAX_PAYLOAD}-byte limit"):
        list(decoder.feed(wire.PREAMBLE + header))


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def test_the_shared_numbers_are_the_constants_fixture():
    """test/fixtures/constants.json, which test/unit/wire.test.ts holds protocol/wire.ts to as well."""
    constants = json.loads((Path(__file__).resolve().parents[2] / "test" / "fixtures" / "constants.json").read_text())
    assert {name: getattr(wire, _snake(name)) for name in constants["frameTypes"]} == constants["frameTypes"]
    assert {wire.FRAME_NAMES[number] for number in constants["frameTypes"].values()} == set(constants["frameTypes"])
    kinds = {_snake(k["name"]): k["id"] for k in constants["eventKinds"]}
    assert {name: getattr(wire, "KIND_" + name) for name in kinds} == kinds
    assert set(wire.TOP_LEVEL_KINDS) == {k["id"] for k in constants["eventKinds"] if k["topLevel"]}
    gauges = {_snake(name): number for name, number in constants["gauges"].items()}
    assert {name: getattr(wire, "GAUGE_" + name) for name in gauges} == gauges
