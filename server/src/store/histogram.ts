/**
 * A log-linear histogram of durations in nanoseconds (HDR-style), for per-site percentiles.
 *
 * Every power of two [2^e, 2^(e+1)) is split into 16 equal sub-buckets, and values below 32 get a bucket each,
 * so a bucket is never wider than 1/16 of its lower bound. A percentile answers the middle of the bucket that
 * holds the exact percentile, which is within 1/32 (3.1%) of it. Memory is fixed (801 counts, 6.4 KB) whatever
 * is recorded, and record() allocates nothing: the server keeps one per site and kind and feeds it millions of
 * callbacks a second.
 */

/** log2 of the sub-buckets per power of two. */
const SUB_BITS = 4;
const SUB_BUCKETS = 1 << SUB_BITS;
/** Values from 0 to 2^53 ns (104 days, the wire's exact range) get their own bucket; larger ones share the last. */
export const HIGHEST_VALUE = 2 ** 53;
const TWO_POW_32 = 2 ** 32;

/** Where a value goes: below 32 the value itself; above, 16 buckets per power of two. */
function bucketOf(value: number): number {
  if (value < 2 * SUB_BUCKETS) return value;
  // Buckets with shift s hold [16 * 2^s, 32 * 2^s) in steps of 2^s; the index is s * 16 + (value >> s).
  if (value < TWO_POW_32) {
    const shift = 31 - Math.clz32(value) - SUB_BITS;
    return shift * SUB_BUCKETS + (value >>> shift);
  }
  const shift = 63 - Math.clz32(value / TWO_POW_32) - SUB_BITS;
  return shift * SUB_BUCKETS + Math.floor(value / 2 ** shift);
}

const BUCKETS = bucketOf(HIGHEST_VALUE) + 1;

/** The integers [low, low + width) that bucket `index` holds. */
function bucketBounds(index: number): { low: number; width: number } {
  const shift = Math.max(0, (index >> SUB_BITS) - 1);
  const width = 2 ** shift;
  return { low: (index - shift * SUB_BUCKETS) * width, width };
}

export class Histogram {
  /** Float64 rather than Uint32: a busy site can pass 2^32 calls in one bucket in a long session. */
  private readonly counts = new Float64Array(BUCKETS);
  private recorded = 0;
  private sum = 0;
  private lowest = Infinity;
  private highest = 0;

  /** Bytes one histogram holds, for the store's memory estimate. */
  static readonly bytes = BUCKETS * 8 + 64;

  /** Adds one value in ns; negative values (a clock step) count as 0 and fractions are dropped. */
  record(valueNs: number): void {
    const value = valueNs > 0 ? Math.floor(valueNs) : 0;
    this.counts[bucketOf(value < HIGHEST_VALUE ? value : HIGHEST_VALUE)]++;
    this.recorded++;
    this.sum += value;
    if (value > this.highest) this.highest = value;
    if (value < this.lowest) this.lowest = value;
  }

  get count(): number {
    return this.recorded;
  }
  get total(): number {
    return this.sum;
  }
  /** The largest value recorded, exactly; 0 when empty. */
  get max(): number {
    return this.highest;
  }
  /** The smallest value recorded, exactly; 0 when empty. */
  get min(): number {
    return this.recorded === 0 ? 0 : this.lowest;
  }

  /**
   * The value at quantile q (0..1) by nearest rank: the ceil(q * count)-th smallest value, within 1/32 of it,
   * and never outside [min, max]. The smallest and the largest rank answer min and max exactly. 0 when empty.
   */
  percentile(q: number): number {
    if (this.recorded === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.recorded));
    if (rank === 1) return this.lowest;
    if (rank === this.recorded) return this.highest;
    let seen = 0;
    let index = 0;
    for (; index < BUCKETS - 1; index++) {
      seen += this.counts[index];
      if (seen >= rank) break;
    }
    const { low, width } = bucketBounds(index);
    const middle = low + (width - 1) / 2;
    return Math.min(this.highest, Math.max(this.lowest, middle));
  }

  /** Adds everything `other` recorded, as if each of its values had been recorded here. */
  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.recorded += other.recorded;
    this.sum += other.sum;
    if (other.highest > this.highest) this.highest = other.highest;
    if (other.lowest < this.lowest) this.lowest = other.lowest;
  }
}
