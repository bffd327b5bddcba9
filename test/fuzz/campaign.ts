/**
 * The fuzz campaign (issue 11): random, mutated, truncated and oversized input through the telemetry server's
 * debug socket, before the handshake (any local user) and after it (a malicious or broken app that knows its
 * token), and through its recording reader (damaged files), against the real server classes in a process of
 * their own (test/fuzz/target.ts). The seeds are real streams: the golden recording of test/fixtures/hotspots/
 * and the wire fixtures. It fails on a crash (the target exits), a hang (a probe or the end of a connection
 * unanswered within HANG_MS), a view that throws on accepted data, or memory over its bound; and prints what was
 * sent, what the server took, how connections ended, the target's memory and its longest event-loop hold.
 *
 *   node dist-test/fuzz/campaign.js [--frames N] [--seed S] [--json FILE]
 *
 * `npm test` runs it as the `fuzz` group with a million frames; the figures of a run go to docs/security.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prove, SERVER_LABEL, SHIM_LABEL } from '../../protocol/handshake';
import { FrameType, HEADER_SIZE, MAGIC, NONCE_BYTES, PREAMBLE_SIZE, StreamDecoder, VERSION } from '../../protocol/wire';
import type { Ask, Probe } from './target';

/** A connection, a probe or a recording not answered in this long is a hang (nothing here is a timing test). */
const HANG_MS = 30_000;
/** Connections in flight at once. */
const PARALLEL = 8;
/** The target's RSS may not pass this (its history budget is FUZZ_HISTORY_MB, 64 MB). */
const RSS_LIMIT_BYTES = 512 * 1024 * 1024;
const HISTORY_MB = 64;

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
};
const TOTAL_FRAMES = Number(option('--frames', '1000000'));
const SEED = Number(option('--seed', String(Date.now() % 1e9)));
const JSON_OUT = option('--json', '');

// -- deterministic randomness (mulberry32), so a failing seed can be run again ----------------------------------
let state = SEED | 0;
function rand(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const chance = (p: number): boolean => rand() < p;
function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(256);
  return out;
}

// -- frames --------------------------------------------------------------------------------------------------
interface RawFrame {
  type: number;
  payload: Uint8Array;
}

const root = join(__dirname, '../..');

/** Splits a stream into its frames by their headers (no decoding: seeds may be any type). */
function framesOf(stream: Uint8Array): RawFrame[] {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const frames: RawFrame[] = [];
  for (let at = PREAMBLE_SIZE; at + HEADER_SIZE <= stream.byteLength; ) {
    const length = view.getUint32(at, true);
    const end = at + HEADER_SIZE + length;
    if (end > stream.byteLength) break;
    frames.push({ type: view.getUint8(at + 4), payload: stream.subarray(at + HEADER_SIZE, end) });
    at = end;
  }
  return frames;
}

/** Real streams of this version that decode whole: the golden recording and the wire fixtures that are not errors. */
const SEED_STREAMS = [
  join(root, 'test/fixtures/hotspots/recording.rsrec'),
  ...readdirSync(join(root, 'test/fixtures/wire'))
    .filter((f) => f.endsWith('.bin'))
    .map((f) => join(root, 'test/fixtures/wire', f)),
]
  .map((path) => new Uint8Array(readFileSync(path)))
  .filter((stream) => {
    try {
      new StreamDecoder().feed(stream);
      return true;
    } catch {
      return false;
    }
  });
const HANDSHAKE_TYPES = new Set<number>([FrameType.challenge, FrameType.serverProof, FrameType.shimProof, FrameType.welcome]);
const seedFrames = SEED_STREAMS.flatMap(framesOf).filter((f) => !HANDSHAKE_TYPES.has(f.type));
const helloSeeds = seedFrames.filter((f) => f.type === FrameType.hello);
const bodySeeds = seedFrames.filter((f) => f.type !== FrameType.hello && f.type !== FrameType.goodbye);
const goodbyeSeeds = seedFrames.filter((f) => f.type === FrameType.goodbye);
const recordingSeed = SEED_STREAMS[0];

