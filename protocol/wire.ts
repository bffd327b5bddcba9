/**
 * The wire format between the shim and the telemetry server, version 2: docs/protocol.md.
 *
 * Twin of runtime/reactorscope/wire.py; the golden fixtures in test/fixtures/wire/ hold the two in step.
 * The handshake's frames are here; what they prove, and in which order, is protocol/handshake.ts's.
 * The decoder turns EVENTS columns into typed arrays without an object per event. 64-bit integers become
 * numbers: exact up to 2^53 ns (104 days) from the session origin, which bounds a session's length.
 */

export const MAGIC = 'RSCOPE';
export const VERSION = 2;
export const PREAMBLE_SIZE = 8;
export const HEADER_SIZE = 8;
export const MAX_PAYLOAD = 16 * 1024 * 1024;
/** Until the peer has proved the token, a frame may carry at most this much (docs/protocol.md, Handshake). */
export const PREAUTH_MAX_PAYLOAD = 4096;
export const NONCE_BYTES = 32;
/** HMAC-SHA256. */
export const PROOF_BYTES = 32;
/** In one SERVER_PROOF: the server proves at most this many tokens. */
export const MAX_PROOFS = 64;

export const FrameType = {
  hello: 0x01,
  sites: 0x02,
  events: 0x03,
  stall: 0x04,
  gauges: 0x05,
  loop: 0x06,
  meta: 0x07,
  goodbye: 0x08,
  // 0x09 was version 1's ATTACH, which carried the token in clear; it is not used again.
  challenge: 0x0a,
  serverProof: 0x0b,
  shimProof: 0x0c,
  welcome: 0x0d,
} as const;

/** The frame types this version decodes; a payload of any other type is skipped (docs/protocol.md, Stream). */
const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));

/** The EVENTS frame's kind column. 1-4 ran from the reactor loop; 5-7 ran nested inside one of those. */
export const EventKind = {
  timer: 1,
  ioRead: 2,
  ioWrite: 3,
  threadCall: 4,
  deferred: 5,
  coroutine: 6,
  /** A twisted.web resource rendering a request, inside its HTTP channel's read. */
  webRequest: 7,
} as const;

/** The kinds the reactor ran from its loop (a callback of its own); the others ran nested inside one of those. */
export const TOP_LEVEL_KINDS: ReadonlySet<number> = new Set([EventKind.timer, EventKind.ioRead, EventKind.ioWrite, EventKind.threadCall]);

/** The GAUGES frame's ids. */
export const Gauge = {
  pendingCalls: 1,
  readers: 2,
  writers: 3,
  threadpoolQueue: 4,
  threadpoolBusy: 5,
  threadpoolIdle: 6,
  threadCallQueue: 7,
  cpuUser: 8,
  cpuSystem: 9,
  rss: 10,
  gcGen0: 11,
  gcGen1: 12,
  gcGen2: 13,
  eventsDropped: 14,
  samplesDropped: 15,
} as const;

export type Metadata = Record<string, unknown>;
export interface Site {
  id: number;
  line: number;
  file: string;
  name: string;
}
export interface StallSample {
  t: number;
  /** (site, line) pairs, innermost frame first. */
  stack: [number, number][];
}

export type Frame =
  | { type: 'hello'; pid: number; originWallNs: number; metadata: Metadata }
  | { type: 'sites'; sites: Site[] }
  | { type: 'events'; start: Float64Array; duration: Float64Array; site: Uint32Array; kind: Uint8Array }
  | { type: 'stall'; callbackStart: number; site: number; kind: number; samples: StallSample[] }
  | { type: 'gauges'; t: number; values: [number, number][] }
  | {
      type: 'loop';
      start: number;
      end: number;
      iterations: number;
      busyNs: number;
      idleNs: number;
      lagTimes: Float64Array;
      lags: Float64Array;
    }
  | { type: 'meta'; metadata: Metadata }
  | { type: 'goodbye'; exitCode: number; reason: string }
  /** Nonces and proofs as lowercase hex. */
  | { type: 'challenge'; nonce: string }
  | { type: 'serverProof'; nonce: string; proofs: string[] }
  | { type: 'shimProof'; proof: string }
  | { type: 'welcome' };

