/**
 * Random and mutated byte streams never crash the server: the decoder fails only with a ProtocolError that
 * says why, and whatever it does decode, the session store takes without throwing.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError, StreamDecoder } from '../../protocol/wire';
import { SessionStore } from '../../server/src/store/sessionStore';

const dir = join(__dirname, '../../test/fixtures/wire');
const valid = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => new Uint8Array(readFileSync(join(dir, f))))
  .filter((bytes) => {
    try {
      new StreamDecoder().feed(bytes);
      return true;
    } catch {
      return false;
    }
  });

/** Feeds `bytes` in the given chunk sizes; returns the error, if any, and checks it is a ProtocolError. */
function decode(bytes: Uint8Array, chunks: number[]): void {
  const decoder = new StreamDecoder();
  const store = new SessionStore({ memoryCapBytes: 8 * 1024 * 1024 });
  let at = 0;
  let i = 0;
  try {
    while (at < bytes.byteLength) {
      const size = Math.max(1, chunks[i++ % Math.max(1, chunks.length)] ?? bytes.byteLength);
      for (const frame of decoder.feed(bytes.subarray(at, at + size))) store.ingest(frame);
      at += size;
    }
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${String(error)}`);
    assert.ok(error.message.length > 10);
  }
  store.hotspots();
  store.queryRange(-1e12, 1e12, 100);
}

test('valid fixtures are there to mutate', () => {
  assert.ok(valid.length >= 3);
});

test('random bytes after a valid preamble never crash the decoder', () => {
  const preamble = valid[0]?.subarray(0, 8) ?? new Uint8Array(8);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), fc.array(fc.integer({ min: 1, max: 512 }), { maxLength: 8 }), (body, chunks) => {
      const bytes = new Uint8Array(preamble.byteLength + body.byteLength);
      bytes.set(preamble);
      bytes.set(body, preamble.byteLength);
      decode(bytes, chunks);
    }),
    { numRuns: 2000 },
  );
});

test('mutated valid streams never crash the decoder', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: valid.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
      fc.array(fc.integer({ min: 1, max: 256 }), { maxLength: 8 }),
      (which, flips, chunks) => {
        const bytes = new Uint8Array(valid[which] ?? []);
        for (const [position, value] of flips) bytes[position % bytes.byteLength] = value;
        decode(bytes, chunks);
      },
    ),
    { numRuns: 3000 },
  );
});
