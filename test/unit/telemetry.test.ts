/** server/src/telemetry.ts: the timeline's requests over a recorded session (the golden fixture); one history budget. */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ShimConnection } from '../../server/src/debugSocket';
import { SessionStore } from '../../server/src/store/sessionStore';
import { Telemetry } from '../../server/src/telemetry';
import { Gauge } from '../../protocol/wire';
import { goldenRecording, timersAfter } from './frames';

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

test('historyMemoryMb is one budget for the server: ended sessions give up their oldest history first, and say so', async () => {
  const golden = goldenRecording();
  const frames = [...golden, ...timersAfter(golden, 50, 4000)];
  const hello = golden[0];
  assert.equal(hello.type, 'hello');
  const fed = frames.reduce((sum, f) => sum + (f.type === 'events' ? f.duration.length : 0), 0);
  // What one such session holds alone, with a store of the server's defaults and no cap.
  const alone = new SessionStore({ memoryCapBytes: Number.MAX_SAFE_INTEGER });
  for (const frame of frames) alone.ingest(frame);
  const sessionMb = alone.estimateMemoryBytes() / (1024 * 1024);
  // Two live sessions fit in the budget with room to spare; the five together do not, nor does any one alone fill it.
  const historyMemoryMb = Math.ceil(3 * sessionMb);
  const telemetry = new Telemetry({ slowThresholdMs: 50, historyMemoryMb, socketKind: 'tcp' }, () => undefined);
  try {
    const ids: number[] = [];
    const connections: ShimConnection[] = [];
    for (let i = 0; i < 5; i++) {
      const ticket = await telemetry.prepareLaunch(`app ${i}`);
      const connection: ShimConnection = { id: 1_000_000 + i, hello: { ...hello, token: ticket.token } };
      telemetry.onHello(connection);
      for (const frame of frames.slice(1)) telemetry.onFrame(connection, frame);
      // The first three end as soon as they have sent everything; the last two stay live.
      if (i < 3) telemetry.onClose(connection);
      ids.push(ticket.launchId);
      connections.push(connection);
    }
    const infos = ids.map((id) => telemetry.sessionInfos().find((s) => s.id === id));
    const [first, second, third, ...live] = infos;
    assert.deepEqual(infos.map((s) => s?.state), ['ended', 'ended', 'ended', 'live', 'live']);
    for (const s of live) assert.deepEqual([s?.eventsStored, s?.droppedEvents, s?.note], [fed, 0, undefined], 'a live session keeps its history while ended ones have some');
    assert.ok((first?.droppedEvents ?? 0) > 0, `the first session to end lost its oldest history: ${JSON.stringify(infos.map((s) => s?.droppedEvents))}`);
    assert.ok((first?.droppedEvents ?? 0) >= (second?.droppedEvents ?? 0) && (second?.droppedEvents ?? 0) >= (third?.droppedEvents ?? 0), 'oldest first');
    assert.match(first?.note ?? '', /the oldest [\d,]+ callbacks left the timeline to keep all sessions within reactorscope\.historyMemoryMb/);
    for (const s of infos) assert.equal((s?.eventsStored ?? 0) + (s?.droppedEvents ?? 0), fed);
  } finally {
    await telemetry.dispose();
  }
});

test("the app's drop count shows as a lower bound: the app cannot know what the server's kernel took and never read", async () => {
  const [hello] = goldenRecording();
  assert.equal(hello.type, 'hello');
  const telemetry = new Telemetry({ slowThresholdMs: 50, historyMemoryMb: 64, socketKind: 'tcp' }, () => undefined);
  try {
    const { token, launchId } = await telemetry.prepareLaunch('app');
    const connection: ShimConnection = { id: 2_000_000, hello: { ...hello, token } };
    telemetry.onHello(connection);
    const dropped = 5757;
    telemetry.onFrame(connection, { type: 'gauges', t: 1, values: [[Gauge.eventsDropped, dropped]] });
    const info = telemetry.sessionInfos().find((s) => s.id === launchId);
    assert.equal(info?.appDroppedEvents, dropped);
    assert.equal(info?.note, `the app dropped at least ${dropped.toLocaleString('en-US')} callbacks it measured: the telemetry server did not take them in time`);
  } finally {
    await telemetry.dispose();
  }
});