/** The bytes break a rule of docs/protocol.md; the message says which. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(size: number): number {
    const at = this.offset;
    if (at + size > this.bytes.byteLength) {
      throw new ProtocolError(`${this.what} frame is truncated: needs ${size} bytes at offset ${at}`);
    }
    this.offset += size;
    return at;
  }

  skip(size: number): void {
    this.need(size);
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  hex(size: number): string {
    const at = this.need(size);
    let out = '';
    for (let i = at; i < at + size; i++) out += (this.bytes[i] ?? 0).toString(16).padStart(2, '0');
    return out;
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  i64(): number {
    const at = this.need(8);
    return this.view.getInt32(at + 4, true) * 4294967296 + this.view.getUint32(at, true);
  }
  f64(): number {
    return this.view.getFloat64(this.need(8), true);
  }
  string(): string {
    const length = this.u32();
    const at = this.need(length);
    try {
      return utf8.decode(this.bytes.subarray(at, at + length));
    } catch {
      throw new ProtocolError(`${this.what} frame has a string that is not UTF-8`);
    }
  }
  jsonObject(): Metadata {
    let value: unknown;
    try {
      value = JSON.parse(this.string());
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError(`${this.what} frame's metadata is not JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ProtocolError(`${this.what} frame's metadata is not a JSON object`);
    }
    return value as Metadata;
  }
  i64Column(n: number): Float64Array {
    const at = this.need(8 * n);
    const out = new Float64Array(n);
    for (let i = 0, p = at; i < n; i++, p += 8) {
      out[i] = this.view.getInt32(p + 4, true) * 4294967296 + this.view.getUint32(p, true);
    }
    return out;
  }
  u32Column(n: number): Uint32Array {
    const at = this.need(4 * n);
    const out = new Uint32Array(n);
    for (let i = 0, p = at; i < n; i++, p += 4) out[i] = this.view.getUint32(p, true);
    return out;
  }
  u8Column(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.slice(at, at + n);
  }
  done(): void {
    const left = this.bytes.byteLength - this.offset;
    if (left !== 0) throw new ProtocolError(`${this.what} frame has ${left} bytes left over`);
  }
}

/** Decodes one payload; undefined for a type this version does not know (skipped, per the spec). */
export function decodePayload(frameType: number, payload: Uint8Array): Frame | undefined {
  let frame: Frame;
  let r: Reader;
  switch (frameType) {
    case FrameType.hello: {
      r = new Reader(payload, 'HELLO');
      frame = { type: 'hello', pid: r.u32(), originWallNs: r.i64(), metadata: r.jsonObject() };
      break;
    }
    case FrameType.sites: {
      r = new Reader(payload, 'SITES');
      const count = r.u32();
      const sites: Site[] = [];
      for (let i = 0; i < count; i++) sites.push({ id: r.u32(), line: r.u32(), file: r.string(), name: r.string() });
      frame = { type: 'sites', sites };
      break;
    }
    case FrameType.events: {
      r = new Reader(payload, 'EVENTS');
      const n = r.u32();
      r.skip(4);
      frame = { type: 'events', start: r.i64Column(n), duration: r.i64Column(n), site: r.u32Column(n), kind: r.u8Column(n) };
      break;
    }
    case FrameType.stall: {
      r = new Reader(payload, 'STALL');
      const callbackStart = r.i64();
      const site = r.u32();
      const kind = r.u8();
      r.skip(3);
      const count = r.u32();
      const samples: StallSample[] = [];
      for (let i = 0; i < count; i++) {
        const t = r.i64();
        const depth = r.u16();
        r.skip(2);
        const stack: [number, number][] = [];
        for (let d = 0; d < depth; d++) stack.push([r.u32(), r.u32()]);
        samples.push({ t, stack });
      }
      frame = { type: 'stall', callbackStart, site, kind, samples };
      break;
    }
    case FrameType.gauges: {
      r = new Reader(payload, 'GAUGES');
      const t = r.i64();
      const count = r.u16();
      const values: [number, number][] = [];
      for (let i = 0; i < count; i++) values.push([r.u16(), r.f64()]);
      frame = { type: 'gauges', t, values };
      break;
    }
    case FrameType.loop: {
      r = new Reader(payload, 'LOOP');
      const start = r.i64();
      const end = r.i64();
      const iterations = r.u32();
      r.skip(4);
      const busyNs = r.i64();
      const idleNs = r.i64();
      const k = r.u32();
      r.skip(4);
      frame = { type: 'loop', start, end, iterations, busyNs, idleNs, lagTimes: r.i64Column(k), lags: r.i64Column(k) };
      break;
    }
    case FrameType.meta:
      r = new Reader(payload, 'META');
      frame = { type: 'meta', metadata: r.jsonObject() };
      break;
    case FrameType.goodbye:
      r = new Reader(payload, 'GOODBYE');
      frame = { type: 'goodbye', exitCode: r.i32(), reason: r.string() };
      break;
    case FrameType.challenge:
      r = new Reader(payload, 'CHALLENGE');
      frame = { type: 'challenge', nonce: r.hex(NONCE_BYTES) };
      break;
    case FrameType.serverProof: {
      r = new Reader(payload, 'SERVER_PROOF');
      const nonce = r.hex(NONCE_BYTES);
      const count = r.u32();
      if (count > MAX_PROOFS) throw new ProtocolError(`SERVER_PROOF frame has ${count} proofs, over the ${MAX_PROOFS} allowed`);
      const proofs: string[] = [];
      for (let i = 0; i < count; i++) proofs.push(r.hex(PROOF_BYTES));
      frame = { type: 'serverProof', nonce, proofs };
      break;
    }
    case FrameType.shimProof:
      r = new Reader(payload, 'SHIM_PROOF');
      frame = { type: 'shimProof', proof: r.hex(PROOF_BYTES) };
      break;
    case FrameType.welcome:
      r = new Reader(payload, 'WELCOME');
      frame = { type: 'welcome' };
      break;
    default:
      return undefined;
  }
  r.done();
  return frame;
}