function encode(frame: RawFrame, claimedLength = frame.payload.byteLength): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + frame.payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, claimedLength >>> 0, true);
  view.setUint8(4, frame.type & 0xff);
  out.set(frame.payload, HEADER_SIZE);
  return out;
}

function preamble(version = VERSION): Uint8Array {
  const out = new Uint8Array(PREAMBLE_SIZE);
  out.set(Buffer.from(MAGIC, 'ascii'));
  new DataView(out.buffer).setUint16(MAGIC.length, version, true);
  return out;
}

const EXTREMES = [0, 0xff, 0x7f, 0x80];
const EXTREME_F64 = [NaN, Infinity, -Infinity, 2 ** 63, -(2 ** 63), 1e300, -1, 0];

/** One mutation of a frame, of the kinds a damaged or hostile stream has. */
function mutate(frame: RawFrame): { frame: RawFrame; claimedLength?: number } {
  const payload = new Uint8Array(frame.payload);
  const view = new DataView(payload.buffer);
  switch (int(9)) {
    case 0: // a few flipped bytes
      for (let i = 1 + int(8); i > 0 && payload.byteLength; i--) payload[int(payload.byteLength)] ^= 1 << int(8);
      return { frame: { type: frame.type, payload } };
    case 1: // extreme bytes
      for (let i = 1 + int(4); i > 0 && payload.byteLength; i--) payload[int(payload.byteLength)] = pick(EXTREMES);
      return { frame: { type: frame.type, payload } };
    case 2: // an extreme 64-bit value (times, durations, lag) at an aligned place
      if (payload.byteLength >= 8) view.setFloat64(8 * int(payload.byteLength >> 3), pick(EXTREME_F64), true);
      return { frame: { type: frame.type, payload } };
    case 3: // a huge count or length field where the payload starts
      if (payload.byteLength >= 4) view.setUint32(4 * int(Math.min(4, payload.byteLength >> 2)), pick([0xffffffff, 0x7fffffff, 1 << 24, 0]), true);
      return { frame: { type: frame.type, payload } };
    case 4: // truncated payload, its length honest
      return { frame: { type: frame.type, payload: payload.subarray(0, int(payload.byteLength + 1)) } };
    case 5: // extended with random bytes
      return { frame: { type: frame.type, payload: Buffer.concat([payload, bytes(1 + int(256))]) } };
    case 6: // a header that lies about the length (the rest of the stream is read out of step)
      return { frame: { type: frame.type, payload }, claimedLength: int(payload.byteLength * 2 + 64) };
    case 7: // another type's payload
      return { frame: { type: pick(bodySeeds).type, payload } };
    default: // a random type and payload
      return { frame: { type: int(256), payload: bytes(int(512)) } };
  }
}

// -- the target ----------------------------------------------------------------------------------------------
class Target {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  exited: string | undefined;
  readonly ready: Promise<unknown>;

  constructor() {
    this.child = fork(join(__dirname, 'target.js'), [], {
      env: { ...process.env, FUZZ_HISTORY_MB: String(HISTORY_MB) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve) => this.waiting.set(0, { resolve, reject: () => undefined }));
    this.child.on('message', (message: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(message.error));
    });
    this.child.on('exit', (code, signal) => {
      this.exited = `the target exited (code ${code}, signal ${signal})`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(this.exited));
      this.waiting.clear();
    });
  }

  ask<T>(request: Ask): Promise<T> {
    const id = this.nextId++;
    return within(
      new Promise<T>((resolve, reject) => {
        this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
        this.child.send({ ...request, id });
      }),
      `the target did not answer ${request.op}`,
    );
  }

  kill(): void {
    this.child.kill();
  }
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} within ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// -- connections ---------------------------------------------------------------------------------------------
interface Ticket {
  address: string;
  token: string;
}

function connect(address: string): net.Socket {
  const match = /^tcp:([^:]+):(\d+)$/.exec(address);
  if (!match) throw new Error(`unexpected address ${address}`);
  // Flowing: what the server sends is read (and dropped), so that its end is seen and the socket closes.
  return net.connect({ host: match[1], port: Number(match[2]) }).resume();
}

