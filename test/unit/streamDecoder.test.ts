/**
 * protocol/wire.ts StreamDecoder: linear work whatever the chunk sizes, the payload limit checked at the header,
 * and a damaged stream that keeps every whole frame before the damage and says where it broke.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType, HEADER_SIZE, PREAMBLE_SIZE, ProtocolError, StreamDecoder, type Frame, type StreamError } from '../../protocol/wire';
import { concatBytes, eventsFrame, frameBytes, metaFrame, preamble, someEvents } from './wireBytes';

/** Runs `work` counting the bytes that Uint8Array's copying methods (set, slice) copy meanwhile. */
function bytesCopiedBy(work: () => void): number {
  const proto = Uint8Array.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called on their own array below, and put back after
  const { set, slice } = proto;
  let copied = 0;
  proto.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    copied += source.length;
    return set.call(this, source, offset);
  };
  proto.slice = function (this: Uint8Array, start?: number, end?: number) {
    const out = slice.call(this, start, end);
    copied += out.byteLength;
    return out;
  };
  try {
    work();
  } finally {
    proto.set = set;
    proto.slice = slice;
  }
  return copied;
}

/** The ProtocolError that `work` throws, with where the stream broke (`at`) and the frames before it. */
function brokenBy(work: () => unknown): StreamError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${String(error)}`);
    return error as StreamError;
  }
  assert.fail('no ProtocolError');
}

function feedInPieces(decoder: StreamDecoder, bytes: Uint8Array, piece: number): Frame[] {
  const frames: Frame[] = [];
  for (let at = 0; at < bytes.byteLength; at += piece) frames.push(...decoder.feed(bytes.subarray(at, at + piece)));
  return frames;
}

test('a big frame fed in TCP-sized pieces is copied a bounded number of times, not once per piece', () => {
  const events = someEvents(50_000); // a 1 MB frame
  const stream = concatBytes(preamble(), eventsFrame(events));
  let frames: Frame[] = [];
  const copied = bytesCopiedBy(() => (frames = feedInPieces(new StreamDecoder(), stream, 1460)));
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0], { type: 'events', ...events });
  // Each byte waits once (a copy of the piece's tail) and is joined once into the frame; decoding copies the
  // kind column. The old decoder joined and re-sliced its whole buffer on every piece: about 700 copies of it.
  assert.ok(copied <= 3 * stream.byteLength, `copied ${copied} bytes to decode ${stream.byteLength}`);
});

test('the payload limit is settable and checked as soon as a header arrives', () => {
  const decoder = new StreamDecoder();
  decoder.maxPayloadBytes = 1024;
  const big = eventsFrame(someEvents(100)); // 2,108-byte payload
  assert.deepEqual(decoder.feed(preamble()), []);
  const error = brokenBy(() => decoder.feed(big.subarray(0, HEADER_SIZE)));
  assert.match(error.message, /2108 bytes is over the 1024-byte limit/);
  assert.deepEqual(error.at, { offset: PREAMBLE_SIZE, frame: 0 });
  const roomy = new StreamDecoder();
  roomy.maxPayloadBytes = 4096;
  assert.equal(roomy.feed(concatBytes(preamble(), big)).length, 1);
});

test('a damaged frame keeps the whole frames before it in the same chunk, and says where it broke', () => {
  const meta = metaFrame({ reactor: 'EPollReactor' });
  const events = eventsFrame(someEvents(3));
  // An EVENTS frame whose count promises more events than its payload holds.
  const bad = frameBytes(FrameType.events, Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0));
  const stream = concatBytes(preamble(), meta, events, bad, meta);
  const error = brokenBy(() => new StreamDecoder().feed(stream));
  assert.deepEqual(error.framesBefore, [{ type: 'meta', metadata: { reactor: 'EPollReactor' } }, { type: 'events', ...someEvents(3) }]);
  assert.deepEqual(error.at, { offset: PREAMBLE_SIZE + meta.byteLength + events.byteLength, frame: 2 });
  assert.match(error.message, /EVENTS frame is truncated/);
});

test('a broken stream stays broken: later chunks say the same rule again', () => {
  const decoder = new StreamDecoder();
  assert.throws(() => decoder.feed(new TextEncoder().encode('HTTP/1.1')), /RSCOPE magic/);
  const again = brokenBy(() => decoder.feed(concatBytes(preamble(), metaFrame({}))));
  assert.match(again.message, /RSCOPE magic/);
  assert.deepEqual(again.at, { offset: 0, frame: -1 });
});

test('a run of zero bytes where a frame should start is damage, not empty frames to skip', () => {
  const meta = metaFrame({ twisted: '24.3.0' });
  const decoder = new StreamDecoder();
  const error = brokenBy(() => decoder.feed(concatBytes(preamble(), meta, new Uint8Array(4096))));
  assert.match(error.message, /frame type 0/);
  assert.deepEqual(error.at, { offset: PREAMBLE_SIZE + meta.byteLength, frame: 1 });
  assert.deepEqual(error.framesBefore, [{ type: 'meta', metadata: { twisted: '24.3.0' } }]);
});

test('the caller may reuse its chunk (a Node Buffer read into again): what waits was copied', () => {
  const events = someEvents(500);
  const stream = concatBytes(preamble(), eventsFrame(events), metaFrame({ reactor: 'PollReactor' }));
  const buffer = Buffer.alloc(1000);
  const decoder = new StreamDecoder();
  const frames: Frame[] = [];
  for (let at = 0; at < stream.byteLength; at += buffer.byteLength) {
    const part = stream.subarray(at, at + buffer.byteLength);
    buffer.set(part);
    frames.push(...decoder.feed(buffer.subarray(0, part.byteLength)));
    buffer.fill(0xee);
  }
  assert.equal(decoder.pendingBytes, 0);
  assert.deepEqual(frames, [{ type: 'events', ...events }, { type: 'meta', metadata: { reactor: 'PollReactor' } }]);
});

test('a cut stream says where its unfinished frame started', () => {
  const meta = metaFrame({ a: 1 });
  const events = eventsFrame(someEvents(10));
  const stream = concatBytes(preamble(), meta, events);
  for (const cut of [3, HEADER_SIZE + 5]) {
    const decoder = new StreamDecoder();
    const frames = feedInPieces(decoder, stream.subarray(0, stream.byteLength - cut), 7);
    assert.equal(frames.length, 1);
    assert.equal(decoder.pendingBytes, events.byteLength - cut);
    assert.deepEqual(decoder.position, { offset: PREAMBLE_SIZE + meta.byteLength, frame: 1 });
  }
});

test('a payload of a type this version does not know is dropped as it comes, never kept', () => {
  const unknown = frameBytes(0x7f, new Uint8Array(1024 * 1024).fill(0x5a));
  const meta = metaFrame({ reactor: 'SelectReactor' });
  const stream = concatBytes(preamble(), unknown, meta);
  const decoder = new StreamDecoder();
  let frames: Frame[] = [];
  const copied = bytesCopiedBy(() => (frames = feedInPieces(decoder, stream, 1460)));
  assert.deepEqual(frames, [{ type: 'meta', metadata: { reactor: 'SelectReactor' } }]);
  assert.equal(decoder.pendingBytes, 0);
  assert.ok(copied < 64 * 1024, `copied ${copied} bytes`);
  const cut = new StreamDecoder();
  feedInPieces(cut, concatBytes(preamble(), unknown.subarray(0, 5000)), 1460);
  assert.equal(cut.pendingBytes, 5000, 'a cut unknown frame is pending, header and all');
});
