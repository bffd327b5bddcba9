/**
 * server/src/recordingReader.ts on real files: a fixed buffer reads any size (a sparse file over 2 GiB, to the
 * end), a byte of a real recording flipped (2,000 and more positions, every frame header among them) keeps
 * exactly the whole frames before it, and each way a file can end is told apart.
 */
import * as assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Frame, HEADER_SIZE, MAX_PAYLOAD, StreamDecoder } from '../../protocol/wire';
import { readRecordingFile } from '../../server/src/recordingReader';
import { frameSpans, preamble } from './wireBytes';

const intact = new Uint8Array(readFileSync(join(__dirname, '../../test/fixtures/hotspots/recording.rsrec')));
const spans = frameSpans(intact);
const dir = mkdtempSync(join(tmpdir(), 'reactorscope-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function read(path: string, chunkBytes?: number): Promise<{ frames: Frame[]; result: Awaited<ReturnType<typeof readRecordingFile>> }> {
  const frames: Frame[] = [];
  const result = await readRecordingFile(path, (frame) => frames.push(frame), chunkBytes);
  return { frames, result };
}

test('a whole recording reads the same in 4 KiB reads as decoded at once', async () => {
  const path = join(dir, 'whole.rsrec');
  writeFileSync(path, intact);
  const { frames, result } = await read(path, 4096);
  assert.deepEqual(frames, new StreamDecoder().feed(intact));
  assert.deepEqual(result, { end: 'whole', bytes: intact.byteLength, frames: frames.length });
});

/** Byte positions to flip: all of the first 512 (preamble, HELLO, the first SITES), every header byte, every 11th. */
function positions(): number[] {
  const headers = new Set(spans.flatMap((s) => Array.from({ length: HEADER_SIZE }, (_, i) => s.start + i)));
  return Array.from({ length: intact.byteLength }, (_, p) => p).filter((p) => p < 512 || headers.has(p) || p % 11 === 0);
}

test('a flipped byte anywhere keeps exactly the whole frames before it', async () => {
  const path = join(dir, 'flip.rsrec');
  writeFileSync(path, intact);
  const whole = new StreamDecoder().feed(intact);
  // Known frame types only are returned; unknown ones (none in this recording) would be skipped.
  assert.equal(whole.length, spans.length);
  const fd = openSync(path, 'r+');
  let damaged = 0;
  try {
    for (const p of positions()) {
      writeSync(fd, Uint8Array.of((intact[p] ?? 0) ^ 0xff), 0, 1, p);
      const { frames, result } = await read(path, 4096);
      const before = spans.filter((s) => s.end <= p).length;
      assert.deepEqual(frames.slice(0, before), whole.slice(0, before), `byte ${p} flipped`);
      if (result.end !== 'whole') {
        damaged++;
        assert.ok(result.problem, `byte ${p}: ${result.end} without a note`);
      }
      writeSync(fd, intact.subarray(p, p + 1), 0, 1, p);
    }
  } finally {
    closeSync(fd);
  }
  assert.ok(damaged > 0);
});

test('a sparse file of over 2 GiB of frames reads to its end through one buffer', async () => {
  // The real recording, then 128 frames of a type this version does not know, 16 MiB each, all holes but their
  // headers: over 2 GiB that the reader goes through without keeping (about 3 s here, the file system's time).
  const path = join(dir, 'sparse.rsrec');
  writeFileSync(path, intact);
  const fd = openSync(path, 'r+');
  const header = new Uint8Array(HEADER_SIZE);
  new DataView(header.buffer).setUint32(0, MAX_PAYLOAD, true);
  header[4] = 0x7e;
  let at = intact.byteLength;
  try {
    for (let i = 0; i < 128; i++, at += HEADER_SIZE + MAX_PAYLOAD) writeSync(fd, header, 0, HEADER_SIZE, at);
  } finally {
    closeSync(fd);
  }
  truncateSync(path, at);
  assert.ok(at > 2 * 1024 ** 3, `${at} bytes`);
  const { frames, result } = await read(path);
  assert.deepEqual(result, { end: 'whole', bytes: at, frames: spans.length });
  assert.deepEqual(frames, new StreamDecoder().feed(intact));
});

test('a cut file, a missing file and a folder are told apart, each with its note', async () => {
  const cut = join(dir, 'cut.rsrec');
  writeFileSync(cut, intact.subarray(0, intact.byteLength - 5));
  const last = spans.at(-1);
  assert.ok(last);
  const { result } = await read(cut, 1000);
  assert.equal(result.end, 'cut');
  assert.equal(result.frames, spans.length - 1);
  assert.match(result.problem ?? '', new RegExp(`ends inside frame ${spans.length}, at byte ${last.start.toLocaleString('en-US')} \\(its last ${last.end - last.start - 5} bytes`));
  const missing = await read(join(dir, 'nothing-here.rsrec'));
  assert.equal(missing.result.end, 'unreadable');
  assert.match(missing.result.problem ?? '', /could not open the recording \(ENOENT/);
  mkdirSync(join(dir, 'folder.rsrec'));
  const folder = await read(join(dir, 'folder.rsrec'));
  assert.equal(folder.result.end, 'unreadable');
  assert.match(folder.result.problem ?? '', /EISDIR/);
  const short = join(dir, 'short.rsrec');
  writeFileSync(short, preamble().subarray(0, 5));
  assert.equal((await read(short)).result.end, 'foreign');
});