/** Writes `data` in pieces of random sizes (one write, 1-byte dribbles, MTU-sized, 64 KiB). */
function writeChunked(socket: net.Socket, data: Uint8Array): void {
  const style = int(4);
  if (style === 0 || data.byteLength < 64) {
    socket.write(data);
    return;
  }
  // Dribbles for small streams only: a 16 MiB frame in 1-byte writes would test the campaign's patience.
  const size = style === 1 && data.byteLength < 1 << 16 ? 1 + int(16) : style === 2 ? 1460 : 65536;
  for (let at = 0; at < data.byteLength; at += size) socket.write(data.subarray(at, at + size));
}

/** Resolves when the socket has closed (either side); a socket never closed is a hang. */
function closed(socket: net.Socket): Promise<void> {
  return within(new Promise<void>((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    socket.on('close', () => resolve());
  }), 'a connection to end');
}

/**
 * The shim's side of the handshake (docs/protocol.md): sends the preamble and a CHALLENGE, checks the server's
 * proof, answers with its own. Resolves with the socket ready for HELLO, or undefined when the server did not
 * prove the token (the session has ended) or refused.
 */
function authenticate(ticket: Ticket): Promise<net.Socket | undefined> {
  const socket = connect(ticket.address);
  socket.on('error', () => undefined);
  const shimNonce = randomBytes(NONCE_BYTES);
  const decoder = new StreamDecoder();
  return within(
    new Promise<net.Socket | undefined>((resolve) => {
      socket.on('close', () => resolve(undefined));
      socket.on('data', (chunk: Buffer) => {
        let frames;
        try {
          frames = decoder.feed(chunk);
        } catch {
          socket.destroy();
          return;
        }
        for (const frame of frames) {
          if (frame.type === 'serverProof') {
            const serverNonce = Buffer.from(frame.nonce, 'hex');
            const expected = Buffer.from(prove(ticket.token, SERVER_LABEL, shimNonce, serverNonce)).toString('hex');
            if (!frame.proofs.includes(expected)) {
              // Its session ended (a GOODBYE, perhaps one a mutation made): its token is dead, as it must be.
              socket.destroy();
              return;
            }
            socket.write(encode({ type: FrameType.shimProof, payload: prove(ticket.token, SHIM_LABEL, shimNonce, serverNonce) }));
          } else if (frame.type === 'welcome') {
            socket.removeAllListeners('data');
            resolve(socket);
          }
        }
      });
      socket.write(Buffer.concat([preamble(), encode({ type: FrameType.challenge, payload: shimNonce })]));
    }),
    'the handshake',
  );
}

// -- families ------------------------------------------------------------------------------------------------
interface Tally {
  frames: number;
  connections: number;
  refusedHandshakes: number;
}

const tally: Record<string, Tally> = {};
const count = (family: string, frames: number, connections = 1): void => {
  const t = (tally[family] ??= { frames: 0, connections: 0, refusedHandshakes: 0 });
  t.frames += frames;
  t.connections += connections;
};

/** Any local user, no token: garbage, wrong versions, handshake frames with wrong proofs, oversized headers. */
async function preAuth(ticket: Ticket): Promise<void> {
  const socket = connect(ticket.address);
  socket.on('error', () => undefined);
  const parts: Uint8Array[] = [];
  let frames = 1;
  switch (int(7)) {
    case 0: // random bytes from the first byte
      parts.push(bytes(1 + int(4096)));
      break;
    case 1: // a preamble of another version
      parts.push(preamble(pick([0, 1, 3, 0xffff])), encode({ type: FrameType.challenge, payload: bytes(NONCE_BYTES) }));
      break;
    case 2: // random frames after a good preamble
      parts.push(preamble());
      frames = 1 + int(20);
      for (let i = 0; i < frames; i++) parts.push(encode({ type: int(256), payload: bytes(int(600)) }));
      break;
    case 3: // a header announcing a huge frame (the cap before authentication refuses it at once)
      parts.push(preamble(), encode({ type: pick([FrameType.hello, FrameType.challenge, FrameType.events]), payload: bytes(int(64)) }, pick([16 << 20, 0xffffffff, 4097, 1 << 30])));
      break;
    case 4: // a challenge, then a wrong proof (a guessed or old token)
      parts.push(preamble(), encode({ type: FrameType.challenge, payload: bytes(NONCE_BYTES) }), encode({ type: FrameType.shimProof, payload: bytes(32) }));
      frames = 2;
      break;
    case 5: // version 1's way: HELLO with a token in it, first
      parts.push(preamble(), encode(mutate(pick(helloSeeds)).frame));
      break;
    default: // mutated handshake frames
      parts.push(preamble(), encode(mutate({ type: FrameType.challenge, payload: bytes(NONCE_BYTES) }).frame), encode(mutate({ type: FrameType.shimProof, payload: bytes(32) }).frame));
      frames = 2;
  }
  const data = Buffer.concat(parts);
  writeChunked(socket, chance(0.2) ? data.subarray(0, int(data.byteLength)) : data);
  socket.end();
  await closed(socket);
  count('before the handshake', frames);
}

