/**
 * server/src/store/historyBudget.ts: one history budget for every SessionStore of a server. Real stores fed the
 * golden recording (test/fixtures/hotspots/) and callbacks at its sites; what they hold together is measured
 * with each store's own estimateMemoryBytes().
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventKind } from '../../protocol/wire';
import { HistoryBudget } from '../../server/src/store/historyBudget';
import { SessionStore } from '../../server/src/store/sessionStore';
import { goldenRecording, timersAfter } from './frames';

const CHUNK_EVENTS = 4096;
const FRAMES = 50;
const EVENTS_PER_FRAME = 4000;

/** One session's frames: the golden recording, then FRAMES frames of timers at its sites, after its end. */
const golden = goldenRecording();
const goldenSites = golden.flatMap((frame) => (frame.type === 'sites' ? frame.sites.map((site) => site.id) : []));
const frames = [...golden, ...timersAfter(golden, FRAMES, EVENTS_PER_FRAME)];
const eventsPerSession = frames.reduce((sum, f) => sum + (f.type === 'events' ? f.duration.length : 0), 0);

/** What one session holds with nothing dropped. */
function wholeSessionBytes(): number {
  const alone = new SessionStore({ memoryCapBytes: Number.MAX_SAFE_INTEGER, chunkEvents: CHUNK_EVENTS });
  for (const frame of frames) alone.ingest(frame);
  assert.equal(alone.droppedEvents, 0);
  return alone.estimateMemoryBytes();
}

interface Member {
  store: SessionStore;
  ended: boolean;
}

function member(budget: HistoryBudget): Member {
  const m: Member = { store: undefined as unknown as SessionStore, ended: false };
  m.store = new SessionStore({ budget, ended: () => m.ended, chunkEvents: CHUNK_EVENTS });
  return m;
}

const total = (members: readonly Member[]): number => members.reduce((sum, m) => sum + m.store.estimateMemoryBytes(), 0);

test('ten sessions never hold more than the one budget together; ended sessions give up their history first, oldest first', () => {
  const whole = wholeSessionBytes();
  const cap = Math.round(3.5 * whole);
  const budget = new HistoryBudget(cap);
  const ended = Array.from({ length: 6 }, () => member(budget));
  const live = Array.from({ length: 4 }, () => member(budget));
  const all = [...ended, ...live];
  const over: string[] = [];
  const check = (when: string): void => {
    if (total(all) > cap) over.push(`${total(all)} > ${cap} bytes ${when}`);
  };
  // Six runs, one after the other, each ended when its frames are in (recordings read back, say)...
  ended.forEach((m, i) => {
    frames.forEach((frame, f) => {
      m.store.ingest(frame);
      check(`after frame ${f} of ended session ${i}`);
    });
    m.ended = true;
  });
  // ...then four live apps, their frames interleaved.
  frames.forEach((frame, f) => {
    live.forEach((m, i) => {
      m.store.ingest(frame);
      check(`after frame ${f} of live session ${i}`);
    });
  });
  assert.deepEqual(over, [], 'the total never went over the budget');
  assert.equal(budget.totalBytes, total(all), "the budget's running total is what the stores hold");
  assert.ok(total(all) > cap - 2 * whole, 'the budget was used, not emptied');

  for (const m of all) {
    assert.equal(m.store.eventsStored + m.store.droppedEvents, eventsPerSession, 'every event is either stored or counted as dropped');
    const timers = goldenSites.reduce((sum, site) => sum + (m.store.stats(site, EventKind.timer)?.count ?? 0), 0);
    assert.ok(timers >= FRAMES * EVENTS_PER_FRAME, 'the statistics still count what the history dropped');
  }
  // Ended before live: a live session lost history only once no ended session had any left.
  const liveDropped = live.some((m) => m.store.droppedEvents > 0);
  assert.ok(liveDropped, 'ten sessions do not fit: the live ones were trimmed too');
  assert.deepEqual(ended.map((m) => m.store.eventsStored), ended.map(() => 0), 'every ended session gave up all its history before a live one gave any');
  // Oldest first among the live: they were fed together, so each kept the newest chunks, by the same amount.
  const kept = live.map((m) => m.store.eventsStored);
  assert.ok(Math.max(...kept) - Math.min(...kept) <= CHUNK_EVENTS, `live sessions kept ${kept.join(', ')} events`);
});

test('ended sessions are trimmed oldest first: the first to end loses everything before the next loses any', () => {
  const whole = wholeSessionBytes();
  const budget = new HistoryBudget(Math.round(2.5 * whole));
  const ended = Array.from({ length: 5 }, () => member(budget));
  for (const m of ended) {
    for (const frame of frames) m.store.ingest(frame);
    m.ended = true;
  }
  const stored = ended.map((m) => m.store.eventsStored);
  const firstKept = stored.findIndex((n) => n > 0);
  assert.ok(firstKept > 0, `the oldest lost everything: ${stored.join(', ')}`);
  assert.ok(stored.slice(0, firstKept).every((n) => n === 0));
  assert.ok(stored.slice(firstKept + 1).every((n) => n === eventsPerSession), `only one session is partly trimmed: ${stored.join(', ')}`);
});

test('a smaller budget trims at once; a store that leaves (Clear) frees its share', () => {
  const whole = wholeSessionBytes();
  const budget = new HistoryBudget(10 * whole);
  const members = Array.from({ length: 3 }, () => member(budget));
  for (const m of members) for (const frame of frames) m.store.ingest(frame);
  assert.ok(members.every((m) => m.store.droppedEvents === 0));
  budget.setCap(2 * whole);
  assert.ok(total(members) <= 2 * whole, `${total(members)} bytes after the cap went down to ${2 * whole}`);
  assert.ok(members[0].store.droppedEvents > 0, 'the oldest history went');
  const before = budget.totalBytes;
  const leaving = members[2].store.estimateMemoryBytes();
  members[2].store.dispose();
  assert.equal(budget.totalBytes, before - leaving);
});