/** Where in a stream a rule was broken: the byte offset of the frame (its header), and how many frames came before. */
export interface StreamPosition {
  /** Byte offset from the start of the stream (0: the preamble). */
  offset: number;
  /** Whole frames before it (skipped unknown types included); -1 for the preamble. */
  frame: number;
}

/**
 * A ProtocolError from `StreamDecoder.feed`: where the stream broke the rule, and the whole frames that the same
 * chunk held before that point (a reader of a damaged recording keeps them; docs/protocol.md, "Damaged streams").
 */
export class StreamError extends ProtocolError {
  constructor(
    message: string,
    readonly at: StreamPosition,
    readonly framesBefore: Frame[],
  ) {
    super(message);
  }
}

/**
 * Incremental decoder for one stream: feed chunks as they arrive, get whole frames back. Linear in the bytes fed:
 * chunks wait in a list with a running length, and a frame's bytes are joined once, when the frame is whole (each
 * byte is copied at most twice: into the list when a chunk's tail must wait, and into the joined frame). A frame
 * held within one chunk is decoded where it lies. What waits is always a copy, so the caller may reuse its chunk.
 */
export class StreamDecoder {
  /**
   * The largest payload accepted, checked as soon as a frame's header arrives (before its payload is read).
   * Settable: a connection may allow less until it has authenticated.
   */
  maxPayloadBytes = MAX_PAYLOAD;
  /** Bytes fed and not yet consumed: `waiting[first]` onwards, of which `head` bytes are consumed already. */
  private waiting: Uint8Array[] = [];
  private first = 0;
  private head = 0;
  private waitingBytes = 0;
  private preambleSeen = false;
  /** The header of the frame whose payload is awaited (`skipped`: bytes of an unknown type's payload dropped). */
  private header: { length: number; type: number; skipped: number } | undefined;
  /** Stream offset of the first waiting byte, and of the awaited frame's header. */
  private consumed = 0;
  private frameStart = 0;
  /** Whole frames read so far. */
  private frameCount = 0;
  /** The rule the stream broke: every later feed says it again. */
  private failure: StreamError | undefined;

