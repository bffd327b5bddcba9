// `node bench/server-store.mjs`: the telemetry server's session store (server/src/store/sessionStore.ts) on
// synthetic callbacks. Prints the ingest rate of decoded EVENTS frames (10k events each) on one core, the time of
// queryRange over 10 million stored events (whole range and a 1% range, 2000 points), and the memory they take.
// Figures only, no pass/fail. The store is bundled with esbuild as the server is; the run re-executes itself
// with --expose-gc so the memory figures are taken after a collection.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { loadBundled, random } from './lib.mjs';

if (typeof globalThis.gc !== 'function') {
  const run = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const TOTAL_EVENTS = 10_000_000;
const FRAME_EVENTS = 10_000;
const POOL_FRAMES = 100; // 1M events generated once, shifted in time for each round
const SITES = 300;
const MAX_POINTS = 2000;

const { SessionStore, StreamDecoder } = await loadBundled({ SessionStore: 'server/src/store/sessionStore', StreamDecoder: 'protocol/wire' });

/**
 * Frames shaped like the shim's: top-level callbacks (kinds 1-4) one after another with idle gaps, some with a
 * nested Deferred or coroutine step sent before them (callbacks are sent in the order they end), sites skewed
 * towards a few hot ones, and now and then a long one.
 */
function makeFrames() {
  const next = random(42);
  const frames = [];
  let t = 0;
  for (let f = 0; f < POOL_FRAMES; f++) {
    const start = new Float64Array(FRAME_EVENTS);
    const duration = new Float64Array(FRAME_EVENTS);
    const site = new Uint32Array(FRAME_EVENTS);
    const kind = new Uint8Array(FRAME_EVENTS);
    let i = 0;
    while (i < FRAME_EVENTS) {
      t += Math.floor(next() * 40_000);
      const long = next() < 0.0005;
      const length = long ? 50_000_000 + Math.floor(next() * 200_000_000) : 2_000 + Math.floor(-Math.log(1 - next()) * 20_000);
      const topSite = 1 + Math.floor(SITES * next() ** 3);
      if (i + 1 < FRAME_EVENTS && next() < 0.3) {
        start[i] = t + Math.floor(length / 4);
        duration[i] = Math.floor(length / 2);
        site[i] = 1 + Math.floor(SITES * next());
        kind[i] = next() < 0.5 ? 5 : 6;
        i++;
      }
      start[i] = t;
      duration[i] = length;
      site[i] = topSite;
      kind[i] = 1 + Math.floor(next() * 4);
      i++;
      t += length;
    }
    frames.push({ type: 'events', start, duration, site, kind });
  }
  return { frames, span: t };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function time(f) {
  const began = performance.now();
  const result = f();
  return { ms: performance.now() - began, result };
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const { frames, span } = makeFrames();
const store = new SessionStore({ memoryCapBytes: 1024 * 1024 * 1024 });
store.ingest({ type: 'hello', pid: 1, originWallNs: 0, metadata: {} });
store.ingest({
  type: 'sites',
  sites: Array.from({ length: SITES }, (_, i) => ({ id: i + 1, line: 10 * i, file: `/srv/app/module${i % 20}.py`, name: `handler_${i}` })),
});

/** The frames as the shim sends them (docs/protocol.md): preamble, then EVENTS frames. */
function encodeStream(eventFrames) {
  const parts = [Buffer.from([0x52, 0x53, 0x43, 0x4f, 0x50, 0x45, 1, 0])];
  for (const { start, duration, site, kind } of eventFrames) {
    const n = start.length;
    const bytes = Buffer.alloc(8 + 8 + 21 * n);
    bytes.writeUInt32LE(8 + 21 * n, 0);
    bytes.writeUInt8(3, 4);
    bytes.writeUInt32LE(n, 8);
    let at = 16;
    for (const column of [start, duration]) for (let i = 0; i < n; i++, at += 8) bytes.writeBigInt64LE(BigInt(column[i]), at);
    for (let i = 0; i < n; i++, at += 4) bytes.writeUInt32LE(site[i], at);
    for (let i = 0; i < n; i++, at += 1) bytes.writeUInt8(kind[i], at);
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}

// Decoding and aggregating together, as the server does them: bytes in 64 KB chunks, as a socket delivers them.
{
  const wire = encodeStream(frames);
  const fresh = new SessionStore({ memoryCapBytes: 1024 * 1024 * 1024 });
  const decoder = new StreamDecoder();
  const rates = [];
  for (let round = 0; round < 3; round++) {
    const { ms } = time(() => {
      const d = round === 0 ? decoder : new StreamDecoder();
      for (let at = 0; at < wire.length; at += 65536) for (const frame of d.feed(wire.subarray(at, at + 65536))) fresh.ingest(frame);
    });
    rates.push((POOL_FRAMES * FRAME_EVENTS) / (ms / 1000));
  }
  console.log(`decode + ingest (wire bytes in 64 KB chunks): ${(median(rates) / 1e6).toFixed(2)} M events/s median of 3 rounds of 1M`);
}

const rounds = TOTAL_EVENTS / (POOL_FRAMES * FRAME_EVENTS);
let ingestMs = 0;
const roundRates = [];
for (let round = 0; round < rounds; round++) {
  if (round > 0) for (const frame of frames) for (let i = 0; i < frame.start.length; i++) frame.start[i] += span;
  const { ms } = time(() => {
    for (const frame of frames) store.ingest(frame);
  });
  ingestMs += ms;
  roundRates.push((POOL_FRAMES * FRAME_EVENTS) / (ms / 1000));
}
frames.length = 0;
const stored = store.eventsStored;
console.log(`node ${process.version}, ${stored.toLocaleString('en')} events stored, ${store.droppedEvents} dropped`);
console.log(
  `ingest: ${((stored / ingestMs) * 1000 / 1e6).toFixed(2)} M events/s overall ` +
    `(${(median(roundRates) / 1e6).toFixed(2)} M/s median of ${rounds} rounds of 1M, first ${(roundRates[0] / 1e6).toFixed(2)} M/s)`,
);

const end = span * rounds;
const queries = [
  ['whole range', 0, end],
  ['1% range', end * 0.5, end * 0.51],
];
for (const [name, from, to] of queries) {
  const runs = [];
  let result;
  for (let run = 0; run < 7; run++) {
    const timed = time(() => store.queryRange(from, to, MAX_POINTS));
    runs.push(timed.ms);
    result = timed.result;
  }
  const callbacks = result.callbacks;
  const items = callbacks.type === 'events' ? `${callbacks.start.length} events` : `${callbacks.lanes.length} lanes of <= ${Math.max(...callbacks.lanes.map((l) => l.count.length))} bins`;
  const counted = callbacks.type === 'events' ? callbacks.start.length : callbacks.lanes.reduce((n, l) => n + l.count.reduce((a, b) => a + b, 0), 0);
  console.log(
    `queryRange ${name} (maxPoints ${MAX_POINTS}): first ${runs[0].toFixed(2)} ms, median of 7 ${median(runs).toFixed(2)} ms ` +
      `-> ${items}, ${counted.toLocaleString('en')} callbacks`,
  );
}

const hot = time(() => store.hotspots());
console.log(`hotspots: ${hot.ms.toFixed(2)} ms for ${hot.result.length} sites`);

globalThis.gc();
const memory = process.memoryUsage();
console.log(
  `memory at ${stored.toLocaleString('en')} events: estimateMemoryBytes ${mb(store.estimateMemoryBytes())} ` +
    `(${(store.estimateMemoryBytes() / stored).toFixed(1)} B/event); process RSS ${mb(memory.rss)}, ` +
    `heap used ${mb(memory.heapUsed)}, array buffers ${mb(memory.arrayBuffers)}`,
);
