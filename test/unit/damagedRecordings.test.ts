/**
 * Recordings that are damaged, empty, huge or unreadable, read by the real telemetry server class from real
 * files (server/src/telemetry.ts, through server/src/recordingReader.ts): every whole frame before the damage is
 * kept, the session ends with a note that says where it stopped, and a restarted server adopts every run even
 * when one run's recording is bad.
 */
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FrameType } from '../../protocol/wire';
import { Telemetry } from '../../server/src/telemetry';
import { RawPeer } from './shimPeers';
import { concatBytes, frameBytes, frameSpans, helloFrame, preamble } from './wireBytes';

const RECORDING = join(__dirname, '../../test/fixtures/hotspots/recording.rsrec'); // one real run of the shim
const intact = new Uint8Array(readFileSync(RECORDING));
const spans = frameSpans(intact);
const eventsIn = (span: { start: number; type: number }): number =>
  span.type === FrameType.events ? new DataView(intact.buffer, intact.byteOffset).getUint32(span.start + 8, true) : 0;
const totalEvents = spans.reduce((sum, span) => sum + eventsIn(span), 0);
const GIB = 1024 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'reactorscope-recordings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function server(): Telemetry {
  return new Telemetry({ slowThresholdMs: 50, historyMemoryMb: 64, socketKind: 'tcp' }, () => undefined);
}

async function open(telemetry: Telemetry, path: string): Promise<{ state: string; problem?: string; eventsStored: number }> {
  const id = await telemetry.openRecording(path);
  const info = telemetry.sessionInfos().find((s) => s.id === id);
  assert.ok(info);
  return info;
}

/** Deterministic positions: every byte of the preamble and the first frames, then a seeded spread of the rest. */
function positions(): number[] {
  const out = Array.from({ length: 96 }, (_, i) => i);
  let seed = 11;
  while (out.length < 400) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    out.push(96 + (seed % (intact.byteLength - 96)));
  }
  return out;
}

test('the real recording is there, with frames and events to lose', () => {
  assert.ok(spans.length > 10 && totalEvents > 20, `${spans.length} frames, ${totalEvents} events`);
  assert.equal(spans.at(-1)?.end, intact.byteLength);
});

test('one flipped byte keeps every whole frame before it, and the note says where reading stopped', async () => {
  const telemetry = server();
  const path = join(dir, 'flipped.rsrec');
  try {
    for (const p of positions()) {
      const bytes = intact.slice();
      bytes[p] = (bytes[p] ?? 0) ^ 0xff;
      writeFileSync(path, bytes);
      const info = await open(telemetry, path);
      const where = `byte ${p} flipped`;
      assert.equal(info.state, 'ended', where);
      const before = spans.filter((s) => s.end <= p).reduce((sum, s) => sum + eventsIn(s), 0);
      assert.ok(info.eventsStored >= before, `${where}: ${info.eventsStored} events kept, ${before} were whole before it`);
      const hit = spans.find((s) => s.start <= p && p < s.end);
      // A flipped type byte makes a frame of a type this version does not know: skipped, as the protocol says.
      const typeByte = hit !== undefined && p === hit.start + 4;
      if (info.eventsStored < totalEvents && !typeByte) {
        if (p < 8) {
          assert.match(info.problem ?? '', /not a Reactor Scope recording/, where);
        } else {
          const stopped = /at byte ([\d,]+)/.exec(info.problem ?? '');
          assert.ok(stopped, `${where}: the note says where reading stopped: ${info.problem}`);
          assert.ok(Number(stopped[1]?.replace(/,/g, '')) >= (hit?.start ?? 0), `${where}: ${info.problem}`);
        }
      }
      telemetry.clear();
    }
  } finally {
    await telemetry.dispose();
  }
});

