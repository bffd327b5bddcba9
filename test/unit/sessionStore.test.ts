/** server/src/store/sessionStore.ts: frames from the golden fixture and built by hand, checked against brute force. */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventKind, type Frame, StreamDecoder } from '../../protocol/wire';
import type { CallbackBins, CallbackEvents, RangeData } from '../../protocol/timeline';
import { SessionStore } from '../../server/src/store/sessionStore';
import { eventsFrame, type Row, sitesFrame } from './frames';

const MS = 1_000_000;
const BIG_CAP = 1024 * 1024 * 1024;

function stallFrame(callbackStart: number, site: number, kind: number, samples: [number, [number, number][]][]): Frame {
  return { type: 'stall', callbackStart, site, kind, samples: samples.map(([t, stack]) => ({ t, stack })) };
}

function rawEvents(data: RangeData): CallbackEvents {
  assert.equal(data.callbacks.type, 'events');
  return data.callbacks;
}

function bins(data: RangeData): CallbackBins {
  assert.equal(data.callbacks.type, 'bins');
  return data.callbacks;
}

/** A result with its typed arrays as plain arrays, for deepEqual. */
function plain(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v]));
}

/** The store's rule: starts in [from, to), or started before and was still running at `from`. */
function inRange([start, duration]: Row, from: number, to: number): boolean {
  return start < to && (start >= from || start + duration > from);
}

const fixtureFrames = new StreamDecoder().feed(
  new Uint8Array(readFileSync(join(__dirname, '../../test/fixtures/wire/session.bin'))),
);
const fixtureHello = fixtureFrames[0];
assert.equal(fixtureHello.type, 'hello');

test('the golden session fixture: summary, statistics, stall estimate, series', () => {
  let clock = 1000;
  const store = new SessionStore({ memoryCapBytes: BIG_CAP, now: () => clock++ });
  for (const frame of fixtureFrames) store.ingest(frame);

  const summary = store.summary();
  assert.equal(summary.pid, 4242);
  assert.equal(summary.originWallNs, fixtureHello.originWallNs);
  assert.equal(summary.metadata.python, '3.11.7');
  assert.equal(summary.metadata.reactor, 'EPollReactor');
  assert.equal(summary.sites, 3);
  assert.equal(summary.eventsStored, 3);
  assert.equal(summary.droppedEvents, 0);
  assert.deepEqual(summary.goodbye, { exitCode: -2, reason: 'signal' });
  assert.equal(summary.firstFrameAt, 1000);
  assert.equal(summary.lastFrameAt, 1000 + fixtureFrames.length - 1);

  assert.equal(store.stats(1, 1)?.maxNs, 250_000_000);
  assert.equal(store.stats(4294967295, 6)?.count, 1);
  assert.equal(store.stats(1, 2), undefined);

  // The stalled callback (start 1500, site 1) has no EVENTS record: samples x their median gap (5 us here).
  const [stalled] = store.stalledCallbacks();
  assert.equal(stalled.durationNs, undefined);
  assert.equal(stalled.sampleIntervalNs, 5000);
  assert.equal(stalled.heldNs, 5000);
  // Line 14 holds its sample's weight: the time since the callback started (51500 - 1500 ns); the later sample
  // has no stack and names no line.
  const line14 = { site: 1, line: 14, file: '/srv/app/handlers.py', name: 'SlowResource.render_GET', samples: 1, heldNs: 50_000 };
  assert.deepEqual(store.blockingLines(), [line14]);

  // Top-level kinds only: the coroutine step (kind 6) is not a hotspot.
  const hotspots = store.hotspots();
  assert.deepEqual(
    hotspots.map((h) => [h.site, h.count, h.totalNs, h.name]),
    [
      [1, 1, 250_000_000, 'SlowResource.render_GET'],
      [2, 1, 7, 'Echo.dataReceived'],
    ],
  );
  assert.deepEqual(hotspots[0].blockingLines, [line14]);

  const range = store.queryRange(0, 2 ** 53, 100);
  assert.deepEqual(Array.from(rawEvents(range).start), [0, 1500, 9007199254740991]);
  assert.deepEqual(
    range.gauges.map((g) => [g.id, Array.from(g.t), Array.from(g.min)]),
    [
      [1, [100_000_000], [3]],
      [8, [100_000_000], [0.015625]],
      [10, [100_000_000], [123456789]],
      [15, [100_000_000], [0]],
    ],
  );
  assert.deepEqual(plain(range.lag), { t: [50_000_000, 100_000_000], min: [-1, 250_000_000], max: [-1, 250_000_000] });
  assert.deepEqual(plain(range.loop), { start: [0], end: [100_000_000], iterations: [4294967295], busyNs: [60_000_000], idleNs: [40_000_000] });
});

