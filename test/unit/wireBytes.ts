/**
 * Streams as bytes for the TypeScript tests, laid out as docs/protocol.md says (the shim's encoder is Python:
 * runtime/reactorscope/wire.py). Only what the decoder and recording tests need: the preamble, any frame, META
 * and EVENTS payloads.
 */
import { encodePreamble, FrameType, HEADER_SIZE, PREAMBLE_SIZE } from '../../protocol/wire';

/** The preamble, as protocol/wire.ts encodes it. */
export const preamble = encodePreamble;

/** A frame: header (length, type, reserved) and payload, of any size (encodeFrame refuses one over the limit). */
export function frameBytes(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.byteLength, true);
  view.setUint8(4, type);
  out.set(payload, HEADER_SIZE);
  return out;
}

export function metaFrame(metadata: Record<string, unknown>): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(metadata));
  const payload = new Uint8Array(4 + text.byteLength);
  new DataView(payload.buffer).setUint32(0, text.byteLength, true);
  payload.set(text, 4);
  return frameBytes(FrameType.meta, payload);
}

/** Columns of one EVENTS frame, as the decoder returns them. */
export interface EventColumns {
  start: Float64Array;
  duration: Float64Array;
  site: Uint32Array;
  kind: Uint8Array;
}

/** `n` made-up events: start i * 1000 ns, duration i ns, site i % 300 + 1, kind i % 7 + 1. */
export function someEvents(n: number): EventColumns {
  return {
    start: Float64Array.from({ length: n }, (_, i) => i * 1000),
    duration: Float64Array.from({ length: n }, (_, i) => i),
    site: Uint32Array.from({ length: n }, (_, i) => (i % 300) + 1),
    kind: Uint8Array.from({ length: n }, (_, i) => (i % 7) + 1),
  };
}

export function eventsFrame({ start, duration, site, kind }: EventColumns): Uint8Array {
  const n = start.length;
  const payload = new Uint8Array(8 + 21 * n);
  const view = new DataView(payload.buffer);
  view.setUint32(0, n, true);
  for (let i = 0; i < n; i++) {
    view.setBigInt64(8 + 8 * i, BigInt(start[i] ?? 0), true);
    view.setBigInt64(8 + 8 * n + 8 * i, BigInt(duration[i] ?? 0), true);
    view.setUint32(8 + 16 * n + 4 * i, site[i] ?? 0, true);
  }
  payload.set(kind, 8 + 20 * n);
  return frameBytes(FrameType.events, payload);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** A HELLO frame with `token` (pid 1, origin 0, empty metadata). */
/** A version 2 HELLO (no token: the handshake proved it): pid 1, origin 0, metadata `{}`. */
export function helloFrame(): Uint8Array {
  const encode = (text: string): Uint8Array => {
    const bytes = new TextEncoder().encode(text);
    const out = new Uint8Array(4 + bytes.byteLength);
    new DataView(out.buffer).setUint32(0, bytes.byteLength, true);
    out.set(bytes, 4);
    return out;
  };
  const fixed = new Uint8Array(12);
  new DataView(fixed.buffer).setUint32(0, 1, true);
  return frameBytes(FrameType.hello, concatBytes(fixed, encode('{}')));
}

/** Where each frame of a whole stream lies, and its type, read from the headers alone. */
export function frameSpans(stream: Uint8Array): { start: number; end: number; type: number }[] {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const spans = [];
  for (let at = PREAMBLE_SIZE; at < stream.byteLength; ) {
    const end = at + HEADER_SIZE + view.getUint32(at, true);
    spans.push({ start: at, end, type: view.getUint8(at + 4) });
    at = end;
  }
  return spans;
}
