/** protocol/wire.ts against the golden fixtures that runtime/tests/test_wire.py reads too. */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prove, SERVER_LABEL, SHIM_LABEL } from '../../protocol/handshake';
import {
  encodeChallenge,
  encodePreamble,
  encodeServerProof,
  encodeShimProof,
  encodeWelcome,
  EventKind,
  type Frame,
  FrameType,
  Gauge,
  HEADER_SIZE,
  PREAUTH_MAX_PAYLOAD,
  ProtocolError,
  StreamDecoder,
  type StreamError,
  TOP_LEVEL_KINDS,
} from '../../protocol/wire';

const dir = join(__dirname, '../../test/fixtures/wire');
interface Fixture {
  frames: { type: string; body: Record<string, unknown> }[];
  error?: string;
  /** Where the stream broke: the StreamError's `at`. */
  errorAt?: { offset: number; frame: number };
  /** The handshake fixture's: the tokens its proofs are of (the shim's first), and the labels. */
  tokens?: string[];
  labels?: { server: string; shim: string };
}
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    name: f.replace(/\.json$/, ''),
    description: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture,
    bytes: new Uint8Array(readFileSync(join(dir, f.replace(/\.json$/, '.bin')))),
  }));

/** A decoded frame in the fixtures' JSON shape: typed arrays as plain arrays, the type beside the body. */
function plain(frame: Frame): { type: string; body: Record<string, unknown> } {
  const { type, ...body } = frame;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) out[key] = ArrayBuffer.isView(value) ? Array.from(value as Uint8Array) : value;
  return { type, body: out };
}

function decodeAll(bytes: Uint8Array, chunkSize = bytes.byteLength): { frames: Frame[]; pending: number } {
  const decoder = new StreamDecoder();
  const frames: Frame[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkSize) frames.push(...decoder.feed(bytes.subarray(at, at + chunkSize)));
  return { frames, pending: decoder.pendingBytes };
}

test('there are golden fixtures to read', () => {
  assert.ok(fixtures.length >= 5);
});

for (const { name, description, bytes } of fixtures) {
  test(`decodes the golden fixture ${name}`, () => {
    const expected = description.frames.filter((f) => f.type !== 'raw');
    if (description.error) {
      let error: unknown;
      try {
        decodeAll(bytes);
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof ProtocolError && error.message.includes(description.error), String(error));
      const { at, framesBefore } = error as StreamError;
      assert.deepEqual(at, description.errorAt);
      assert.deepEqual(framesBefore.map(plain), expected, 'the whole frames before the damage');
      return;
    }
    const { frames, pending } = decodeAll(bytes);
    assert.equal(pending, 0);
    assert.deepEqual(frames.map(plain), expected);
  });
}

test('byte-by-byte feeding gives the same frames as one chunk', () => {
  const session = fixtures.find((f) => f.name === 'session');
  assert.ok(session);
  assert.deepEqual(decodeAll(session.bytes, 1).frames.map(plain), decodeAll(session.bytes).frames.map(plain));
});

test('a cut stream keeps every whole frame and reports the unfinished one', () => {
  const session = fixtures.find((f) => f.name === 'session');
  assert.ok(session);
  const whole = decodeAll(session.bytes).frames;
  const cut = decodeAll(session.bytes.subarray(0, session.bytes.byteLength - 3));
  assert.deepEqual(cut.frames.map(plain), whole.slice(0, -1).map(plain));
  assert.ok(cut.pending > 0);
});

const handshake = fixtures.find((f) => f.name === 'handshake');
const bodyOf = (type: string): Record<string, unknown> => handshake?.description.frames.find((f) => f.type === type)?.body ?? {};
const bytesOf = (hex: unknown): Buffer => Buffer.from(String(hex), 'hex');

test('the encoders write the bytes of the handshake fixture', () => {
  assert.ok(handshake);
  const proofs = (bodyOf('serverProof').proofs as string[]).map(bytesOf);
  const written = Buffer.concat([
    encodePreamble(),
    encodeChallenge(bytesOf(bodyOf('challenge').nonce)),
    encodeServerProof(bytesOf(bodyOf('serverProof').nonce), proofs),
    encodeShimProof(bytesOf(bodyOf('shimProof').proof)),
    encodeWelcome(),
  ]);
  assert.deepEqual(new Uint8Array(written), handshake.bytes);
});

test("the handshake fixture's proofs are this side's proofs (runtime/tests/test_wire.py checks the same bytes)", () => {
  assert.ok(handshake);
  const { tokens = [], labels } = handshake.description;
  assert.deepEqual(labels, { server: SERVER_LABEL, shim: SHIM_LABEL });
  const shimNonce = bytesOf(bodyOf('challenge').nonce);
  const serverNonce = bytesOf(bodyOf('serverProof').nonce);
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
  assert.deepEqual(bodyOf('serverProof').proofs, tokens.map((token) => hex(prove(token, SERVER_LABEL, shimNonce, serverNonce))));
  assert.equal(bodyOf('shimProof').proof, hex(prove(tokens[0] ?? '', SHIM_LABEL, shimNonce, serverNonce)));
});

test('a frame over the decoder\'s limit is refused as soon as its header is read', () => {
  const decoder = new StreamDecoder();
  decoder.maxPayloadBytes = PREAUTH_MAX_PAYLOAD;
  const header = encodeChallenge(new Uint8Array(32)).subarray(0, HEADER_SIZE);
  new DataView(header.buffer, header.byteOffset).setUint32(0, PREAUTH_MAX_PAYLOAD + 1, true);
  assert.throws(() => decoder.feed(Buffer.concat([encodePreamble(), header])), /frame of 4097 bytes is over the 4096-byte limit/);
});

test('the shared numbers are test/fixtures/constants.json, which runtime/tests/test_wire.py holds wire.py to', () => {
  const constants = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/constants.json'), 'utf8')) as {
    frameTypes: Record<string, number>;
    eventKinds: { name: string; id: number; topLevel: boolean }[];
    gauges: Record<string, number>;
  };
  assert.deepEqual({ ...FrameType }, constants.frameTypes);
  assert.deepEqual({ ...EventKind }, Object.fromEntries(constants.eventKinds.map((k) => [k.name, k.id])));
  assert.deepEqual([...TOP_LEVEL_KINDS].sort(), constants.eventKinds.filter((k) => k.topLevel).map((k) => k.id).sort());
  assert.deepEqual({ ...Gauge }, constants.gauges);
});