/** An app that knows its token: HELLO, then real frames, some mutated, cut or lying about their length. */
async function postAuth(getTicket: () => Promise<Ticket>, dead: (ticket: Ticket) => void): Promise<void> {
  const ticket = await getTicket();
  const socket = await authenticate(ticket);
  if (!socket) {
    (tally['after the handshake'] ??= { frames: 0, connections: 0, refusedHandshakes: 0 }).refusedHandshakes++;
    dead(ticket);
    return;
  }
  const rate = pick([0, 0, 0.001, 0.01, 0.05, 0.3]);
  const n = 20 + int(400);
  const parts: Uint8Array[] = [encode(chance(rate) ? mutate(pick(helloSeeds)).frame : pick(helloSeeds))];
  for (let i = 0; i < n; i++) {
    if (chance(rate)) {
      const { frame, claimedLength } = mutate(pick(bodySeeds));
      parts.push(encode(frame, claimedLength));
    } else {
      parts.push(encode(pick(bodySeeds)));
    }
  }
  if (chance(0.1)) {
    parts.push(encode(pick(goodbyeSeeds)));
    dead(ticket); // its session ends: its token no longer opens one
  }
  const data = Buffer.concat(parts);
  writeChunked(socket, chance(0.1) ? data.subarray(0, int(data.byteLength)) : data);
  socket.end();
  await closed(socket);
  count('after the handshake', n + 1);
}

/** A few huge frames: 16 MiB of a real type in MTU-sized pieces, after the handshake. */
async function oversized(ticket: Ticket): Promise<void> {
  const socket = await authenticate(ticket);
  if (!socket) throw new Error('a new launch was refused');
  const payload = bytes(16 * 1024 * 1024 - int(1024));
  writeChunked(socket, Buffer.concat([encode(pick(helloSeeds)), encode({ type: pick([FrameType.events, FrameType.sites, FrameType.stall, 0x7f]), payload })]));
  socket.end();
  await closed(socket);
  count('oversized, after the handshake', 2);
}

/** Damaged recordings: flipped, cut, zeroed, spliced, empty, sparse and huge; each opened as a session. */
async function recording(target: Target, dir: string, index: number): Promise<void> {
  const path = join(dir, `r${index % 16}.rsrec`);
  const seed = recordingSeed;
  let data: Uint8Array;
  let frames = framesOf(seed).length;
  switch (int(6)) {
    case 0: {
      data = new Uint8Array(seed);
      for (let i = 1 + int(16); i > 0; i--) data[int(data.byteLength)] ^= 1 << int(8);
      break;
    }
    case 1:
      data = seed.subarray(0, int(seed.byteLength + 1));
      break;
    case 2: {
      data = new Uint8Array(seed);
      const at = int(data.byteLength);
      data.fill(0, at, at + 1 + int(4096));
      break;
    }
    case 3: { // frames of the seed, some mutated, in a new order
      const body = framesOf(seed);
      frames = 1 + int(body.length * 2);
      const parts: Uint8Array[] = [preamble(), encode(pick(helloSeeds))];
      for (let i = 0; i < frames; i++) {
        const { frame, claimedLength } = chance(0.05) ? mutate(pick(body)) : { frame: pick(body), claimedLength: undefined };
        parts.push(encode(frame, claimedLength));
      }
      data = Buffer.concat(parts);
      break;
    }
    case 4:
      data = pick([new Uint8Array(0), new Uint8Array(4096), preamble(), bytes(int(8192))]);
      frames = 1;
      break;
    default:
      data = seed;
  }
  writeFileSync(path, data);
  if (index % 200 === 0) truncateSync(path, 2 ** 31 + int(1 << 20)); // sparse past 2 GiB: no disk used
  const outcome = await target.ask<{ state?: string }>({ op: 'open', path });
  if (outcome.state !== 'ended') throw new Error(`a recording opened as ${outcome.state}, not ended`);
  count('recordings', frames, 0);
}

