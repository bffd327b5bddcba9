/** server/src/telemetry.ts: the timeline's requests over a recorded session (the golden fixture). */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Telemetry } from '../../server/src/telemetry';

const FIXTURE = join(__dirname, '../../test/fixtures/wire/session.bin');

async function recorded(): Promise<{ telemetry: Telemetry; sessionId: number }> {
  const telemetry = new Telemetry({ slowThresholdMs: 50, historyMemoryMb: 64, socketKind: 'tcp' }, () => undefined);
  const sessionId = await telemetry.openRecording(FIXTURE);
  return { telemetry, sessionId };
}

test('the whole session ends just past its latest sample; follow asks for the last span of it', async () => {
  const { telemetry, sessionId } = await recorded();
  const whole = telemetry.timeline({ sessionId, maxPoints: 1000 });
  assert.ok(whole && whole.latestNs > 0);
  assert.equal(whole.sessionId, sessionId);
  assert.deepEqual([whole.startNs, whole.endNs], [0, whole.latestNs + 1]);
  const span = whole.latestNs / 4;
  const last = telemetry.timeline({ sessionId, spanNs: span, maxPoints: 1000 });
  assert.deepEqual([last?.startNs, last?.endNs], [whole.latestNs - span, whole.latestNs + 1]);
  assert.equal(telemetry.timeline({ sessionId: sessionId + 1, maxPoints: 10 }), undefined, 'an unknown session has no range');
  await telemetry.dispose();
});

test('a sampled callback opens at the line it blocked in; an unsampled one at its handler', async () => {
  const { telemetry, sessionId } = await recorded();
  // The fixture's STALL frame samples the callback of site 1 that started at 1500 ns: 1 of 2 samples at line 14.
  assert.deepEqual(telemetry.callbackSource(sessionId, 1500, 1), {
    handler: { file: '/srv/app/handlers.py', line: 12, name: 'SlowResource.render_GET' },
    blocking: { file: '/srv/app/handlers.py', line: 14, name: 'SlowResource.render_GET' },
  });
  assert.deepEqual(telemetry.callbackSource(sessionId, 0, 1), {
    handler: { file: '/srv/app/handlers.py', line: 12, name: 'SlowResource.render_GET' },
    blocking: undefined,
  });
  assert.equal(telemetry.callbackSource(sessionId, 0, 999_999), undefined, 'an unknown site has no source');
  await telemetry.dispose();
});