test('an empty file, a file of zeros and a run of zeros after the frames are not clean recordings', async () => {
  const telemetry = server();
  try {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty.rsrec', new Uint8Array(0), /file is empty, so it is not a Reactor Scope recording/],
      ['zeros.rsrec', new Uint8Array(64 * 1024), /not a Reactor Scope recording/],
      ['zero-tail.rsrec', concatBytes(intact, new Uint8Array(4096)), new RegExp(`damaged at byte ${intact.byteLength.toLocaleString('en-US')}, in frame ${spans.length + 1} \\(frame type 0`)],
      ['only-preamble.rsrec', preamble(), /holds no frames/],
    ];
    for (const [name, bytes, note] of cases) {
      writeFileSync(join(dir, name), bytes);
      const info = await open(telemetry, join(dir, name));
      assert.equal(info.state, 'ended', name);
      assert.match(info.problem ?? '(no note)', note, name);
    }
  } finally {
    await telemetry.dispose();
  }
});

test('a sparse file over 2 GiB reads without a RangeError and ends as a session with a note, never waiting', async () => {
  const path = join(dir, 'huge.rsrec');
  writeFileSync(path, intact);
  truncateSync(path, 2 * GIB + 1); // a hole: no disk used
  const telemetry = server();
  try {
    const info = await open(telemetry, path);
    assert.equal(info.state, 'ended');
    assert.equal(info.eventsStored, totalEvents, 'everything before the zeros');
    assert.match(info.problem ?? '', new RegExp(`damaged at byte ${intact.byteLength.toLocaleString('en-US')}`));
  } finally {
    await telemetry.dispose();
    rmSync(path, { force: true });
  }
});

test('a restarted server adopts every run when one recording is bad, and says which and why', async () => {
  const good = join(dir, 'good.rsrec');
  const huge = join(dir, 'adopt-huge.rsrec');
  const damaged = join(dir, 'damaged.rsrec');
  const folder = join(dir, 'a-folder.rsrec');
  // Recordings of runs still going: no GOODBYE yet (a run that said GOODBYE has ended, and its token with it).
  const last = spans[spans.length - 1];
  assert.equal(last?.type, FrameType.goodbye);
  const running = intact.subarray(0, last.start);
  writeFileSync(good, running);
  writeFileSync(huge, running);
  truncateSync(huge, 2 * GIB + 1);
  // HELLO, then an EVENTS frame whose count promises more than it holds.
  const hello = helloFrame();
  writeFileSync(damaged, concatBytes(preamble(), hello, frameBytes(FrameType.events, Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0))));
  mkdirSync(folder, { recursive: true });
  const address = `unix:${join(dir, 'sock', 'debug.sock')}`;
  const telemetry = server();
  try {
    const recordings = [good, huge, damaged, folder];
    const ids = await telemetry.adoptLaunches(
      recordings.map((recording, i) => ({ label: `app${i}`, address, token: `token-${i}`, droppedBefore: 0, recording })),
    );
    assert.equal(ids.length, recordings.length);
    const infos = ids.map((id) => telemetry.sessionInfos().find((s) => s.id === id));
    assert.equal(infos[0]?.eventsStored, totalEvents, 'the good recording is read back whole');
    assert.doesNotMatch(infos[0]?.note ?? '', /could not be read back/);
    assert.deepEqual(infos.map((s) => s?.noteKinds), [['restartWaiting'], ['restartWaiting', 'recordingUnread'], ['restartWaiting', 'recordingUnread'], ['restartWaiting', 'recordingUnread']]);
    assert.match(infos[1]?.note ?? '', /could not be read back whole: the recording is damaged at byte/);
    assert.match(infos[2]?.note ?? '', new RegExp(`could not be read back whole: the recording is damaged at byte ${8 + hello.byteLength}, in frame 2`));
    assert.match(infos[3]?.note ?? '', /could not be read back whole: could not read the recording/);
    // Every app reconnects: the server listens at their address and knows each token.
    for (const [i, id] of ids.entries()) {
      const peer = RawPeer.connectUnix(address.slice('unix:'.length));
      await peer.authenticate(`token-${i}`);
      peer.socket.write(helloFrame());
      const deadline = Date.now() + 10_000;
      while (telemetry.sessionInfos().find((s) => s.id === id)?.state !== 'live') {
        assert.ok(Date.now() < deadline, `app${i} did not become live`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      peer.socket.destroy();
    }
  } finally {
    await telemetry.dispose();
    rmSync(huge, { force: true });
  }
});