// -- the campaign --------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const target = new Target();
  await within(target.ready, 'the target to start');
  const failures: string[] = [];
  const probes: Probe[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'reactorscope-fuzz-'));
  const started = Date.now();
  let ticket = await target.ask<Ticket>({ op: 'launch' });
  const dead = (old: Ticket): void => {
    if (old === ticket) ticket = { address: '', token: '' };
  };
  const fresh = async (): Promise<Ticket> => {
    if (!ticket.address) ticket = await target.ask<Ticket>({ op: 'launch' });
    return ticket;
  };
  const sent = (): number => Object.values(tally).reduce((n, t) => n + t.frames, 0);
  let step = 0;
  let recordings = 0;
  let nextProbe = 0;
  try {
    while (sent() < TOTAL_FRAMES && !target.exited) {
      const work: Promise<void>[] = [];
      for (let i = 0; i < PARALLEL; i++, step++) {
        const roll = rand();
        if (roll < 0.2) work.push(preAuth(await fresh()));
        else if (roll < 0.9) work.push(postAuth(fresh, dead));
        else work.push(recording(target, tmp, recordings++));
      }
      if (step % 1000 < PARALLEL) work.push(oversized(await target.ask<Ticket>({ op: 'launch' })));
      const results = await Promise.allSettled(work);
      for (const r of results) if (r.status === 'rejected') failures.push(String(r.reason instanceof Error ? r.reason.message : r.reason));
      if (failures.length) break;
      if (sent() >= nextProbe) {
        const probe = await target.ask<Probe>({ op: 'probe' });
        probes.push(probe);
        if (probe.rssBytes > RSS_LIMIT_BYTES) failures.push(`memory: the target's RSS reached ${(probe.rssBytes / 2 ** 20).toFixed(0)} MB`);
        nextProbe = sent() + TOTAL_FRAMES / 20;
        process.stdout.write(`  ${sent().toLocaleString('en-US')} frames, target RSS ${(probe.rssBytes / 2 ** 20).toFixed(0)} MB, ${probe.sessions} sessions, longest loop hold ${probe.loopMaxMs.toFixed(0)} ms\n`);
      }
    }
    if (!failures.length && !target.exited) probes.push(await target.ask<Probe>({ op: 'probe' }));
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  } finally {
    if (target.exited) failures.push(target.exited);
    target.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
  const last = probes.at(-1);
  const report = {
    seed: SEED,
    seconds: Math.round((Date.now() - started) / 1000),
    framesSent: sent(),
    families: tally,
    framesTakenByServer: last?.framesTaken,
    hellos: last?.hellos,
    closes: last?.closes,
    rssMaxMb: Math.round(Math.max(...probes.map((p) => p.rssBytes)) / 2 ** 20),
    rssLastMb: last && Math.round(last.rssBytes / 2 ** 20),
    loopMaxMs: Math.round(Math.max(...probes.map((p) => p.loopMaxMs))),
    failures,
  };
  console.log(JSON.stringify(report, null, 2));
  if (JSON_OUT) {
    // As scripts/test.mjs counts suites: the campaign is one test.
    writeFileSync(JSON_OUT, JSON.stringify({ passed: failures.length ? 0 : 1, failed: failures.length ? 1 : 0, skipped: 0 }));
  }
  process.exit(failures.length ? 1 : 0);
}

void main();