test('a second HELLO (a reconnect) keeps what is stored and merges the metadata', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  for (const frame of fixtureFrames) store.ingest(frame);
  store.ingest({ ...fixtureHello, metadata: { session: 'again' } });
  const summary = store.summary();
  assert.equal(summary.eventsStored, 3);
  assert.equal(summary.metadata.session, 'again');
  assert.equal(summary.metadata.reactor, 'EPollReactor');
});

test('a stall\'s line holds the time since the sample before each of its samples (the first: since the callback\'s start)', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  store.ingest(sitesFrame([1, 3, '/app/handler.py', 'render'], [2, 8, '/app/slow.py', 'crunch']));
  const start = 1 * MS;
  // Two STALL frames for one callback; the last sample is late and has no stack.
  store.ingest(
    stallFrame(start, 1, 2, [
      [51 * MS, [[2, 10], [1, 5]]],
      [56 * MS, [[2, 10], [1, 5]]],
      [61 * MS, [[2, 11], [1, 5]]],
    ]),
  );
  store.ingest(
    stallFrame(start, 1, 2, [
      [66 * MS, [[2, 10], [1, 5]]],
      [80 * MS, []],
    ]),
  );
  // Weights 50 (since the start), 5, 5, 5 ms, and 14 ms for the sample without a line, which no line holds.
  const held = (): [number, number, number][] => store.blockingLines().map((l) => [l.line, l.samples, l.heldNs]);
  assert.deepEqual(held(), [
    [10, 3, 60 * MS],
    [11, 1, 5 * MS],
  ]);

  // The callback's duration (its EVENTS record) changes no line's time: what the samples saw is what is held.
  store.ingest(eventsFrame([[start, 100 * MS, 1, 2]]));
  assert.deepEqual(held(), [
    [10, 3, 60 * MS],
    [11, 1, 5 * MS],
  ]);

  const [stalled] = store.stalledCallbacks();
  assert.equal(stalled.durationNs, 100 * MS);
  assert.equal(stalled.sampleIntervalNs, 5 * MS);
  assert.deepEqual(stalled.sampleTimes, [51 * MS, 56 * MS, 61 * MS, 66 * MS, 80 * MS]);
  assert.deepEqual(stalled.stacks, [[[2, 10], [1, 5]], [[2, 11], [1, 5]], []]);
  assert.deepEqual(stalled.sampleStacks, [0, 0, 1, 0, 2]);

  const [hotspot] = store.hotspots();
  assert.equal(hotspot.site, 1);
  assert.equal(hotspot.file, '/app/handler.py');
  assert.deepEqual(
    hotspot.blockingLines.map((l) => [l.file, l.name, l.line, l.heldNs]),
    [
      ['/app/slow.py', 'crunch', 10, 60 * MS],
      ['/app/slow.py', 'crunch', 11, 5 * MS],
    ],
  );
});

test('samples of one callback in frames out of time order weigh the same as in order', () => {
  const frames = [
    stallFrame(0, 1, 1, [[60 * MS, [[2, 7]]], [65 * MS, [[2, 8]]]]),
    stallFrame(0, 1, 1, [[90 * MS, [[2, 7]]], [70 * MS, [[2, 8]]]]),
    stallFrame(0, 1, 1, [[80 * MS, [[2, 7]]]]),
  ];
  const lines = (order: Frame[]): [number, number, number][] => {
    const store = new SessionStore({ memoryCapBytes: BIG_CAP });
    for (const frame of order) store.ingest(frame);
    return store.blockingLines().map((l) => [l.line, l.samples, l.heldNs]);
  };
  // In time order: 60 (line 7), 65 (8), 70 (8), 80 (7), 90 (7): line 7 holds 60 + 10 + 10, line 8 5 + 5.
  const expected: [number, number, number][] = [[7, 3, 80 * MS], [8, 2, 10 * MS]];
  assert.deepEqual(lines(frames), expected);
  assert.deepEqual(lines([...frames].reverse()), expected);
});