  feed(chunk: Uint8Array): Frame[] {
    if (this.failure) throw new StreamError(this.failure.message, this.failure.at, []);
    const frames: Frame[] = [];
    this.waiting.push(chunk);
    this.waitingBytes += chunk.byteLength;
    try {
      this.decode(frames);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      const at = this.preambleSeen ? { offset: this.frameStart, frame: this.frameCount } : { offset: 0, frame: -1 };
      this.failure = new StreamError(error.message, at, frames);
      throw this.failure;
    } finally {
      this.keepWaiting(chunk);
    }
    return frames;
  }

  /** Bytes of an unfinished frame: non-zero at the end of a stream means it was cut short. */
  get pendingBytes(): number {
    return this.waitingBytes + (this.header ? HEADER_SIZE + this.header.skipped : 0);
  }

  /** Where the next frame starts (or the unfinished one started): the stream offset a cut stream ends in. */
  get position(): StreamPosition {
    return this.preambleSeen ? { offset: this.header ? this.frameStart : this.consumed, frame: this.frameCount } : { offset: 0, frame: -1 };
  }

  private decode(frames: Frame[]): void {
    if (!this.preambleSeen) {
      this.checkMagic();
      if (this.waitingBytes < PREAMBLE_SIZE) return;
      const preamble = this.take(PREAMBLE_SIZE);
      const version = new DataView(preamble.buffer, preamble.byteOffset, PREAMBLE_SIZE).getUint16(MAGIC.length, true);
      if (version !== VERSION) {
        throw new ProtocolError(
          `unsupported protocol version ${version} (this reader speaks ${VERSION}; the shim and the extension must come from the same Reactor Scope release)`,
        );
      }
      this.preambleSeen = true;
    }
    for (;;) {
      if (!this.header) {
        if (this.waitingBytes < HEADER_SIZE) return;
        this.frameStart = this.consumed;
        const bytes = this.take(HEADER_SIZE);
        const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
        const length = view.getUint32(0, true);
        const type = view.getUint8(4);
        this.header = { length, type, skipped: 0 };
        if (type === 0) throw new ProtocolError('frame type 0 is never sent (a run of zero bytes where a frame should start)');
        if (length > this.maxPayloadBytes) {
          throw new ProtocolError(`frame of ${length} bytes is over the ${this.maxPayloadBytes}-byte limit`);
        }
      }
      const header = this.header;
      let frame: Frame | undefined;
      if (KNOWN_TYPES.has(header.type)) {
        if (this.waitingBytes < header.length) return;
        frame = decodePayload(header.type, this.take(header.length));
      } else {
        // A type this version does not know: its payload is dropped as it comes, never joined or kept.
        const count = Math.min(header.length - header.skipped, this.waitingBytes);
        this.discard(count);
        header.skipped += count;
        if (header.skipped < header.length) return;
      }
      this.header = undefined;
      this.frameCount++;
      if (frame) frames.push(frame);
    }
  }

  /** Throws as soon as the bytes so far cannot be the magic. */
  private checkMagic(): void {
    let i = 0;
    for (let c = this.first; c < this.waiting.length && i < MAGIC.length; c++) {
      const part = this.waiting[c];
      for (let p = c === this.first ? this.head : 0; p < part.byteLength && i < MAGIC.length; p++, i++) {
        if (part[p] !== MAGIC.charCodeAt(i)) throw new ProtocolError('stream does not start with the RSCOPE magic');
      }
    }
  }

