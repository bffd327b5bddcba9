/**
 * webview/src/timelineModel.ts and viewState.ts: the pure functions that turn the server's ranges into what the
 * charts draw. The ranges come from a real SessionStore, as the server builds them.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionInfo, TimelineData } from '../../protocol/lsp';
import { jsonify } from '../../protocol/timeline';
import { EventKind, type Frame, Gauge } from '../../protocol/wire';
import { SessionStore } from '../../server/src/store/sessionStore';
import { eventsFrame, sitesFrame } from './frames';
import { buildTimeline, cpuPercent, describeBar, formatAxisTime, sessionOffsets } from '../../webview/src/timelineModel';
import {
  INITIAL_STATE,
  maxPointsFor,
  panWindow,
  POINT_BUDGET,
  queriesFor,
  shownSessions,
  type ViewState,
  xWindow,
  zoomWindow,
} from '../../webview/src/viewState';

const MS = 1e6;
const FILE = '/srv/app/site.py';

function session(id: number, overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id, label: `app${id}.py`, pid: 1000 + id, state: 'ended', reactor: 'EPollReactor', twisted: '26.10.0', exitCode: 0,
    problem: undefined, eventsStored: 0, droppedEvents: 0, appDroppedEvents: 0, note: undefined, noteKinds: [], lagMs: undefined, utilization: undefined, ...overrides,
  };
}

/** A store fed with `frames`, queried like the server's timeline request. */
function range(sessionId: number, originWallNs: number, frames: Frame[], maxPoints = 1000, from = 0, to?: number): TimelineData {
  const store = new SessionStore({ memoryCapBytes: 1 << 30 });
  for (const frame of frames) store.ingest(frame);
  const data = store.queryRange(from, to ?? store.latestNs + 1, maxPoints); // as Telemetry.timeline does
  const sites: TimelineData['sites'] = {};
  for (const id of [1, 2]) {
    const site = store.site(id);
    if (site) sites[id] = { file: site.file, line: site.line, name: site.name };
  }
  return { ...jsonify(data), sessionId, latestNs: store.latestNs, sites, originWallNs };
}

const SITES = sitesFrame([1, 10, FILE, 'render_GET'], [2, 30, FILE, 'tick']);

test('few callbacks become one bar each, on their kind\'s lane, coloured by how far over the threshold', () => {
  const data = range(1, 5e18, [
    SITES,
    eventsFrame([[10 * MS, 2 * MS, 2, EventKind.timer], [20 * MS, 60 * MS, 1, EventKind.ioRead], [100 * MS, 250 * MS, 1, EventKind.ioRead], [400 * MS, 600 * MS, 1, EventKind.deferred]]),
  ]);
  const model = buildTimeline([data], [session(1)], { slowThresholdMs: 50 });
  assert.equal(model.binned, false);
  assert.deepEqual(model.lanes, ['timers', 'I/O reads', 'I/O writes', 'thread calls', 'Deferreds', 'coroutines']);
  assert.deepEqual(
    model.callbacks.map((b) => [b.y, b.x, b.level, b.handler?.name]),
    [
      ['timers', [10, 12], -1, 'tick'],
      ['I/O reads', [20, 80], 0, 'render_GET'],
      ['I/O reads', [100, 350], 1, 'render_GET'],
      ['Deferreds', [400, 1000], 2, 'render_GET'],
    ],
  );
  assert.equal(model.latestMs, 1000);
  assert.equal(model.points, 4, 'no series yet, so the bars are all');
});