test('a stall whose EVENTS record came first (same flush) finds its duration', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  store.ingest(eventsFrame([[5 * MS, 60 * MS, 1, 1]]));
  store.ingest(stallFrame(5 * MS, 1, 1, [[55 * MS, [[1, 4]]]]));
  assert.equal(store.stalledCallbacks()[0].durationNs, 60 * MS);
  assert.deepEqual(
    store.blockingLines().map((l) => l.heldNs),
    [50 * MS],
  );
});

test('only the last 200 stalled callbacks keep their stacks; the line totals keep every one', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  for (let k = 0; k < 205; k++) {
    const start = k * 1000 * MS;
    store.ingest(eventsFrame([[start, 60 * MS, 1, 1]]));
    store.ingest(stallFrame(start, 1, 1, [[start + 55 * MS, [[2, 10]]]]));
  }
  const stalled = store.stalledCallbacks();
  assert.equal(stalled.length, 200);
  assert.equal(stalled[0].start, 5 * 1000 * MS);
  assert.deepEqual(store.blockingLines(), [{ site: 2, file: '', name: '', line: 10, samples: 205, heldNs: 205 * 55 * MS }]);
  assert.equal(store.hotspots()[0].blockingLines[0].samples, 205);
});

test('the memory cap drops the oldest chunks and counts what they held', () => {
  const cap = 400_000;
  const step = 1000;
  const store = new SessionStore({ memoryCapBytes: cap, chunkEvents: 4096 });
  const frames = 25;
  for (let f = 0; f < frames; f++) {
    const rows = Array.from({ length: 1000 }, (_, i): Row => [(f * 1000 + i) * step, 10, 1, 1]);
    store.ingest(eventsFrame(rows));
    assert.ok(store.estimateMemoryBytes() <= cap, `${store.estimateMemoryBytes()} bytes after frame ${f}`);
  }
  const total = frames * 1000;
  assert.ok(store.droppedEvents > 0);
  assert.equal(store.droppedEvents % 4096, 0);
  assert.equal(store.eventsStored + store.droppedEvents, total);
  // The statistics count every event; the history holds the newest.
  assert.equal(store.stats(1, 1)?.count, total);
  const kept = rawEvents(store.queryRange(0, total * step, total));
  assert.equal(kept.start.length, store.eventsStored);
  assert.equal(Math.min(...kept.start), store.droppedEvents * step);
  assert.equal(Math.max(...kept.start), (total - 1) * step);
});

test('chunkEvents must be a multiple of 4096', () => {
  assert.throws(() => new SessionStore({ memoryCapBytes: BIG_CAP, chunkEvents: 1000 }), RangeError);
});

/**
 * 100k timers (kind 1) every 100 us, with a Deferred callback (kind 5) in every third, sent before the timer
 * around it as the shim does, and in the middle one timer of 10 s.
 */
function busySession(): { store: SessionStore; rows: Row[]; long: Row } {
  const rows: Row[] = [];
  const long: Row = [5_000_000_050, 10_000 * MS, 99, 1];
  for (let i = 0; i < 100_000; i++) {
    const start = i * 100_000;
    if (i % 3 === 0) rows.push([start + 1000, 5000, 20, 5]);
    rows.push([start, 20_000 + (i % 7) * 1000, 1 + (i % 10), 1]);
    if (i === 50_000) rows.push(long);
  }
  const store = new SessionStore({ memoryCapBytes: BIG_CAP, chunkEvents: 8192 });
  for (let at = 0; at < rows.length; at += 10_000) store.ingest(eventsFrame(rows.slice(at, at + 10_000)));
  return { store, rows, long };
}

const busy = busySession();

test('a range with few callbacks returns them one by one, with one that started before it', () => {
  const from = busy.long[0] + 5 * MS;
  const to = from + MS;
  const expected = busy.rows.filter((row) => inRange(row, from, to));
  assert.ok(expected.includes(busy.long));
  const got = rawEvents(busy.store.queryRange(from, to, 2000));
  const asRows = Array.from(got.start, (start, i): Row => [start, got.duration[i], got.site[i], got.kind[i]]);
  const byStart = (a: Row, b: Row): number => a[0] - b[0] || a[3] - b[3];
  assert.deepEqual(asRows.sort(byStart), [...expected].sort(byStart));
});

