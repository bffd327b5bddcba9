/** server/src/store/histogram.ts against percentiles computed exactly from the recorded values. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { HIGHEST_VALUE, Histogram } from '../../server/src/store/histogram';

/** The promise of histogram.ts: a percentile within 1/32 of the exact one. */
const RELATIVE_ERROR = 1 / 32;
const QUANTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest rank, as Histogram.percentile defines it. */
function exactPercentile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

function histogramOf(values: number[]): Histogram {
  const histogram = new Histogram();
  for (const value of values) histogram.record(value);
  return histogram;
}

function assertPercentiles(histogram: Histogram, values: number[]): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of QUANTILES) {
    const exact = exactPercentile(sorted, q);
    const estimate = histogram.percentile(q);
    assert.ok(
      Math.abs(estimate - exact) <= exact * RELATIVE_ERROR,
      `p${q * 100}: ${estimate} is not within 1/32 of ${exact}`,
    );
  }
}

const next = random(7);
const distributions: [string, () => number][] = [
  ['uniform 0..1 ms', () => Math.floor(next() * 1e6)],
  ['log-uniform 1 ns..1000 s', () => Math.floor(10 ** (next() * 12))],
  ['exponential, mean 50 us', () => Math.floor(-Math.log(1 - next()) * 50_000)],
  ['small integers (exact buckets)', () => Math.floor(next() * 40)],
  ['huge, up to 2^53', () => Math.floor(next() * HIGHEST_VALUE)],
];

for (const [name, draw] of distributions) {
  test(`percentiles of ${name} are within 1/32 of the exact ones`, () => {
    const values = Array.from({ length: 20_000 }, draw);
    assertPercentiles(histogramOf(values), values);
  });
}

test('count, total, min and max are exact', () => {
  const values = [5, 0, 1_000_000_007, 42, 3_000_000_000_000];
  const histogram = histogramOf(values);
  assert.equal(histogram.count, 5);
  assert.equal(histogram.total, values.reduce((a, b) => a + b, 0));
  assert.equal(histogram.min, 0);
  assert.equal(histogram.max, 3_000_000_000_000);
  assert.equal(histogram.percentile(0), 0);
  assert.equal(histogram.percentile(1), 3_000_000_000_000);
});

test('values below 32 are kept exactly', () => {
  const values = [0, 1, 2, 3, 17, 31, 31, 31];
  const histogram = histogramOf(values);
  for (const q of QUANTILES) assert.equal(histogram.percentile(q), exactPercentile(values, q));
});

test('an empty histogram answers 0', () => {
  const histogram = new Histogram();
  assert.equal(histogram.count, 0);
  assert.equal(histogram.min, 0);
  assert.equal(histogram.max, 0);
  assert.equal(histogram.percentile(0.99), 0);
});

test('negative values count as 0, and values past 2^53 still count with their max', () => {
  const histogram = histogramOf([-5, 2 ** 60]);
  assert.equal(histogram.count, 2);
  assert.equal(histogram.min, 0);
  assert.equal(histogram.max, 2 ** 60);
  assert.equal(histogram.percentile(0), 0);
  assert.ok(histogram.percentile(0.99) >= HIGHEST_VALUE);
});

test('merge gives what recording every value in one histogram gives', () => {
  const draw = random(11);
  const a = Array.from({ length: 5_000 }, () => Math.floor(draw() * 1e5));
  const b = Array.from({ length: 3_000 }, () => Math.floor(1e6 + draw() * 1e8));
  const merged = histogramOf(a);
  merged.merge(histogramOf(b));
  const whole = histogramOf([...a, ...b]);
  assert.equal(merged.count, whole.count);
  assert.equal(merged.total, whole.total);
  assert.equal(merged.min, whole.min);
  assert.equal(merged.max, whole.max);
  for (const q of QUANTILES) assert.equal(merged.percentile(q), whole.percentile(q));
  assertPercentiles(merged, [...a, ...b]);
});

test('merging an empty histogram changes nothing', () => {
  const histogram = histogramOf([10, 20, 30]);
  histogram.merge(new Histogram());
  assert.equal(histogram.count, 3);
  assert.equal(histogram.min, 10);
  assert.equal(histogram.max, 30);
});
