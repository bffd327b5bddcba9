// `node bench/decoder.mjs`: the telemetry server's stream decoder (protocol/wire.ts StreamDecoder) against the
// one before issue 11 (commit BEFORE, read with git), and the shim's EVENTS frames before and after their cap
// (runtime/reactorscope/wire.py EVENTS_PER_FRAME). Prints, measured in this run:
//   1. CPU time to feed one 16 MiB frame in 1,460-byte pieces (a TCP segment's payload) and in 64 KiB pieces;
//   2. how long the server's loop is held per EVENTS frame (decode + ingest into a session store) for the
//      largest frame the shim sent before the cap (its 500,000-event buffer in one flush) and after it.
// Figures only, no pass/fail; `--quick` leaves out the old decoder's 1,460-byte run (over 20 s).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadBundled, random, root } from './lib.mjs';

const BEFORE = '234792d'; // the last commit with the concatenating decoder
const MIB = 1024 * 1024;
const quick = process.argv.includes('--quick');

const now = await loadBundled({ StreamDecoder: 'protocol/wire', SessionStore: 'server/src/store/sessionStore' });
const old = await (async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reactorscope-bench-'));
  try {
    writeFileSync(join(dir, 'wire.ts'), execFileSync('git', ['show', `${BEFORE}:protocol/wire.ts`], { cwd: root }));
    return await loadBundled({ StreamDecoder: 'wire' }, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
const eventsPerFrame = Number(
  execFileSync(join(root, '.venv/bin/python'), ['-c', 'from reactorscope import wire; print(wire.EVENTS_PER_FRAME)'], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime') },
  }),
);

/** Preamble and `frames` EVENTS frames of `n` events each, as the shim lays them out (docs/protocol.md). */
function eventsStream(n, frames = 1) {
  const next = random(7);
  const size = 8 + 8 + 21 * n;
  const out = Buffer.alloc(8 + frames * size);
  out.write('RSCOPE', 0, 'latin1');
  out.writeUInt16LE(1, 6);
  let t = 0;
  for (let f = 0, base = 8; f < frames; f++, base += size) {
    out.writeUInt32LE(size - 8, base);
    out.writeUInt8(3, base + 4);
    out.writeUInt32LE(n, base + 8);
    for (let i = 0; i < n; i++) {
      const duration = 2000 + Math.floor(next() * 40_000);
      out.writeBigInt64LE(BigInt(t), base + 16 + 8 * i);
      out.writeBigInt64LE(BigInt(duration), base + 16 + 8 * n + 8 * i);
      out.writeUInt32LE(1 + Math.floor(next() * 300), base + 16 + 16 * n + 4 * i);
      out.writeUInt8(1 + Math.floor(next() * 4), base + 16 + 20 * n + i);
      t += duration + Math.floor(next() * 10_000);
    }
  }
  return out;
}

/** CPU seconds (user + system) that feeding `bytes` in `piece`-byte chunks costs; checks one whole frame came out. */
function cpuToFeed(Decoder, bytes, piece) {
  const decoder = new Decoder();
  let frames = 0;
  const began = process.cpuUsage();
  for (let at = 0; at < bytes.length; at += piece) frames += decoder.feed(bytes.subarray(at, at + piece)).length;
  const used = process.cpuUsage(began);
  if (frames !== 1 || decoder.pendingBytes !== 0) throw new Error(`decoded ${frames} frames, ${decoder.pendingBytes} bytes left`);
  return (used.user + used.system) / 1e6;
}

const s = (seconds) => (seconds >= 1 ? `${seconds.toFixed(2)} s` : `${(seconds * 1000).toFixed(1)} ms`);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

console.log(`node ${process.version}; before: the decoder of ${BEFORE}; EVENTS_PER_FRAME (the shim's cap): ${eventsPerFrame.toLocaleString('en')}`);

// 1. One frame of the largest payload allowed, in pieces.
{
  const n = Math.floor((16 * MIB - 8) / 21);
  const bytes = eventsStream(n);
  console.log(`\n1. CPU time to feed one ${(bytes.length / MIB).toFixed(2)} MiB EVENTS frame (${n.toLocaleString('en')} events)`);
  for (const piece of [64 * 1024, 1460]) {
    const after = median([0, 1, 2].map(() => cpuToFeed(now.StreamDecoder, bytes, piece)));
    const skip = quick && piece < 64 * 1024;
    const before = skip ? undefined : cpuToFeed(old.StreamDecoder, bytes, piece);
    const ratio = before === undefined ? '' : `, ${(before / after).toFixed(0)}x less`;
    console.log(`   in ${piece.toLocaleString('en')}-byte pieces: before ${before === undefined ? '(skipped: --quick)' : s(before)}, after ${s(after)} (median of 3)${ratio}`);
  }
}

// 2. The loop held per socket read (feed + ingest into a session store) while 500,000 events arrive in 64 KiB
// reads: the shim's largest frame before the cap (its whole 500,000-event buffer in one flush) with the decoder
// before, that frame with the decoder now, and the same events in frames of EVENTS_PER_FRAME (the shim now).
{
  const total = 500_000;
  const read = 64 * 1024;
  const sites = Array.from({ length: 300 }, (_, i) => ({ id: i + 1, line: i + 1, file: `/srv/app/m${i % 20}.py`, name: `h${i}` }));
  const hold = (Decoder, n) => {
    const frames = Math.ceil(total / n);
    const bytes = eventsStream(n, frames);
    const perRead = [];
    const perRound = [];
    for (let round = 0; round < 3; round++) {
      const store = new now.SessionStore({ memoryCapBytes: 256 * MIB });
      store.ingest({ type: 'hello', token: '', pid: 1, originWallNs: 0, metadata: {} });
      store.ingest({ type: 'sites', sites });
      const decoder = new Decoder();
      const began = process.cpuUsage();
      for (let at = 0; at < bytes.length; at += read) {
        const t0 = performance.now();
        for (const frame of decoder.feed(bytes.subarray(at, at + read))) store.ingest(frame);
        perRead.push(performance.now() - t0);
      }
      const used = process.cpuUsage(began);
      perRound.push((used.user + used.system) / 1e6);
    }
    return { frames, mib: (16 + 21 * n) / MIB, longest: Math.max(...perRead), cpu: median(perRound) };
  };
  const rows = [
    ['before (one frame, old decoder)', hold(old.StreamDecoder, total)],
    ['one frame, decoder now', hold(now.StreamDecoder, total)],
    ['after (capped frames, decoder now)', hold(now.StreamDecoder, eventsPerFrame)],
  ];
  console.log(`\n2. The server's loop held per 64 KiB socket read (decode + ingest) while ${total.toLocaleString('en')} events arrive, 3 rounds`);
  for (const [name, r] of rows) {
    console.log(`   ${name}: ${r.frames} frame(s) of ${r.mib.toFixed(2)} MiB: longest read ${r.longest.toFixed(1)} ms; CPU ${s(r.cpu)} (median)`);
  }
  console.log(`   longest read: ${(rows[0][1].longest / rows[2][1].longest).toFixed(0)}x shorter than before`);
}