for (const [name, from, to, maxPoints] of [
  ['the whole session', 0, 20_000 * MS, 500],
  ['the whole session in bins wider than a span (4096 events)', 0, 20_000 * MS, 5],
  ['a range that cuts blocks', 1_234_567_891, 7_654_321_098, 300],
  ['a narrow range', 4_999 * MS, 5_002 * MS, 7],
] as const) {
  test(`binning ${name}: per kind, counts and busy time add up and bins stay within maxPoints`, () => {
    const result = bins(busy.store.queryRange(from, to, maxPoints));
    const expected = busy.rows.filter((row) => inRange(row, from, to));
    assert.ok(expected.length > maxPoints);
    for (const kind of [1, 5]) {
      const lane = result.lanes.find((l) => l.kind === kind);
      assert.ok(lane, `lane ${kind}`);
      const ofKind = expected.filter((row) => row[3] === kind);
      assert.ok(lane.count.length <= maxPoints);
      assert.equal(lane.count.reduce((a, b) => a + b, 0), ofKind.length);
      assert.equal(lane.busyNs.reduce((a, b) => a + b, 0), ofKind.reduce((a, row) => a + row[1], 0));
      assert.equal(Math.max(...lane.maxNs), Math.max(...ofKind.map((row) => row[1])));
      for (let b = 0; b < lane.start.length; b++) {
        assert.ok(lane.end[b] > lane.start[b]);
        if (b > 0) assert.ok(lane.start[b] >= lane.end[b - 1] - 1e-6);
        // The longest callback of a bin started in it (or, in the first bin, before the range).
        assert.ok(lane.maxStart[b] < lane.end[b] && (b === 0 || lane.maxStart[b] >= lane.start[b] - 1e-6));
      }
    }
    assert.deepEqual(
      result.lanes.map((l) => l.kind),
      [1, 5],
    );
  });
}

test('the 10 s timer survives binning: its bin reports it as the longest, with its start and site', () => {
  const result = bins(busy.store.queryRange(0, 20_000 * MS, 200));
  const timers = result.lanes.find((l) => l.kind === 1);
  assert.ok(timers);
  const at = timers.maxNs.indexOf(busy.long[1]);
  assert.ok(at >= 0);
  assert.equal(timers.maxStart[at], busy.long[0]);
  assert.equal(timers.maxSite[at], busy.long[2]);
  assert.ok(timers.start[at] <= busy.long[0] && busy.long[0] < timers.end[at]);
});

test('gauges come back as points when few and as min/max envelopes within maxPoints when many', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  const values = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 1000);
  values.forEach((value, i) => store.ingest({ type: 'gauges', t: i * MS, values: [[1, value], [10, i]] }));

  const few = store.queryRange(0, 50 * MS, 100).gauges;
  assert.deepEqual(few.map((g) => g.id), [1, 10]);
  assert.deepEqual(plain(few[0]), { id: 1, t: values.slice(0, 50).map((_, i) => i * MS), min: values.slice(0, 50), max: values.slice(0, 50) });

  const from = 1234 * MS;
  const to = 8765 * MS;
  const inside = values.slice(1234, 8765);
  for (const maxPoints of [1, 10, 100, 999]) {
    const [gauge, counter] = store.queryRange(from, to, maxPoints).gauges;
    assert.ok(gauge.t.length <= maxPoints && gauge.t.length > 0);
    assert.equal(Math.min(...gauge.min), Math.min(...inside));
    assert.equal(Math.max(...gauge.max), Math.max(...inside));
    assert.equal(counter.min[0], 1234);
    assert.equal(counter.max[counter.max.length - 1], 8764);
    for (let b = 1; b < gauge.t.length; b++) assert.ok(gauge.t[b] > gauge.t[b - 1]);
  }
});

test('lag samples keep the newest 100k and are reduced to maxPoints', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  const k = 150_000;
  const lagTimes = Float64Array.from({ length: k }, (_, i) => i * 1000);
  const lags = Float64Array.from({ length: k }, (_, i) => i);
  store.ingest({ type: 'loop', start: 0, end: k * 1000, iterations: 1, busyNs: 0, idleNs: 0, lagTimes, lags });
  const all = store.queryRange(0, 2 ** 40, 200_000).lag;
  assert.equal(all.t.length, 100_000);
  assert.equal(all.t[0], 50_000 * 1000);
  const reduced = store.queryRange(0, 2 ** 40, 1000).lag;
  assert.ok(reduced.t.length <= 1000);
  assert.equal(Math.max(...reduced.max), k - 1);
  assert.equal(Math.min(...reduced.min), 50_000);
});