test('too many callbacks for the budget become bins, each drawn as its longest callback and counting the rest', () => {
  const rows: [number, number, number, number][] = [];
  for (let i = 0; i < 10_000; i++) rows.push([i * 0.1 * MS, 0.01 * MS, 2, EventKind.timer]);
  rows.push([500 * MS, 300 * MS, 1, EventKind.timer]);
  rows.sort((a, b) => a[0] + a[1] - (b[0] + b[1]));
  const data = range(1, 0, [SITES, eventsFrame(rows)], 100);
  const model = buildTimeline([data], [session(1)], { slowThresholdMs: 50 });
  assert.equal(model.binned, true);
  assert.ok(model.callbacks.length <= 100, `${model.callbacks.length} bars`);
  assert.equal(model.callbacks.reduce((n, b) => n + b.count, 0), 10_001, 'every callback is counted in some bin');
  const longest = model.callbacks.find((b) => b.handler?.name === 'render_GET');
  assert.deepEqual(longest?.x, [500, 800], 'the stall is drawn whole, with its own start and end');
  assert.equal(longest?.level, 1);
  assert.ok(longest?.bin && longest.bin.x[0] <= 500 && longest.bin.x[1] > 500);
  assert.match(describeBar(longest, undefined).join('\n'), /^\d+ callbacks here, [\d.]+ ms in all; the longest:\nrender_GET · timers\n\/srv\/app\/site.py:10\nstarted \+0.500 s, ran 300 ms$/);
});

test('two processes line up by wall clock, each with its own lane group and series', () => {
  const second = 2_500 * MS; // the second process started 2.5 s after the first
  const a = range(1, 1e18, [SITES, eventsFrame([[100 * MS, 10 * MS, 1, EventKind.timer]]), { type: 'gauges', t: 100 * MS, values: [[Gauge.readers, 2]] }]);
  const b = range(2, 1e18 + second, [SITES, eventsFrame([[100 * MS, 10 * MS, 2, EventKind.timer]]), { type: 'gauges', t: 100 * MS, values: [[Gauge.readers, 5]] }]);
  const model = buildTimeline([a, b], [session(1), session(2)], { slowThresholdMs: 50 });
  assert.deepEqual(model.offsetsMs, { 1: 0, 2: 2500 });
  assert.equal(model.lanes.length, 12);
  assert.equal(model.lanes[0], 'pid 1001 · timers');
  assert.equal(model.lanes[6], 'pid 1002 · timers');
  assert.deepEqual(model.callbacks.map((bar) => [bar.y, bar.x[0]]), [['pid 1001 · timers', 100], ['pid 1002 · timers', 2600]]);
  assert.deepEqual(model.queues.map((s) => [s.label, s.key, s.points]), [
    ['readers (pid 1001)', `gauge-${Gauge.readers}`, [{ x: 100, y: 2 }]],
    ['readers (pid 1002)', `gauge-${Gauge.readers}`, [{ x: 2600, y: 5 }]],
  ]);
  assert.equal(sessionOffsets([undefined, 7]).offsetsMs[0], 0, 'a session that has not said when it started sits at 0');
});

test('a highlight marks its handler\'s bars and dims the others; none leaves them all as they are', () => {
  const data = range(1, 0, [SITES, eventsFrame([[0, MS, 1, 1], [2 * MS, MS, 2, 1]])]);
  const highlighted = buildTimeline([data], [session(1)], { slowThresholdMs: 50, highlight: { file: FILE, line: 30, name: 'tick' } });
  assert.deepEqual(highlighted.callbacks.map((b) => b.highlighted), [false, true]);
  const plain = buildTimeline([data], [session(1)], { slowThresholdMs: 50 });
  assert.deepEqual(plain.callbacks.map((b) => b.highlighted), [undefined, undefined]);
});

test('loop lag in ms at its worst per bin, busy share per window, memory in MB', () => {
  const data = range(1, 0, [
    { type: 'loop', start: 0, end: 100 * MS, iterations: 5, busyNs: 25 * MS, idleNs: 75 * MS, lagTimes: Float64Array.of(50 * MS), lags: Float64Array.of(12 * MS) },
    { type: 'gauges', t: 100 * MS, values: [[Gauge.rss, 64 * 1024 * 1024]] },
  ]);
  const model = buildTimeline([data], [session(1)], { slowThresholdMs: 50 });
  assert.deepEqual(model.lag[0]?.points, [{ x: 50, y: 12 }]);
  assert.deepEqual(model.utilization[0]?.points, [{ x: 50, y: 25 }]);
  assert.deepEqual(model.memory[0]?.points, [{ x: 100, y: 64 }]);
  assert.equal(model.points, 3);
});

