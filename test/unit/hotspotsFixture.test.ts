/**
 * The server's SessionStore.hotspots() (what the editor shows) against test/fixtures/hotspots/expected.json, which
 * runtime/tests/test_hotspots_fixture.py checks the shim's model.py (what --report prints) against too: one
 * golden recording, one expected result, so either side diverging fails (runtime/tests/hotspots_fixture.py).
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { UserCode } from '../../protocol/userCode';
import { StreamDecoder } from '../../protocol/wire';
import { SessionStore } from '../../server/src/store/sessionStore';
import { Telemetry } from '../../server/src/telemetry';

const dir = join(__dirname, '../../test/fixtures/hotspots');

interface ExpectedHandler {
  name: string;
  line: number;
  calls: number;
  maxNs: number;
  blockingLines: { name: string; line: number; heldNs: number }[];
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { handlers: ExpectedHandler[] };

test('the golden recording gives the expected hotspots: handlers, nested handlers, blocking lines and figures', () => {
  const decoder = new StreamDecoder();
  const frames = decoder.feed(new Uint8Array(readFileSync(join(dir, 'recording.rsrec'))));
  assert.equal(decoder.pendingBytes, 0, 'the recording is whole');
  const store = new SessionStore({ memoryCapBytes: 1024 * 1024 * 1024 });
  for (const frame of frames) store.ingest(frame);
  const userCode = UserCode.ofMetadata(store.summary().metadata);
  const handlers = store.hotspots().map((h) => ({
    name: h.name,
    file: basename(h.file),
    line: h.line,
    calls: h.count,
    p50Ns: h.p50Ns,
    p99Ns: h.p99Ns,
    maxNs: h.maxNs,
    totalNs: h.totalNs,
    nested: h.nested,
    sampled: h.sampled,
    blockingLines: h.blockingLines.map((b) => ({ name: b.name, file: basename(b.file), line: b.line, samples: b.samples, heldNs: b.heldNs })),
    userCode: userCode.isUserFile(h.file),
  }));
  assert.deepEqual(handlers, expected.handlers);
});

test('the recording reopened (Open Recording) gives the editor the same handlers and figures, and its userCode rule', async () => {
  const telemetry = new Telemetry({ slowThresholdMs: 50, historyMemoryMb: 64, socketKind: 'tcp' }, () => undefined);
  const sessionId = await telemetry.openRecording(join(dir, 'recording.rsrec'));
  const infos = telemetry.hotspots(sessionId).map((h) => ({
    name: h.name,
    line: h.line,
    calls: h.count,
    maxMs: h.maxMs,
    held: h.blockingLines.map((b) => [b.name, b.line, b.heldMs]),
  }));
  const ms = (ns: number): number => ns / 1_000_000;
  assert.deepEqual(
    infos,
    expected.handlers.map((h) => ({
      name: h.name,
      line: h.line,
      calls: h.calls,
      maxMs: ms(h.maxNs),
      held: h.blockingLines.map((b) => [b.name, b.line, ms(b.heldNs)]),
    })),
  );
  const session = telemetry.sessionInfos().find((s) => s.id === sessionId);
  assert.ok(session?.userCode && session.userCode.library.length > 0, 'the session carries the run\'s rule');
  await telemetry.dispose();
});