test('loop windows are summed over bins when there are more than maxPoints', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  for (let i = 0; i < 3000; i++) {
    store.ingest({
      type: 'loop',
      start: i * 50 * MS,
      end: (i + 1) * 50 * MS,
      iterations: 10,
      busyNs: 20 * MS,
      idleNs: 30 * MS,
      lagTimes: new Float64Array(0),
      lags: new Float64Array(0),
    });
  }
  const loop = store.queryRange(0, 3000 * 50 * MS, 100).loop;
  assert.ok(loop.start.length <= 100);
  assert.equal(loop.iterations.reduce((a, b) => a + b, 0), 30_000);
  assert.equal(loop.busyNs.reduce((a, b) => a + b, 0), 3000 * 20 * MS);
  assert.equal(loop.start[0], 0);
  assert.equal(loop.end[loop.end.length - 1], 3000 * 50 * MS);
  // A window that began before the range but ends inside it is in it.
  assert.deepEqual(Array.from(store.queryRange(75 * MS, 80 * MS, 10).loop.start), [50 * MS]);
  assert.equal(store.queryRange(1e15, 2e15, 10).loop.start.length, 0);
});

test('latestNs is the latest time any frame spoke of: a callback end, a gauge, a loop window', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  assert.equal(store.latestNs, 0);
  store.ingest(eventsFrame([[10 * MS, 5 * MS, 1, 1], [12 * MS, 1 * MS, 1, 1]]));
  assert.equal(store.latestNs, 15 * MS, 'the end of the callback that ends last, not of the last one');
  store.ingest({ type: 'gauges', t: 20 * MS, values: [[1, 3]] });
  assert.equal(store.latestNs, 20 * MS);
  store.ingest({ type: 'loop', start: 20 * MS, end: 30 * MS, iterations: 2, busyNs: 1, idleNs: 1, lagTimes: new Float64Array(), lags: new Float64Array() });
  assert.equal(store.latestNs, 30 * MS);
  store.ingest({ type: 'gauges', t: 25 * MS, values: [[1, 3]] });
  assert.equal(store.latestNs, 30 * MS, 'an older frame does not move it back');
});

test('blockingLineOf names the line a sampled callback held the reactor at longest; an unsampled callback has none', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  store.ingest(sitesFrame([1, 10, '/app/h.py', 'handler'], [2, 30, '/app/util.py', 'helper']));
  store.ingest(eventsFrame([[100 * MS, 200 * MS, 1, 1], [400 * MS, 1 * MS, 1, 1]]));
  store.ingest(stallFrame(100 * MS, 1, 1, [
    [150 * MS, [[2, 33], [1, 12]]],
    [155 * MS, [[2, 33], [1, 12]]],
    [160 * MS, [[1, 14]]],
  ]));
  // Line 33 held 50 ms (since the start) and 5 ms; line 14 the last 5 ms.
  assert.deepEqual(store.blockingLineOf(100 * MS, 1), { site: 2, file: '/app/util.py', name: 'helper', line: 33, samples: 2, heldNs: 55 * MS });
  assert.equal(store.blockingLineOf(400 * MS, 1), undefined);
  assert.equal(store.blockingLineOf(100 * MS, 3), undefined, 'the same start with a site the stacks never ran through');
});

test('a web request render is a handler, with the lines its stalls were sampled in; line totals are not doubled', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  // Site 1: Twisted's HTTPChannel.dataReceived (the I/O read); site 2: the user's render_GET inside it.
  store.ingest(sitesFrame([1, 100, '/venv/twisted/web/http.py', 'HTTPChannel.dataReceived'], [2, 10, '/app/site.py', 'Page.render_GET']));
  store.ingest(eventsFrame([[0, 210 * MS, 2, EventKind.webRequest], [0, 220 * MS, 1, EventKind.ioRead]]));
  store.ingest(stallFrame(0, 1, EventKind.ioRead, [
    [60 * MS, [[2, 12], [1, 130]]],
    [65 * MS, [[2, 12], [1, 130]]],
  ]));
  const hotspots = store.hotspots();
  assert.deepEqual(hotspots.map((h) => [h.name, h.count, h.maxNs]), [['HTTPChannel.dataReceived', 1, 220 * MS], ['Page.render_GET', 1, 210 * MS]]);
  for (const h of hotspots) assert.deepEqual(h.blockingLines.map((b) => [b.file, b.line, b.heldNs]), [['/app/site.py', 12, 65 * MS]]);
  assert.deepEqual(store.blockingLines().map((b) => [b.line, b.heldNs]), [[12, 65 * MS]], 'each held ns counted once');
  assert.equal(store.blockingLineOf(0, 2)?.line, 12, 'the render, nested in the sampled read, blocked where the read did');
  assert.equal(store.blockingLineOf(300 * MS, 2), undefined, 'a later render ran in no sampled callback');
});