test('CPU % of one core from the cumulative user and system seconds', () => {
  const user = { t: [0, 1e9, 2e9], max: [1, 1.5, 1.5] };
  const system = { t: [0, 1e9, 2e9], max: [0, 0.25, 0.75] };
  assert.deepEqual(cpuPercent(user, system), [{ x: 1e9, y: 75 }, { x: 2e9, y: 50 }]);
  assert.deepEqual(cpuPercent(undefined, system), []);
});

test('axis times read in seconds, then minutes', () => {
  assert.deepEqual([formatAxisTime(1234.6), formatAxisTime(12_345), formatAxisTime(75_500)], ['1.235 s', '12.3 s', '1m15.5s']);
});

test('the point budget: about one point per 2 pixels, never more than the budget over every series', () => {
  assert.equal(maxPointsFor(400, 1), 200);
  for (const sessions of [1, 2, 5]) {
    const each = maxPointsFor(4000, sessions);
    assert.ok(each * 16 * sessions <= POINT_BUDGET, `${sessions} sessions: ${each} per series`);
  }
});

test('shown sessions: the user\'s choice while it exists, else the newest and every live one', () => {
  const sessions = [session(1, { state: 'live' }), session(2), session(3), session(4, { state: 'waiting' })];
  assert.deepEqual(shownSessions(INITIAL_STATE, sessions).map((s) => s.id), [1, 3]);
  const chosen: ViewState = { ...INITIAL_STATE, sessionIds: [2] };
  assert.deepEqual(shownSessions(chosen, sessions).map((s) => s.id), [2]);
  assert.deepEqual(shownSessions({ ...INITIAL_STATE, sessionIds: [9] }, sessions).map((s) => s.id), [1, 3], 'a cleared session falls back');
});

test('queries: follow asks for the last span, a range is mapped into each session\'s own time', () => {
  const sessions = [session(1), session(2)];
  assert.deepEqual(queriesFor({ mode: 'follow', spanMs: 30_000 }, sessions, [0, 2500]), [{ sessionId: 1, spanNs: 30e9 }, { sessionId: 2, spanNs: 30e9 }]);
  assert.deepEqual(queriesFor({ mode: 'whole' }, sessions, [0, 2500]), [{ sessionId: 1 }, { sessionId: 2 }]);
  assert.deepEqual(queriesFor({ mode: 'range', startMs: 2000, endMs: 3000 }, sessions, [0, 2500]), [
    { sessionId: 1, startNs: 2000 * MS, endNs: 3000 * MS },
    { sessionId: 2, startNs: 0, endNs: 500 * MS },
  ]);
});

test('windows: follow shows the last span (or all of a shorter session); zoom keeps the pointer\'s time in place; pan moves by a share', () => {
  assert.deepEqual(xWindow({ mode: 'follow', spanMs: 30_000 }, 0, 100_000), { min: 70_000, max: 100_000 });
  assert.deepEqual(xWindow({ mode: 'follow', spanMs: 30_000 }, 0, 5_000), { min: 0, max: 5_000 });
  assert.deepEqual(xWindow({ mode: 'whole' }, 0, 5_000), { min: 0, max: 5_000 });
  assert.deepEqual(zoomWindow({ min: 0, max: 1000 }, 0.5, 800), { mode: 'range', startMs: 400, endMs: 900 });
  assert.deepEqual(zoomWindow({ min: 0, max: 1000 }, 2), { mode: 'range', startMs: -500, endMs: 1500 });
  assert.deepEqual(panWindow({ min: 0, max: 1000 }, -0.2), { mode: 'range', startMs: -200, endMs: 800 });
});

test('web request renders get a lane of their own, under the I/O reads they run in', () => {
  const data = range(1, 0, [SITES, eventsFrame([[0, 5 * MS, 1, EventKind.webRequest], [0, 6 * MS, 2, EventKind.ioRead]])]);
  const model = buildTimeline([data], [session(1)], { slowThresholdMs: 50 });
  assert.deepEqual(model.lanes, ['timers', 'I/O reads', 'web requests', 'I/O writes', 'thread calls', 'Deferreds', 'coroutines']);
  assert.deepEqual(model.callbacks.map((b) => [b.y, b.handler?.name]), [['web requests', 'render_GET'], ['I/O reads', 'tick']]);
});
