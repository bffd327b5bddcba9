/**
 * server/src/telemetry.ts: the timeline's requests over a recorded session (the golden fixture); one history
 * budget; a token's lifetime against the real shim (an ended session's token is refused, also after a server
 * restart).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ShimConnection } from '../../server/src/debugSocket';
import { SessionStore } from '../../server/src/store/sessionStore';
import { Telemetry } from '../../server/src/telemetry';
import { Gauge } from '../../protocol/wire';
import { goldenRecording, timersAfter } from './frames';
import { blockingApp, python, root, runShim, tickingApp } from './shimPeers';

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
      const connection: ShimConnection = { id: 1_000_000 + i, token: ticket.token, hello };
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
    assert.deepEqual(first?.noteKinds, ['historyTrimmed']);
    for (const s of live) assert.deepEqual(s?.noteKinds, []);
    for (const s of infos) assert.equal((s?.eventsStored ?? 0) + (s?.droppedEvents ?? 0), fed);
  } finally {
    await telemetry.dispose();
  }
});

test('beyond every history, the oldest ended sessions are forgotten whole to keep the server within its budget', async () => {
  const frames = goldenRecording();
  const hello = frames[0];
  assert.equal(hello.type, 'hello');
  // What one session holds with its history, and what it keeps once its history is gone (figures, stacks).
  const one = new SessionStore({ memoryCapBytes: Number.MAX_SAFE_INTEGER });
  for (const frame of frames) one.ingest(frame);
  const liveMb = one.estimateMemoryBytes() / (1024 * 1024);
  while (one.oldestChunkAge(false) !== undefined) one.dropOldestChunk();
  const keptMb = one.estimateMemoryBytes() / (1024 * 1024);
  const runs = 40;
  const historyMemoryMb = Math.ceil(liveMb + 10 * keptMb); // the live one and about ten ended ones fit, not forty
  const telemetry = new Telemetry({ slowThresholdMs: 50, historyMemoryMb, socketKind: 'tcp' }, () => undefined);
  try {
    const live = await telemetry.prepareLaunch('still running');
    const liveConnection: ShimConnection = { id: 3_000_000, token: live.token, hello };
    telemetry.onHello(liveConnection);
    const ended: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ticket = await telemetry.prepareLaunch(`run ${i}`);
      const connection: ShimConnection = { id: 3_000_001 + i, token: ticket.token, hello };
      telemetry.onHello(connection);
      for (const frame of frames.slice(1)) telemetry.onFrame(connection, frame);
      telemetry.onClose(connection);
      ended.push(ticket.launchId);
    }
    const left = telemetry.sessionInfos().map((s) => s.id);
    assert.ok(left.includes(live.launchId), 'a live session is never forgotten');
    const keptEnded = ended.filter((id) => left.includes(id));
    assert.ok(keptEnded.length < runs && telemetry.forgotten === runs - keptEnded.length, `${keptEnded.length} of ${runs} ended sessions kept`);
    assert.deepEqual(keptEnded, ended.slice(runs - keptEnded.length), 'the oldest went first');
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
    const connection: ShimConnection = { id: 2_000_000, token, hello };
    telemetry.onHello(connection);
    const dropped = 5757;
    telemetry.onFrame(connection, { type: 'gauges', t: 1, values: [[Gauge.eventsDropped, dropped]] });
    const info = telemetry.sessionInfos().find((s) => s.id === launchId);
    assert.equal(info?.appDroppedEvents, dropped);
    assert.equal(info?.note, `the app dropped at least ${dropped.toLocaleString('en-US')} callbacks it measured: the telemetry server did not take them in time`);
    assert.deepEqual(info?.noteKinds, ['appDropped'], 'the kind, for the extension to tell news from a changed figure');
  } finally {
    await telemetry.dispose();
  }
});

// -- a token dies with its session (issue 11, item 2) ----------------------------------------------------------

const settings = { slowThresholdMs: 50, historyMemoryMb: 64, socketKind: 'tcp' } as const;

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('after GOODBYE, a shim proving the ended session\'s token is refused and the session stays as it ended', async () => {
  const telemetry = new Telemetry(settings, () => undefined);
  try {
    const ticket = await telemetry.prepareLaunch('first run');
    assert.equal((await runShim(ticket.address, ticket.token, blockingApp)).code, 0);
    const ended = await until('the run to end', () => telemetry.sessionInfos().find((s) => s.id === ticket.launchId && s.state === 'ended'));
    assert.equal(ended.exitCode, 0);
    // Someone who learnt the token (it is in no recording now) runs another process with it.
    const again = await runShim(ticket.address, ticket.token, blockingApp);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /did not prove it knows this session's token/);
    const [session, ...others] = telemetry.sessionInfos();
    assert.equal(others.length, 0);
    assert.deepEqual({ pid: session?.pid, state: session?.state, events: session?.eventsStored }, { pid: ended.pid, state: 'ended', events: ended.eventsStored });
  } finally {
    await telemetry.dispose();
  }
});

test('once the extension saw a launch\'s process end (killed: no GOODBYE), its token is refused', async () => {
  const telemetry = new Telemetry(settings, () => undefined);
  const ticket = await telemetry.prepareLaunch('killed');
  const child = spawn(python, ['-m', 'reactorscope', 'run', '--connect', ticket.address, tickingApp, '30'], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime'), REACTORSCOPE_TOKEN: ticket.token },
    stdio: 'ignore',
  });
  try {
    await until('the app to go live', () => telemetry.sessionInfos().find((s) => s.state === 'live' && s.eventsStored > 0));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    telemetry.launchEnded(ticket.launchId, 137);
    const killed = await until('the session to end', () => telemetry.sessionInfos().find((s) => s.state === 'ended'));
    const again = await runShim(ticket.address, ticket.token, blockingApp);
    assert.match(again.stderr, /did not prove it knows this session's token/);
    assert.deepEqual(telemetry.sessionInfos().map((s) => [s.pid, s.state]), [[killed.pid, 'ended']]);
  } finally {
    child.kill('SIGKILL');
    await telemetry.dispose();
  }
});

test('a restarted server takes a running app back but not one whose recording ends with GOODBYE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-adopt-'));
  const before = new Telemetry(settings, () => undefined);
  const running = await before.prepareLaunch('running');
  const finished = await before.prepareLaunch('finished');
  const records = { running: join(dir, 'running.rsrec'), finished: join(dir, 'finished.rsrec') };
  assert.equal((await runShim(finished.address, finished.token, blockingApp, [], ['--record', records.finished])).code, 0);
  const live = runShim(running.address, running.token, tickingApp, ['6'], ['--record', records.running]);
  await until('the running app to go live', () => before.sessionInfos().find((s) => s.id === running.launchId && s.state === 'live'));
  await before.dispose(); // the server dies; the extension hands both launches to the next one
  const after = new Telemetry(settings, () => undefined);
  try {
    const [runningId, finishedId] = await after.adoptLaunches([
      { label: 'running', address: running.address, token: running.token, droppedBefore: 0, recording: records.running },
      { label: 'finished', address: finished.address, token: finished.token, droppedBefore: 0, recording: records.finished },
    ]);
    assert.equal(after.sessionInfos().find((s) => s.id === finishedId)?.state, 'ended', 'its GOODBYE was read back');
    await until('the running app to reconnect', () => after.sessionInfos().find((s) => s.id === runningId && s.state === 'live'));
    const replayed = await runShim(finished.address, finished.token, blockingApp);
    assert.match(replayed.stderr, /did not prove it knows this session's token/);
    assert.equal(after.sessionInfos().find((s) => s.id === finishedId)?.state, 'ended', 'not revived');
    assert.equal((await live).code, 0);
  } finally {
    await after.dispose();
  }
});
