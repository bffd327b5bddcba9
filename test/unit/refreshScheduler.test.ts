/** webview/src/refreshScheduler.ts on a fake clock: one query in flight, at most one per interval. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { RefreshScheduler, type SchedulerClock } from '../../webview/src/refreshScheduler';

class FakeClock implements SchedulerClock {
  time = 1000;
  private timers: { at: number; run: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.time;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, run, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.run();
    }
    this.time = end;
  }
}

function setup(): { clock: FakeClock; sent: number[]; scheduler: RefreshScheduler } {
  const clock = new FakeClock();
  const sent: number[] = [];
  const scheduler = new RefreshScheduler(() => sent.push(clock.now()), 100, 5000, clock);
  return { clock, sent, scheduler };
}

test('the first request goes at once; requests while one is in flight make one more, after the answer', () => {
  const { clock, sent, scheduler } = setup();
  scheduler.request();
  assert.deepEqual(sent, [1000]);
  scheduler.request();
  scheduler.request();
  clock.advance(500);
  assert.deepEqual(sent, [1000], 'nothing while the first is unanswered');
  scheduler.answered();
  assert.deepEqual(sent, [1000, 1500]);
  scheduler.answered();
  clock.advance(1000);
  assert.deepEqual(sent, [1000, 1500], 'no request, no query');
});

test('a stream of changes, answered at once, queries at most once per 100 ms', () => {
  const { clock, sent, scheduler } = setup();
  for (let t = 0; t < 2000; t += 10) {
    scheduler.request();
    if (sent.at(-1) === clock.now()) scheduler.answered();
    clock.advance(10);
  }
  assert.ok(sent.length >= 19 && sent.length <= 21, `${sent.length} queries in 2 s`);
  for (let i = 1; i < sent.length; i++) assert.ok((sent[i] ?? 0) - (sent[i - 1] ?? 0) >= 100, `gap ${i}`);
});

test('an answer that never comes stops blocking after the timeout', () => {
  const { clock, sent, scheduler } = setup();
  scheduler.request();
  scheduler.request();
  clock.advance(4999);
  assert.equal(sent.length, 1);
  clock.advance(1);
  assert.equal(sent.length, 2);
});

test('dispose cancels what was waiting', () => {
  const { clock, sent, scheduler } = setup();
  scheduler.request();
  scheduler.answered();
  scheduler.request(); // within 100 ms of the first: waits
  scheduler.dispose();
  clock.advance(1000);
  assert.equal(sent.length, 1);
});
