"""The golden wire fixtures in test/fixtures/wire/: NAME.json describes a stream, NAME.bin holds its bytes.

Both test suites read them (runtime/tests/test_wire.py and test/unit/wire.test.ts). This module turns a
description into bytes with reactorscope.wire; run it with --write only when the format changes on purpose:

    python runtime/tests/wire_fixtures.py --write
"""
from __future__ import annotations

import json
import sys
from array import array
from pathlib import Path
from typing import Any, Dict

from reactorscope import wire

FIXTURES = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "wire"


def encode_frame(frame: Dict[str, Any]) -> bytes:
    kind, body = frame["type"], frame["body"]
    if kind == "hello":
        return wire.encode_hello(body["pid"], body["originWallNs"], body["metadata"])
    if kind == "sites":
        return wire.encode_sites([(s["id"], s["line"], s["file"], s["name"]) for s in body["sites"]])
    if kind == "events":
        return wire.encode_events(
            array("q", body["start"]), array("q", body["duration"]), array("I", body["site"]), array("B", body["kind"])
        )
    if kind == "stall":
        samples = [(s["t"], [tuple(f) for f in s["stack"]]) for s in body["samples"]]
        return wire.encode_stall(body["callbackStart"], body["site"], body["kind"], samples)
    if kind == "gauges":
        return wire.encode_gauges(body["t"], [tuple(v) for v in body["values"]])
    if kind == "loop":
        return wire.encode_loop(
            body["start"], body["end"], body["iterations"], body["busyNs"], body["idleNs"],
            array("q", body["lagTimes"]), array("q", body["lags"]),
        )
    if kind == "meta":
        return wire.encode_meta(body["metadata"])
    if kind == "goodbye":
        return wire.encode_goodbye(body["exitCode"], body["reason"])
    if kind == "challenge":
        return wire.encode_challenge(bytes.fromhex(body["nonce"]))
    if kind == "serverProof":
        return wire.encode_server_proof(bytes.fromhex(body["nonce"]), [bytes.fromhex(p) for p in body["proofs"]])
    if kind == "shimProof":
        return wire.encode_shim_proof(bytes.fromhex(body["proof"]))
    if kind == "welcome":
        return wire.encode_welcome()
    if kind == "raw":  # a frame of a type this version does not know: readers must skip it
        return wire.frame(body["frameType"], bytes.fromhex(body["payloadHex"]))
    raise ValueError(f"unknown fixture frame type {kind!r}")


def encode_fixture(description: Dict[str, Any]) -> bytes:
    prefix = bytes.fromhex(description["preambleHex"]) if "preambleHex" in description else wire.PREAMBLE
    return prefix + b"".join(encode_frame(f) for f in description["frames"]) + bytes.fromhex(description.get("trailingHex", ""))


def fixtures():
    for path in sorted(FIXTURES.glob("*.json")):
        yield path.stem, json.loads(path.read_text()), path.with_suffix(".bin")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: wire_fixtures.py --write")
    for _name, description, bin_path in fixtures():
        bin_path.write_bytes(encode_fixture(description))
        print(f"wrote {bin_path.relative_to(FIXTURES.parents[2])}")