  /** The next `size` waiting bytes (there are that many): a view when one chunk holds them, else joined once. */
  private take(size: number): Uint8Array {
    this.waitingBytes -= size;
    this.consumed += size;
    const part = this.waiting[this.first];
    if (!part || part.byteLength - this.head >= size) {
      const out = part ? part.subarray(this.head, this.head + size) : new Uint8Array(0);
      this.advance(size);
      return out;
    }
    const out = new Uint8Array(size);
    for (let filled = 0; filled < size; ) {
      const from = this.waiting[this.first];
      const count = Math.min(size - filled, from.byteLength - this.head);
      out.set(from.subarray(this.head, this.head + count), filled);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  /** Consumes the next `count` waiting bytes (there are that many) without looking at them. */
  private discard(count: number): void {
    this.waitingBytes -= count;
    this.consumed += count;
    while (count > 0) {
      const part = this.waiting[this.first];
      if (!part) return;
      const n = Math.min(count, part.byteLength - this.head);
      this.advance(n);
      count -= n;
    }
  }

  /** Consumes `count` bytes of the first waiting chunk (at most what it has left). */
  private advance(count: number): void {
    this.head += count;
    const part = this.waiting[this.first];
    if (part && this.head === part.byteLength) {
      this.first++;
      this.head = 0;
    }
  }

  /** After a feed: drops consumed chunks, and copies what of the caller's `chunk` still waits. */
  private keepWaiting(chunk: Uint8Array): void {
    if (this.first > 0) {
      this.waiting = this.waiting.slice(this.first);
      this.first = 0;
    }
    const last = this.waiting.length - 1;
    if (this.waiting[last] !== chunk) return;
    // A copy even of a Node Buffer (whose slice() is a view).
    const from = last === 0 ? this.head : 0;
    const copy = new Uint8Array(chunk.byteLength - from);
    copy.set(chunk.subarray(from));
    this.waiting[last] = copy;
    this.head = last === 0 ? 0 : this.head;
  }
}

/** The preamble both sides send first. */
export function encodePreamble(): Uint8Array {
  const out = new Uint8Array(PREAMBLE_SIZE);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  new DataView(out.buffer).setUint16(MAGIC.length, VERSION, true);
  return out;
}

/** One frame: header and payload. */
export function encodeFrame(frameType: number, payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_PAYLOAD) throw new ProtocolError(`payload of ${payload.byteLength} bytes is over the ${MAX_PAYLOAD}-byte limit`);
  const out = new Uint8Array(HEADER_SIZE + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.byteLength, true);
  view.setUint8(4, frameType);
  out.set(payload, HEADER_SIZE);
  return out;
}

function fixed(value: Uint8Array, size: number, what: string): Uint8Array {
  if (value.byteLength !== size) throw new ProtocolError(`${what} must be ${size} bytes, got ${value.byteLength}`);
  return value;
}

/** The shim's nonce (the handshake's first frame). The server sends none; the tests' peers do. */
export function encodeChallenge(nonce: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.challenge, fixed(nonce, NONCE_BYTES, 'a nonce'));
}

/** The server's nonce and its proof of each token it accepts. */
export function encodeServerProof(nonce: Uint8Array, proofs: readonly Uint8Array[]): Uint8Array {
  if (proofs.length > MAX_PROOFS) throw new ProtocolError(`${proofs.length} proofs is over the ${MAX_PROOFS} a SERVER_PROOF may carry`);
  const payload = new Uint8Array(NONCE_BYTES + 4 + PROOF_BYTES * proofs.length);
  payload.set(fixed(nonce, NONCE_BYTES, 'a nonce'), 0);
  new DataView(payload.buffer).setUint32(NONCE_BYTES, proofs.length, true);
  proofs.forEach((proof, i) => payload.set(fixed(proof, PROOF_BYTES, 'a proof'), NONCE_BYTES + 4 + PROOF_BYTES * i));
  return encodeFrame(FrameType.serverProof, payload);
}

/** The shim's proof. The server sends none; the tests' peers do. */
export function encodeShimProof(proof: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.shimProof, fixed(proof, PROOF_BYTES, 'a proof'));
}

/** The server took the shim's proof: HELLO may follow. */
export function encodeWelcome(): Uint8Array {
  return encodeFrame(FrameType.welcome, new Uint8Array(0));
}