test('nested steps of the user\'s code are handlers; nested steps of library code are not', () => {
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  store.ingest(sitesFrame(
    [1, 500, '/venv/lib/python3.11/site-packages/twisted/internet/defer.py', 'Deferred.callback'],
    [2, 20, '/app/orders.py', 'handle_order'],
    [3, 900, '/venv/lib/python3.11/site-packages/twisted/internet/defer.py', '_cancellableInlineCallbacks'],
  ));
  store.ingest(eventsFrame([
    [0, 120 * MS, 2, EventKind.coroutine],
    [0, 1 * MS, 3, EventKind.deferred],
    [0, 125 * MS, 1, EventKind.timer],
  ]));
  store.ingest(stallFrame(0, 1, EventKind.timer, [[60 * MS, [[2, 24], [3, 950], [1, 520]]]]));
  const hotspots = store.hotspots();
  assert.deepEqual(hotspots.map((h) => h.name), ['Deferred.callback', 'handle_order']);
  assert.deepEqual(hotspots[1]?.blockingLines.map((b) => [b.name, b.line]), [['handle_order', 24]]);
});

test('the app\'s function behind a library callback is a handler from the stall samples, before and after its stalls retire', () => {
  const lib = '/venv/lib/python3.11/site-packages/twisted/internet/task.py';
  const make = (stalls: number): SessionStore => {
    const store = new SessionStore({ memoryCapBytes: BIG_CAP });
    // 1: Cooperator._tick (library, the timer the loop ran); 2: the app's parse; 3: the app's spin (innermost).
    store.ingest(sitesFrame([1, 672, lib, 'Cooperator._tick'], [2, 20, '/srv/app/spider.py', 'parse'], [3, 8, '/srv/app/spider.py', 'spin'], [4, 99, lib, 'other']));
    for (let k = 0; k < stalls; k++) {
      const start = k * 1000 * MS;
      store.ingest(eventsFrame([[start, 70 * MS, 1, EventKind.timer]]));
      // parse -> spin for two samples, then a library line inside parse's call (still parse's time).
      store.ingest(stallFrame(start, 1, EventKind.timer, [
        [start + 20 * MS, [[3, 9], [2, 21], [4, 100], [1, 680]]],
        [start + 40 * MS, [[3, 9], [2, 21], [4, 100], [1, 680]]],
        [start + 60 * MS, [[4, 101], [2, 22], [1, 680]]],
        [start + 65 * MS, [[4, 102], [1, 680]]], // back in the library: not parse's
      ]));
    }
    return store;
  };
  for (const stalls of [3, 230]) {
    const parse = make(stalls).hotspots().find((h) => h.name === 'parse');
    assert.ok(parse, `${stalls} stalls: parse is a hotspot`);
    assert.equal(parse.sampled, true);
    assert.equal(parse.nested, true);
    assert.equal(parse.count, stalls, 'one call per stalled callback it was sampled in');
    assert.equal(parse.maxNs, 60 * MS, 'each call lasting what its samples held (up to the last sample in it)');
    assert.deepEqual(parse.blockingLines.map((b) => [b.name, b.line, b.samples, b.heldNs]), [
      ['spin', 9, 2 * stalls, 40 * MS * stalls],
      ['other', 101, stalls, 20 * MS * stalls],
    ]);
  }
  // An app callback the loop ran itself is its own handler: nothing is sampled behind it.
  const store = new SessionStore({ memoryCapBytes: BIG_CAP });
  store.ingest(sitesFrame([2, 20, '/srv/app/spider.py', 'parse'], [3, 8, '/srv/app/spider.py', 'spin']));
  store.ingest(eventsFrame([[0, 70 * MS, 3, EventKind.timer]]));
  store.ingest(stallFrame(0, 3, EventKind.timer, [[20 * MS, [[3, 9], [2, 21], [3, 8]]]]));
  assert.deepEqual(store.hotspots().map((h) => [h.name, h.sampled]), [['spin', false]]);
});
