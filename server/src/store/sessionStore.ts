/**
 * What one shim connection (one process) sent: per-site statistics, the lines stalls were sampled in, gauge
 * and loop series, and a bounded history of every callback, answered in ranges reduced to what a screen shows.
 *
 * The history is what grows: 21 bytes an event in chunks of typed columns, the oldest chunk dropped whenever
 * the estimated memory passes the budget, one budget shared by every session of the server (historyBudget.ts).
 * Each chunk keeps a summary per block of 256 events and per span of 4096
 * (time bounds, and per kind the count, busy time and longest callback), so a range query skips them or takes
 * them whole, and reads single events only in blocks cut by the edges of the range or of its bins. Events
 * arrive in the order callbacks ended (a nested callback before the one around it), not sorted by start, and
 * nothing here relies on any order: the bounds say where to look.
 *
 * Times are ns from the session origin (docs/protocol.md); an event is in a range [start, end) when it starts in
 * it, or started before and was still running at its start.
 */
import type { CallbackBins, CallbackEvents, Envelope, LaneBins, LoopWindows, RangeData } from '../../../protocol/timeline';
import { UserCode } from '../../../protocol/userCode';
import { EventKind, type Frame, type Metadata, type Site, type StallSample, TOP_LEVEL_KINDS } from '../../../protocol/wire';
import { type BudgetMember, HistoryBudget } from './historyBudget';
import { Histogram } from './histogram';


export type SessionStoreOptions = {
  /** Wall clock in ms, for when frames arrived; Date.now unless a test gives its own. */
  now?: () => number;
  /** Events per history chunk, the unit of eviction; a multiple of 4096. Default 65536 (1.6 MB). */
  chunkEvents?: number;
} & (
  | {
      /** A bound on this store's estimateMemoryBytes() alone: its oldest events go to stay under it (the newest chunk stays). */
      memoryCapBytes: number;
    }
  | {
      /** The server's one budget, shared with its other sessions' stores (historyBudget.ts). */
      budget: HistoryBudget;
      /** Whether this store's session has ended: its history then goes before a live session's. */
      ended?: () => boolean;
    }
);

/** Count, total and percentiles of a site's callbacks, in ns; percentiles within 1/32 (see histogram.ts). */
export interface CallStats {
  count: number;
  totalNs: number;
  maxNs: number;
  p50Ns: number;
  p95Ns: number;
  p99Ns: number;
}

/** A line stall samples found the reactor in (the innermost frame), and the time it held the reactor there. */
export interface BlockingLine {
  /** The site (function) the line is in, with that function's file and name. */
  site: number;
  file: string;
  name: string;
  line: number;
  samples: number;
  /**
   * The time the reactor was held at this line: the weights of its samples, each the time since the previous
   * sample of its callback (the held rule of docs/protocol.md, STALL).
   */
  heldNs: number;
}

/** A site whose top-level callbacks held the reactor, with the lines its stalls were sampled in. */
export interface Hotspot extends CallStats {
  site: number;
  /** Where the site is; empty and 0 while the site table has not described it. */
  file: string;
  line: number;
  name: string;
  /** One of the user's nested handlers (see nestedHandlerSites): its time is in the callback that ran it too. */
  nested: boolean;
  /**
   * Known from stall samples only (see appFrames): the app's function behind a library callback that has no
   * event of its own. Its calls are the stalled callbacks it was sampled in, each lasting the time it held.
   */
  sampled: boolean;
  blockingLines: BlockingLine[];
}

/** One top-level callback the watchdog sampled while it held the reactor. */
export interface StalledCallback {
  start: number;
  site: number;
  kind: number;
  /** From the callback's EVENTS record; undefined until that arrives (or when it was dropped). */
  durationNs: number | undefined;
  /** Median gap between its samples. */
  sampleIntervalNs: number;
  /** The duration, or samples x sample interval while the duration is unknown. */
  heldNs: number;
  /** Time of each kept sample and its stack, as an index into `stacks`. */
  sampleTimes: readonly number[];
  sampleStacks: readonly number[];
  /** Distinct stacks, (site, line) innermost first. */
  stacks: readonly (readonly [number, number][])[];
}

export interface SessionSummary {
  pid: number | undefined;
  originWallNs: number | undefined;
  metadata: Metadata;
  sites: number;
  eventsStored: number;
  droppedEvents: number;
  /** Wall-clock ms of the first and the latest frame. */
  firstFrameAt: number | undefined;
  lastFrameAt: number | undefined;
  goodbye: { exitCode: number; reason: string } | undefined;
}

/**
 * Events per block, the finer summary: a range query reads single events only in blocks that its bin edges cut.
 * Blocks of 64, 128 and 256 queried 10 million events in 2000 bins equally fast; 256 takes the least memory.
 */
const BLOCK_EVENTS = 256;
/** Blocks per span (4096 events), the coarser summary, taken whole when a bin holds more than a span. */
const SPAN_BLOCKS = 16;
const SPAN_EVENTS = BLOCK_EVENTS * SPAN_BLOCKS;
const DEFAULT_CHUNK_EVENTS = 65_536;
/** start and duration f64, site u32, kind u8. */
const BYTES_PER_EVENT = 21;
/** Lanes 1-7 are the kinds of docs/protocol.md; lane 0 takes any other kind. */
const LANES = EventKind.webRequest + 1;

// A summary (of a block or a span): its time bounds, then per lane the count, the busy ns, and the longest
// callback's duration, start and site (1.3 bytes an event in all).
const MIN_START = 0;
const MAX_START = 1;
const MAX_END = 2;
const FIRST_LANE = 3;
const COUNT = 0;
const BUSY = 1;
const MAX = 2;
const MAX_AT = 3;
const MAX_SITE = 4;
const LANE_FIELDS = 5;
const SUMMARY_FIELDS = FIRST_LANE + LANES * LANE_FIELDS;

/** Points kept per gauge, lag samples and loop windows: 100k gauge readings at 4 a second is 7 hours. */
const SERIES_POINTS = 100_000;
/** Stalled callbacks kept with their stacks; older ones live on only in the per-line totals. */
const RECENT_STALLS = 200;
/** Samples kept per stalled callback (50 s at 5 ms); later ones still count towards its lines. */
const SAMPLES_PER_STALL = 10_000;
/** The shim's default sampling interval, for a stall with a single sample. */
const DEFAULT_SAMPLE_INTERVAL_NS = 5_000_000;
/** Rough bytes of a JS object or Map entry, for the memory estimate of what is not typed arrays. */
const OBJECT_BYTES = 100;

function laneOf(kind: number): number {
  return kind < LANES ? kind : 0;
}

function isTopLevel(kind: number): boolean {
  return TOP_LEVEL_KINDS.has(kind);
}

const NESTED_KINDS: readonly number[] = [EventKind.deferred, EventKind.coroutine, EventKind.webRequest];

/**
 * Events as columns, with a summary per sealed (full) block and span. Only the newest chunk has an unsealed
 * tail, which queries read event by event.
 */
class EventChunk {
  readonly start: Float64Array;
  readonly duration: Float64Array;
  readonly site: Uint32Array;
  readonly kind: Uint8Array;
  readonly blocks: Float64Array;
  readonly spans: Float64Array;
  length = 0;
  sealedBlocks = 0;
  /** Bounds of the sealed blocks. */
  minStart = Infinity;
  maxStart = -Infinity;
  maxEnd = -Infinity;

  constructor(
    readonly capacity: number,
    /** HistoryBudget.nextAge() when it was made: the budget drops the smallest first, across sessions. */
    readonly age: number,
  ) {
    this.start = new Float64Array(capacity);
    this.duration = new Float64Array(capacity);
    this.site = new Uint32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.blocks = new Float64Array((capacity / BLOCK_EVENTS) * SUMMARY_FIELDS);
    this.spans = new Float64Array((capacity / SPAN_EVENTS) * SUMMARY_FIELDS);
  }

  static bytes(capacity: number): number {
    return capacity * BYTES_PER_EVENT + (capacity / BLOCK_EVENTS + capacity / SPAN_EVENTS) * SUMMARY_FIELDS * 8 + OBJECT_BYTES;
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  get sealedSpans(): number {
    return Math.floor(this.sealedBlocks / SPAN_BLOCKS);
  }

  /** Copies `count` events from `from` of the frame's columns (they must fit) and seals what they fill. */
  append(frame: EventsFrame, from: number, count: number): void {
    const at = this.length;
    this.start.set(frame.start.subarray(from, from + count), at);
    this.duration.set(frame.duration.subarray(from, from + count), at);
    this.site.set(frame.site.subarray(from, from + count), at);
    this.kind.set(frame.kind.subarray(from, from + count), at);
    this.length += count;
    while ((this.sealedBlocks + 1) * BLOCK_EVENTS <= this.length) {
      this.sealBlock(this.sealedBlocks++);
      if (this.sealedBlocks % SPAN_BLOCKS === 0) this.sealSpan(this.sealedBlocks / SPAN_BLOCKS - 1);
    }
  }

  private sealBlock(block: number): void {
    const summary = this.blocks;
    const base = block * SUMMARY_FIELDS;
    let minStart = Infinity;
    let maxStart = -Infinity;
    let maxEnd = -Infinity;
    for (let i = block * BLOCK_EVENTS, end = i + BLOCK_EVENTS; i < end; i++) {
      const start = this.start[i];
      const duration = this.duration[i];
      if (start < minStart) minStart = start;
      if (start > maxStart) maxStart = start;
      const stop = duration > 0 ? start + duration : start;
      if (stop > maxEnd) maxEnd = stop;
      const lane = base + FIRST_LANE + laneOf(this.kind[i]) * LANE_FIELDS;
      summary[lane + BUSY] += duration;
      if (summary[lane + COUNT]++ === 0 || duration > summary[lane + MAX]) {
        summary[lane + MAX] = duration;
        summary[lane + MAX_AT] = start;
        summary[lane + MAX_SITE] = this.site[i];
      }
    }
    summary[base + MIN_START] = minStart;
    summary[base + MAX_START] = maxStart;
    summary[base + MAX_END] = maxEnd;
    if (minStart < this.minStart) this.minStart = minStart;
    if (maxStart > this.maxStart) this.maxStart = maxStart;
    if (maxEnd > this.maxEnd) this.maxEnd = maxEnd;
  }

  private sealSpan(span: number): void {
    const into = span * SUMMARY_FIELDS;
    const spans = this.spans;
    const blocks = this.blocks;
    spans[into + MIN_START] = Infinity;
    spans[into + MAX_START] = -Infinity;
    spans[into + MAX_END] = -Infinity;
    for (let block = span * SPAN_BLOCKS; block < (span + 1) * SPAN_BLOCKS; block++) {
      const base = block * SUMMARY_FIELDS;
      spans[into + MIN_START] = Math.min(spans[into + MIN_START], blocks[base + MIN_START]);
      spans[into + MAX_START] = Math.max(spans[into + MAX_START], blocks[base + MAX_START]);
      spans[into + MAX_END] = Math.max(spans[into + MAX_END], blocks[base + MAX_END]);
      for (let lane = FIRST_LANE; lane < SUMMARY_FIELDS; lane += LANE_FIELDS) {
        const from = base + lane;
        const to = into + lane;
        if (blocks[from + COUNT] === 0) continue;
        if (spans[to + COUNT] === 0 || blocks[from + MAX] > spans[to + MAX]) {
          spans[to + MAX] = blocks[from + MAX];
          spans[to + MAX_AT] = blocks[from + MAX_AT];
          spans[to + MAX_SITE] = blocks[from + MAX_SITE];
        }
        spans[to + COUNT] += blocks[from + COUNT];
        spans[to + BUSY] += blocks[from + BUSY];
      }
    }
  }

  /** The duration of the callback that started at `start` at `site`, if this chunk holds it. */
  find(start: number, site: number): number | undefined {
    const inSealed = this.sealedBlocks > 0 && start >= this.minStart && start <= this.maxStart;
    for (let block = 0; inSealed && block < this.sealedBlocks; block++) {
      const base = block * SUMMARY_FIELDS;
      if (start < this.blocks[base + MIN_START] || start > this.blocks[base + MAX_START]) continue;
      const found = this.findIn(block * BLOCK_EVENTS, (block + 1) * BLOCK_EVENTS, start, site);
      if (found !== undefined) return found;
    }
    return this.findIn(this.sealedBlocks * BLOCK_EVENTS, this.length, start, site);
  }

  private findIn(from: number, to: number, start: number, site: number): number | undefined {
    for (let i = from; i < to; i++) if (this.start[i] === start && this.site[i] === site) return this.duration[i];
    return undefined;
  }
}

type EventsFrame = Extract<Frame, { type: 'events' }>;

/** What a walk over a time range does with what it meets: summaries where it may, else runs of events. */
interface RangeVisitor {
  /**
   * The summary at `summaries[base]` of `size` events of the chunk, all of which start in the range; false to
   * be given its events (or those of its blocks) instead.
   */
  summary(chunk: EventChunk, summaries: Float64Array, base: number, size: number): boolean;
  /** Events [first, last) of the chunk: the visitor takes those of them in [from, to) (see inRange). */
  events(chunk: EventChunk, first: number, last: number, from: number, to: number): void;
}

/** Starts in [from, to), or started before and was still running at `from`. */
function inRange(start: number, duration: number, from: number, to: number): boolean {
  return start < to && (start >= from || start + duration > from);
}

class RangeCounter implements RangeVisitor {
  count = 0;
  summary(_chunk: EventChunk, _summaries: Float64Array, _base: number, size: number): boolean {
    this.count += size;
    return true;
  }
  events(chunk: EventChunk, first: number, last: number, from: number, to: number): void {
    const { start, duration } = chunk;
    for (let i = first; i < last; i++) if (inRange(start[i], duration[i], from, to)) this.count++;
  }
}

/** Copies the events of a range that a RangeCounter found `size` of. */
class EventCollector implements RangeVisitor {
  readonly collected: CallbackEvents;
  private size = 0;

  constructor(size: number) {
    this.collected = {
      type: 'events',
      start: new Float64Array(size),
      duration: new Float64Array(size),
      site: new Uint32Array(size),
      kind: new Uint8Array(size),
    };
  }

  summary(): boolean {
    return false;
  }

  events(chunk: EventChunk, first: number, last: number, from: number, to: number): void {
    const { start, duration, site, kind } = this.collected;
    for (let i = first; i < last; i++) {
      if (!inRange(chunk.start[i], chunk.duration[i], from, to)) continue;
      start[this.size] = chunk.start[i];
      duration[this.size] = chunk.duration[i];
      site[this.size] = chunk.site[i];
      kind[this.size] = chunk.kind[i];
      this.size++;
    }
  }
}

/**
 * Bins callbacks by start, per lane; a summary whose events all start in one bin is added as it is. Each bin
 * field is a column indexed by lane * bins + bin.
 */
class CallbackBinner implements RangeVisitor {
  readonly binNs: number;
  /** Bins per ns, to find a bin by a multiplication. */
  private readonly scale: number;
  private readonly count: Float64Array;
  private readonly busy: Float64Array;
  private readonly max: Float64Array;
  private readonly maxStart: Float64Array;
  private readonly maxSite: Float64Array;

  constructor(
    private readonly from: number,
    to: number,
    private readonly bins: number,
  ) {
    this.binNs = (to - from) / bins;
    this.scale = bins / (to - from);
    const cells = LANES * bins;
    this.count = new Float64Array(cells);
    this.busy = new Float64Array(cells);
    this.max = new Float64Array(cells);
    this.maxStart = new Float64Array(cells);
    this.maxSite = new Float64Array(cells);
  }

  /** A callback that started before the range (and ran into it) goes to the first bin. */
  private binOf(start: number): number {
    const bin = Math.floor((start - this.from) * this.scale);
    return bin < 0 ? 0 : bin >= this.bins ? this.bins - 1 : bin;
  }

  summary(_chunk: EventChunk, summaries: Float64Array, base: number): boolean {
    const bin = this.binOf(summaries[base + MIN_START]);
    if (bin !== this.binOf(summaries[base + MAX_START])) return false;
    for (let lane = 0; lane < LANES; lane++) {
      const at = base + FIRST_LANE + lane * LANE_FIELDS;
      if (summaries[at + COUNT] === 0) continue;
      const cell = lane * this.bins + bin;
      if (this.count[cell] === 0 || summaries[at + MAX] > this.max[cell]) {
        this.max[cell] = summaries[at + MAX];
        this.maxStart[cell] = summaries[at + MAX_AT];
        this.maxSite[cell] = summaries[at + MAX_SITE];
      }
      this.count[cell] += summaries[at + COUNT];
      this.busy[cell] += summaries[at + BUSY];
    }
    return true;
  }

  /** Most of a zoomed-out query's time is in this loop, hence everything in locals. */
  events(chunk: EventChunk, first: number, last: number, from: number, to: number): void {
    const { start, duration, kind, site } = chunk;
    const { count, busy, max, maxStart, maxSite, bins, scale } = this;
    const origin = this.from;
    for (let i = first; i < last; i++) {
      const begin = start[i];
      const length = duration[i];
      if (!inRange(begin, length, from, to)) continue;
      const bin = Math.floor((begin - origin) * scale);
      const cell = laneOf(kind[i]) * bins + (bin < 0 ? 0 : bin >= bins ? bins - 1 : bin);
      if (count[cell] === 0 || length > max[cell]) {
        max[cell] = length;
        maxStart[cell] = begin;
        maxSite[cell] = site[i];
      }
      count[cell]++;
      busy[cell] += length;
    }
  }

  result(): CallbackBins {
    const lanes: LaneBins[] = [];
    for (let lane = 0; lane < LANES; lane++) {
      const first = lane * this.bins;
      let size = 0;
      for (let cell = first; cell < first + this.bins; cell++) if (this.count[cell] > 0) size++;
      if (size === 0) continue;
      const out: LaneBins = {
        kind: lane,
        start: new Float64Array(size),
        end: new Float64Array(size),
        count: new Float64Array(size),
        busyNs: new Float64Array(size),
        maxNs: new Float64Array(size),
        maxStart: new Float64Array(size),
        maxSite: new Float64Array(size),
      };
      for (let bin = 0, n = 0; bin < this.bins; bin++) {
        const cell = first + bin;
        if (this.count[cell] === 0) continue;
        out.start[n] = this.from + bin * this.binNs;
        out.end[n] = this.from + (bin + 1) * this.binNs;
        out.count[n] = this.count[cell];
        out.busyNs[n] = this.busy[cell];
        out.maxNs[n] = this.max[cell];
        out.maxStart[n] = this.maxStart[cell];
        out.maxSite[n] = this.maxSite[cell];
        n++;
      }
      lanes.push(out);
    }
    return { type: 'bins', binNs: this.binNs, lanes };
  }
}

/** Rows of numbers in time order, keeping the newest `limit`; grows by doubling so a quiet series stays small. */
class SeriesRing {
  private columns: Float64Array[];
  private head = 0;
  length = 0;

  constructor(
    private readonly width: number,
    private readonly limit: number,
  ) {
    this.columns = Array.from({ length: width }, () => new Float64Array(Math.min(limit, 1024)));
  }

  private get capacity(): number {
    return this.columns[0].length;
  }

  get bytes(): number {
    return this.width * this.capacity * 8 + OBJECT_BYTES;
  }

  push(row: readonly number[]): void {
    if (this.length === this.capacity) {
      if (this.capacity < this.limit) {
        this.grow();
      } else {
        this.head = (this.head + 1) % this.capacity;
        this.length--;
      }
    }
    const at = (this.head + this.length) % this.capacity;
    for (let c = 0; c < this.width; c++) this.columns[c][at] = row[c];
    this.length++;
  }

  private grow(): void {
    const capacity = Math.min(this.limit, this.capacity * 2);
    this.columns = this.columns.map((old) => {
      const column = new Float64Array(capacity);
      for (let i = 0; i < this.length; i++) column[i] = old[(this.head + i) % old.length];
      return column;
    });
    this.head = 0;
  }

  /** Row `index` (0 = oldest kept) of `column`. */
  get(column: number, index: number): number {
    return this.columns[column][(this.head + index) % this.capacity];
  }

  /** The first row whose `column` is >= value; the rows are in order of that column. */
  lowerBound(column: number, value: number): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.get(column, middle) < value) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

// Columns of the series rings.
const T = 0;
const VALUE = 1;
const WINDOW_START = 0;
const WINDOW_END = 1;
const ITERATIONS = 2;
const WINDOW_BUSY = 3;
const WINDOW_IDLE = 4;

/** Points of [t, value] rows with from <= t < to, or the min and max of each of `maxPoints` bins. */
function envelope(ring: SeriesRing, from: number, to: number, maxPoints: number): Envelope {
  const first = ring.lowerBound(T, from);
  const last = ring.lowerBound(T, to);
  const binned = last - first > maxPoints;
  const binNs = (to - from) / maxPoints;
  const size = Math.min(last - first, maxPoints);
  const t = new Float64Array(size);
  const min = new Float64Array(size);
  const max = new Float64Array(size);
  let n = 0;
  let bin = -1;
  for (let i = first; i < last; i++) {
    const time = ring.get(T, i);
    const value = ring.get(VALUE, i);
    const at = binned ? Math.min(maxPoints - 1, Math.floor((time - from) / binNs)) : i;
    if (at !== bin) {
      bin = at;
      t[n] = binned ? from + at * binNs : time;
      min[n] = value;
      max[n] = value;
      n++;
    } else {
      if (value < min[n - 1]) min[n - 1] = value;
      if (value > max[n - 1]) max[n - 1] = value;
    }
  }
  return { t: t.subarray(0, n), min: min.subarray(0, n), max: max.subarray(0, n) };
}

/** Loop windows that overlap [from, to), or sums over `maxPoints` bins of them by window start. */
function loopWindows(ring: SeriesRing, from: number, to: number, maxPoints: number): LoopWindows {
  let first = ring.lowerBound(WINDOW_END, from);
  while (first < ring.length && ring.get(WINDOW_END, first) <= from) first++;
  const last = Math.max(first, ring.lowerBound(WINDOW_START, to));
  const binned = last - first > maxPoints;
  const binNs = (to - from) / maxPoints;
  const size = Math.min(last - first, maxPoints);
  const out: LoopWindows = {
    start: new Float64Array(size),
    end: new Float64Array(size),
    iterations: new Float64Array(size),
    busyNs: new Float64Array(size),
    idleNs: new Float64Array(size),
  };
  let n = 0;
  let bin = -1;
  for (let i = first; i < last; i++) {
    const start = ring.get(WINDOW_START, i);
    const at = binned ? Math.min(maxPoints - 1, Math.max(0, Math.floor((start - from) / binNs))) : i;
    if (at !== bin) {
      bin = at;
      out.start[n] = start;
      n++;
    }
    out.end[n - 1] = ring.get(WINDOW_END, i);
    out.iterations[n - 1] += ring.get(ITERATIONS, i);
    out.busyNs[n - 1] += ring.get(WINDOW_BUSY, i);
    out.idleNs[n - 1] += ring.get(WINDOW_IDLE, i);
  }
  return {
    start: out.start.subarray(0, n),
    end: out.end.subarray(0, n),
    iterations: out.iterations.subarray(0, n),
    busyNs: out.busyNs.subarray(0, n),
    idleNs: out.idleNs.subarray(0, n),
  };
}

/** Samples of one line within one callback site, once the callback is no longer among the recent ones. */
interface LineTotal {
  callbackSite: number;
  /** Credited to a web request handler the stall's stacks ran through, not to the stalled callback itself. */
  nested: boolean;
  site: number;
  line: number;
  samples: number;
  heldNs: number;
}

type LineShare = Omit<LineTotal, 'callbackSite' | 'nested'>;

/** What one stalled callback's samples held in one function of the app's code (StallRecord.appFrameShares). */
interface AppFrameShare {
  heldNs: number;
  lines: Map<string, LineShare>;
}

/**
 * One stalled callback as its STALL frames arrive (in any number of frames, in any order): every sample's time
 * and innermost line, for the held rule, and its distinct stacks.
 */
class StallRecord {
  durationNs: number | undefined;
  /** Samples that name a line (a non-empty stack). */
  lineSamples = 0;
  /** Every sample's time and innermost line (an index into `lineList`; -1 for an empty stack), as they came. */
  private readonly times: number[] = [];
  private readonly innermost: number[] = [];
  private readonly lineList: { site: number; line: number }[] = [];
  private readonly lineIds = new Map<string, number>();
  /** lineShares(), until the next sample. */
  private shares: LineShare[] | undefined;
  readonly sampleTimes: number[] = [];
  readonly sampleStacks: number[] = [];
  readonly stacks: [number, number][][] = [];
  private readonly stackIds = new Map<string, number>();
  bytes = 4 * OBJECT_BYTES;

  constructor(
    readonly start: number,
    readonly site: number,
    readonly kind: number,
  ) {}

  add(sample: StallSample): void {
    const innermost = sample.stack[0];
    let lineId = -1;
    if (innermost !== undefined) {
      this.lineSamples++;
      const key = `${innermost[0]}:${innermost[1]}`;
      const known = this.lineIds.get(key);
      if (known === undefined) {
        lineId = this.lineList.push({ site: innermost[0], line: innermost[1] }) - 1;
        this.lineIds.set(key, lineId);
        this.bytes += OBJECT_BYTES;
      } else {
        lineId = known;
      }
    }
    this.times.push(sample.t);
    this.innermost.push(lineId);
    this.shares = undefined;
    this.bytes += 16;
    if (this.sampleTimes.length >= SAMPLES_PER_STALL) return;
    const stackKey = sample.stack.join(';');
    let id = this.stackIds.get(stackKey);
    if (id === undefined) {
      id = this.stacks.push(sample.stack) - 1;
      this.stackIds.set(stackKey, id);
      this.bytes += OBJECT_BYTES + stackKey.length * 2 + sample.stack.length * 48;
    }
    this.sampleTimes.push(sample.t);
    this.sampleStacks.push(id);
    this.bytes += 16;
  }

  /**
   * Per sampled line, its samples and the time it held the reactor, by the held rule of docs/protocol.md (STALL;
   * model.py's StallRecord.line_shares is the twin): in time order, each sample weighs the time since the
   * previous sample of this callback (the first: since the callback's start), and a line holds the weights of
   * the samples whose innermost frame it is.
   */
  lineShares(): readonly LineShare[] {
    if (this.shares) return this.shares;
    const samples = new Array<number>(this.lineList.length).fill(0);
    const held = new Array<number>(this.lineList.length).fill(0);
    const weights = this.weights();
    for (let i = 0; i < weights.length; i++) {
      const line = this.innermost[i];
      if (line < 0) continue;
      samples[line]++;
      held[line] += weights[i];
    }
    this.shares = this.lineList.map(({ site, line }, i) => ({ site, line, samples: samples[i], heldNs: held[i] }));
    return this.shares;
  }

  /** Each sample's weight by the held rule, in the order the samples came (the order of `times`). */
  private weights(): number[] {
    const weights = new Array<number>(this.times.length).fill(0);
    const order = this.times.map((_, i) => i).sort((a, b) => this.times[a] - this.times[b]);
    let previous = this.start;
    for (const i of order) {
      const t = this.times[i];
      weights[i] = Math.max(0, t - previous);
      previous = Math.max(previous, t);
    }
    return weights;
  }

  /**
   * The app's code behind a library callback (model.py's StallRecord.app_frame_shares is the twin): for each
   * sample whose stack is kept, the outermost frame in the app's code (`isApp`), unless `skip` has it; that site
   * holds the sample's weight, and its innermost line the same. Sites by their held time and lines.
   */
  appFrameShares(isApp: (site: number) => boolean, skip: ReadonlySet<number>): Map<number, AppFrameShare> {
    const out = new Map<number, AppFrameShare>();
    const weights = this.weights();
    const outermost = this.stacks.map((stack) => {
      for (let f = stack.length - 1; f >= 0; f--) if (isApp(stack[f][0])) return stack[f][0];
      return -1;
    });
    for (let i = 0; i < this.sampleStacks.length; i++) {
      const app = outermost[this.sampleStacks[i]];
      const line = this.innermost[i];
      if (app < 0 || skip.has(app) || line < 0) continue;
      let share = out.get(app);
      if (!share) out.set(app, (share = { heldNs: 0, lines: new Map() }));
      share.heldNs += weights[i];
      const { site, line: number } = this.lineList[line];
      const key = `${site}:${number}`;
      const total = share.lines.get(key);
      if (total) {
        total.samples++;
        total.heldNs += weights[i];
      } else {
        share.lines.set(key, { site, line: number, samples: 1, heldNs: weights[i] });
      }
    }
    return out;
  }

  /** The median gap between consecutive samples: the watchdog's interval, robust to a late wake-up. */
  sampleIntervalNs(): number {
    const gaps: number[] = [];
    for (let i = 1; i < this.sampleTimes.length; i++) {
      const gap = this.sampleTimes[i] - this.sampleTimes[i - 1];
      if (gap > 0) gaps.push(gap);
    }
    if (gaps.length === 0) return DEFAULT_SAMPLE_INTERVAL_NS;
    gaps.sort((a, b) => a - b);
    const middle = gaps.length >> 1;
    return gaps.length % 2 === 1 ? gaps[middle] : (gaps[middle - 1] + gaps[middle]) / 2;
  }

  heldNs(): number {
    return this.durationNs ?? this.lineSamples * this.sampleIntervalNs();
  }
}

export class SessionStore implements BudgetMember {
  private readonly budget: HistoryBudget;
  private readonly now: () => number;
  private readonly chunkEvents: number;

  private pid: number | undefined;
  private originWallNs: number | undefined;
  private metadata: Metadata = {};
  /** The session's rule for the app's code (its metadata's `userCode`; the fallback rule without one). */
  private userCode = new UserCode();
  private goodbye: SessionSummary['goodbye'];
  private firstFrameAt: number | undefined;
  private lastFrameAt: number | undefined;

  private readonly sites = new Map<number, Site>();
  private siteBytes = 0;
  /** Keyed by site * 256 + kind. */
  private readonly histograms = new Map<number, Histogram>();

  private readonly chunks: EventChunk[] = [];
  private stored = 0;
  private dropped = 0;
  /** The latest time any frame speaks of (a callback's end, a gauge, a loop window), ns from the origin. */
  private latest = 0;

  /** Recent stalled callbacks by `${start}:${site}`, oldest first (Map keeps insertion order). */
  private readonly stalls = new Map<string, StallRecord>();
  private stallBytes = 0;
  /** Lines of stalled callbacks no longer recent, by `${callbackSite}:${site}:${line}`. */
  private readonly retiredLines = new Map<string, LineTotal>();
  /** Per app frame behind a library callback (appFrames), what it held in each stalled callback no longer recent. */
  private readonly retiredAppFrames = new Map<number, Histogram>();

  private readonly gauges = new Map<number, SeriesRing>();
  private readonly lags = new SeriesRing(2, SERIES_POINTS);
  private readonly windows = new SeriesRing(5, SERIES_POINTS);

  constructor(options: SessionStoreOptions) {
    this.now = options.now ?? Date.now;
    this.chunkEvents = options.chunkEvents ?? DEFAULT_CHUNK_EVENTS;
    if (!(this.chunkEvents > 0 && this.chunkEvents % SPAN_EVENTS === 0)) {
      throw new RangeError(`chunkEvents must be a positive multiple of ${SPAN_EVENTS}, not ${this.chunkEvents}`);
    }
    if ('budget' in options) {
      this.budget = options.budget;
      this.budget.join(this, options.ended);
    } else {
      this.budget = new HistoryBudget(options.memoryCapBytes);
      this.budget.join(this);
    }
  }

  /** The session is forgotten (Clear): what this store holds no longer counts against a shared budget. */
  dispose(): void {
    this.budget.leave(this);
  }

  ingest(frame: Frame): void {
    const now = this.now();
    this.firstFrameAt ??= now;
    this.lastFrameAt = now;
    switch (frame.type) {
      case 'hello':
        // Again after a reconnect, for the same process: what is stored goes on.
        this.pid = frame.pid;
        this.originWallNs = frame.originWallNs;
        this.metadata = { ...this.metadata, ...frame.metadata };
        this.userCode = UserCode.ofMetadata(this.metadata);
        break;
      case 'sites':
        for (const site of frame.sites) this.addSite(site);
        break;
      case 'events':
        this.ingestEvents(frame);
        break;
      case 'stall':
        this.ingestStall(frame);
        break;
      case 'gauges':
        for (const [id, value] of frame.values) this.gaugeSeries(id).push([frame.t, value]);
        this.latest = Math.max(this.latest, frame.t);
        break;
      case 'loop':
        this.windows.push([frame.start, frame.end, frame.iterations, frame.busyNs, frame.idleNs]);
        for (let i = 0; i < frame.lagTimes.length; i++) this.lags.push([frame.lagTimes[i], frame.lags[i]]);
        this.latest = Math.max(this.latest, frame.end);
        break;
      case 'meta':
        this.metadata = { ...this.metadata, ...frame.metadata };
        if ('userCode' in frame.metadata) this.userCode = UserCode.ofMetadata(this.metadata);
        break;
      case 'goodbye':
        this.goodbye = { exitCode: frame.exitCode, reason: frame.reason };
        break;
      case 'challenge':
      case 'serverProof':
      case 'shimProof':
      case 'welcome':
        break; // the handshake's: debugSocket.ts takes them, and a recording has none
    }
    this.budget.settle(this);
  }

  /** Events in the history now. */
  /** A site's location, once a SITES frame has described it. */
  site(id: number): Site | undefined {
    return this.sites.get(id);
  }

  /** The latest time any frame spoke of, ns from the origin; 0 before any. */
  get latestNs(): number {
    return this.latest;
  }

  /**
   * One callback the watchdog sampled, by its start and site (or a nested one, by the sampled callback it ran
   * in), with the line it was sampled in most: where it blocked. Undefined when it was not sampled, or is no
   * longer among the recent stalls.
   */
  blockingLineOf(start: number, site: number): BlockingLine | undefined {
    const record = this.stalls.get(`${start}:${site}`) ?? this.stallAround(start, site);
    if (!record) return undefined;
    let top: LineShare | undefined;
    for (const share of record.lineShares()) if (!top || compareLines(share, top) < 0) top = share;
    if (!top) return undefined;
    const where = this.sites.get(top.site);
    return { site: top.site, file: where?.file ?? '', name: where?.name ?? '', line: top.line, samples: top.samples, heldNs: top.heldNs };
  }

  /** For a nested callback (a render_GET, a coroutine step): the stalled callback it ran in, whose stacks show it. */
  private stallAround(start: number, site: number): StallRecord | undefined {
    for (const record of this.stalls.values()) {
      this.resolveDuration(record);
      const end = record.start + (record.durationNs ?? Infinity);
      if (start >= record.start && start < end && record.stacks.some((stack) => stack.some(([s]) => s === site))) return record;
    }
    return undefined;
  }

  get eventsStored(): number {
    return this.stored;
  }

  /** Events dropped from the history to stay within the memory budget; the statistics still count them. */
  get droppedEvents(): number {
    return this.dropped;
  }

  private addSite(site: Site): void {
    const old = this.sites.get(site.id);
    if (old) this.siteBytes -= siteBytes(old);
    this.sites.set(site.id, site);
    this.siteBytes += siteBytes(site);
  }

  private gaugeSeries(id: number): SeriesRing {
    let ring = this.gauges.get(id);
    if (!ring) {
      ring = new SeriesRing(2, SERIES_POINTS);
      this.gauges.set(id, ring);
    }
    return ring;
  }

  /** One pass over the columns for the statistics, then bulk copies into the history: nothing per event. */
  private ingestEvents(frame: EventsFrame): void {
    const { start, duration, site, kind } = frame;
    const n = duration.length;
    let key = -1;
    let histogram: Histogram | undefined;
    let latest = this.latest;
    for (let i = 0; i < n; i++) {
      const end = start[i] + duration[i];
      if (end > latest) latest = end;
      // Consecutive callbacks of one site and kind are common (a burst of reads), so the map is skipped then.
      const k = site[i] * 256 + kind[i];
      if (k !== key || histogram === undefined) {
        key = k;
        histogram = this.histograms.get(k);
        if (histogram === undefined) {
          histogram = new Histogram();
          this.histograms.set(k, histogram);
        }
      }
      histogram.record(duration[i]);
    }
    this.latest = latest;
    for (let from = 0; from < n; ) {
      let chunk = this.chunks[this.chunks.length - 1];
      if (chunk === undefined || chunk.full) {
        chunk = new EventChunk(this.chunkEvents, this.budget.nextAge());
        this.chunks.push(chunk);
        this.budget.settle(this);
      }
      const count = Math.min(n - from, chunk.capacity - chunk.length);
      chunk.append(frame, from, count);
      from += count;
      this.stored += count;
    }
  }

  // -- BudgetMember (historyBudget.ts) --

  oldestChunkAge(keepNewest: boolean): number | undefined {
    return this.chunks.length > (keepNewest ? 1 : 0) ? this.chunks[0].age : undefined;
  }

  dropOldestChunk(): void {
    const oldest = this.chunks.shift();
    if (oldest === undefined) return;
    this.stored -= oldest.length;
    this.dropped += oldest.length;
  }

  private ingestStall(frame: Extract<Frame, { type: 'stall' }>): void {
    const key = `${frame.callbackStart}:${frame.site}`;
    let record = this.stalls.get(key);
    if (!record) {
      record = new StallRecord(frame.callbackStart, frame.site, frame.kind);
      this.stalls.set(key, record);
      this.stallBytes += record.bytes;
      if (this.stalls.size > RECENT_STALLS) this.retireOldestStall();
    }
    const before = record.bytes;
    for (const sample of frame.samples) record.add(sample);
    this.stallBytes += record.bytes - before;
    // The shim sends EVENTS before STALL in a flush, so the callback's record may be here already.
    this.resolveDuration(record);
  }

  /** Looks for the stalled callback's EVENTS record (it may arrive after the last STALL frame). */
  private resolveDuration(record: StallRecord): void {
    for (let c = this.chunks.length - 1; record.durationNs === undefined && c >= 0; c--) {
      record.durationNs = this.chunks[c].find(record.start, record.site);
    }
  }

  private retireOldestStall(): void {
    const oldest = this.stalls.entries().next();
    if (oldest.done) return;
    const [key, record] = oldest.value;
    this.stalls.delete(key);
    this.stallBytes -= record.bytes;
    this.resolveDuration(record);
    const nestedHandlers = this.nestedHandlerSites();
    for (const [callbackSite, nested] of this.creditedSites(record, nestedHandlers)) {
      for (const share of record.lineShares()) this.retireLine(callbackSite, nested, share);
    }
    for (const [site, share] of this.appFrames(record, this.appFrameSkip(nestedHandlers))) {
      let histogram = this.retiredAppFrames.get(site);
      if (!histogram) this.retiredAppFrames.set(site, (histogram = new Histogram()));
      histogram.record(share.heldNs);
      for (const line of share.lines.values()) this.retireLine(site, true, line);
    }
  }

  private retireLine(callbackSite: number, nested: boolean, share: LineShare): void {
    const totalKey = `${callbackSite}:${share.site}:${share.line}`;
    const total = this.retiredLines.get(totalKey);
    if (total) {
      total.samples += share.samples;
      total.heldNs += share.heldNs;
    } else {
      this.retiredLines.set(totalKey, { callbackSite, nested, ...share });
      this.stallBytes += OBJECT_BYTES;
    }
  }

  /**
   * The sites in the user's code that ran nested inside another callback (Deferred callbacks, coroutine steps,
   * web requests' renders): handlers in their own right, since the callback the loop ran is often Twisted's
   * (`Deferred.callback` for a deferLater, an HTTP channel's read for a request).
   */
  private nestedHandlerSites(): Set<number> {
    const sites = new Set<number>();
    for (const key of this.histograms.keys()) {
      const site = Math.floor(key / 256);
      if (sites.has(site) || !NESTED_KINDS.includes(key % 256)) continue;
      const file = this.sites.get(site)?.file;
      if (file !== undefined && this.userCode.isUserFile(file)) sites.add(site);
    }
    return sites;
  }

  /**
   * The handler sites a stall's lines are credited to: the stalled callback, and (nested) every nested handler
   * its stacks ran through, so a render_GET or an inlineCallbacks generator shows where it blocked.
   */
  private creditedSites(record: StallRecord, nestedHandlers: ReadonlySet<number>): [site: number, nested: boolean][] {
    const credited: [number, boolean][] = [[record.site, false]];
    const seen = new Set<number>([record.site]);
    for (const stack of record.stacks) {
      for (const [site] of stack) {
        if (!seen.has(site) && nestedHandlers.has(site)) credited.push([site, true]);
        seen.add(site);
      }
    }
    return credited;
  }

  /**
   * The app's functions behind a stalled library callback (a framework's dispatch: `Cooperator._tick` running a
   * crawler's callback, an asyncio Task of a framework, Klein's or another resource's own `render`, a
   * `Deferred.callback` whose callbacks are a library's): per sample, the outermost frame in the app's code, by
   * StallRecord.appFrameShares. None when the stalled callback is the app's own, and never a site with events of
   * its own (a nested handler or a top-level callback, whose figures and lines come from those).
   */
  private appFrames(record: StallRecord, skip: ReadonlySet<number>): Map<number, AppFrameShare> {
    if (this.isAppSite(record.site)) return new Map();
    return record.appFrameShares((site) => this.isAppSite(site), skip);
  }

  /** The sites appFrames never names: those with events of their own (nested handlers, top-level callbacks). */
  private appFrameSkip(nestedHandlers: ReadonlySet<number>): Set<number> {
    const skip = new Set<number>(nestedHandlers);
    for (const key of this.histograms.keys()) if (isTopLevel(key % 256)) skip.add(Math.floor(key / 256));
    return skip;
  }

  private isAppSite(site: number): boolean {
    const file = this.sites.get(site)?.file;
    return file !== undefined && file !== '' && this.userCode.isUserFile(file);
  }

  /**
   * Per callback site, the lines its stalls were sampled in, retired and recent together. A sample's
   * callback is its STALL frame's site, which may be one no EVENTS record has mentioned yet. With
   * `nestedHandlers`, the lines are also credited to those the stacks ran through (see creditedSites), and to
   * the app's functions behind each recent stall (`appFrames`, by record, as hotspots() computed them).
   */
  private linesByCallbackSite(
    nestedHandlers?: ReadonlySet<number>,
    appFrames?: ReadonlyMap<StallRecord, Map<number, AppFrameShare>>,
  ): Map<number, Map<string, BlockingLine>> {
    const bySite = new Map<number, Map<string, BlockingLine>>();
    const add = (callbackSite: number, share: Omit<LineTotal, 'callbackSite' | 'nested'>): void => {
      let lines = bySite.get(callbackSite);
      if (!lines) bySite.set(callbackSite, (lines = new Map<string, BlockingLine>()));
      const key = `${share.site}:${share.line}`;
      const line = lines.get(key);
      if (line) {
        line.samples += share.samples;
        line.heldNs += share.heldNs;
      } else {
        const where = this.sites.get(share.site);
        const { site, line: number, samples, heldNs } = share;
        lines.set(key, { site, file: where?.file ?? '', name: where?.name ?? '', line: number, samples, heldNs });
      }
    };
    for (const total of this.retiredLines.values()) if (nestedHandlers || !total.nested) add(total.callbackSite, total);
    for (const record of this.stalls.values()) {
      this.resolveDuration(record);
      const sites = nestedHandlers ? this.creditedSites(record, nestedHandlers).map(([site]) => site) : [record.site];
      for (const site of sites) for (const share of record.lineShares()) add(site, share);
      for (const [site, share] of appFrames?.get(record) ?? []) for (const line of share.lines.values()) add(site, line);
    }
    return bySite;
  }

  /** Every line stalls were sampled in, whatever callback held the reactor, longest held first. */
  blockingLines(): BlockingLine[] {
    const merged = new Map<string, BlockingLine>();
    for (const lines of this.linesByCallbackSite().values()) {
      for (const [key, line] of lines) {
        const seen = merged.get(key);
        if (seen) {
          seen.samples += line.samples;
          seen.heldNs += line.heldNs;
        } else {
          merged.set(key, line);
        }
      }
    }
    return [...merged.values()].sort(compareLines);
  }

  /** The recent stalled callbacks (up to 200), oldest first, with their stacks. */
  stalledCallbacks(): StalledCallback[] {
    return [...this.stalls.values()].map((record) => {
      this.resolveDuration(record);
      return {
        start: record.start,
        site: record.site,
        kind: record.kind,
        durationNs: record.durationNs,
        sampleIntervalNs: record.sampleIntervalNs(),
        heldNs: record.heldNs(),
        sampleTimes: record.sampleTimes,
        sampleStacks: record.sampleStacks,
        stacks: record.stacks,
      };
    });
  }

  /** Statistics of one site's callbacks of one kind; undefined if it ran none. */
  stats(site: number, kind: number): CallStats | undefined {
    const histogram = this.histograms.get(site * 256 + kind);
    return histogram && callStats(histogram);
  }

  /**
   * Sites by the time their callbacks held the reactor, longest first: what the loop ran (kinds 1-4), and the
   * user's nested handlers (Deferred callbacks, coroutine steps, web request renders outside library code; see
   * nestedHandlerSites), whose time is inside the callback that ran them too. Library code's nested steps are left
   * out: they would bury the user's handlers. A site seen only in stall
   * samples (stuck in its first callback, whose EVENTS record comes when it returns) is there with no calls,
   * so the lines it is stuck in show while it lasts.
   */
  hotspots(): Hotspot[] {
    const bySite = new Map<number, Histogram>();
    const topLevelOf = (site: number): Histogram => {
      let histogram = bySite.get(site);
      if (!histogram) bySite.set(site, (histogram = new Histogram()));
      return histogram;
    };
    const nestedHandlers = this.nestedHandlerSites();
    for (const [key, histogram] of this.histograms) {
      const site = Math.floor(key / 256);
      if (isTopLevel(key % 256) || nestedHandlers.has(site)) topLevelOf(site).merge(histogram);
    }
    const sampled = new Set<number>();
    const sampledOf = (site: number): Histogram => {
      sampled.add(site);
      return topLevelOf(site);
    };
    for (const [site, histogram] of this.retiredAppFrames) sampledOf(site).merge(histogram);
    const skip = this.appFrameSkip(nestedHandlers);
    const appFrames = new Map<StallRecord, Map<number, AppFrameShare>>();
    for (const record of this.stalls.values()) {
      const frames = this.appFrames(record, skip);
      appFrames.set(record, frames);
      for (const [site, share] of frames) sampledOf(site).record(share.heldNs);
    }
    const lines = this.linesByCallbackSite(nestedHandlers, appFrames);
    for (const site of lines.keys()) topLevelOf(site);
    const hotspots: Hotspot[] = [];
    for (const [site, histogram] of bySite) {
      const where = this.sites.get(site);
      hotspots.push({
        site,
        file: where?.file ?? '',
        line: where?.line ?? 0,
        name: where?.name ?? '',
        nested: nestedHandlers.has(site) || sampled.has(site),
        sampled: sampled.has(site),
        ...callStats(histogram),
        blockingLines: [...(lines.get(site)?.values() ?? [])].sort(compareLines),
      });
    }
    return hotspots.sort((a, b) => b.totalNs - a.totalNs || a.site - b.site);
  }

  summary(): SessionSummary {
    return {
      pid: this.pid,
      originWallNs: this.originWallNs,
      metadata: this.metadata,
      sites: this.sites.size,
      eventsStored: this.stored,
      droppedEvents: this.dropped,
      firstFrameAt: this.firstFrameAt,
      lastFrameAt: this.lastFrameAt,
      goodbye: this.goodbye,
    };
  }

  /**
   * The callbacks, gauges, loop lag and loop windows of [startNs, endNs), each reduced to at most `maxPoints`
   * items: callbacks one by one when that many or fewer are in the range, else binned per kind.
   */
  queryRange(startNs: number, endNs: number, maxPoints: number): RangeData {
    if (!(endNs > startNs)) throw new RangeError(`empty range [${startNs}, ${endNs})`);
    const points = Math.floor(maxPoints);
    if (!(points >= 1)) throw new RangeError(`maxPoints must be at least 1, not ${maxPoints}`);
    return {
      startNs,
      endNs,
      callbacks: this.callbacksIn(startNs, endNs, points),
      gauges: [...this.gauges]
        .sort(([a], [b]) => a - b)
        .map(([id, ring]) => ({ id, ...envelope(ring, startNs, endNs, points) })),
      lag: envelope(this.lags, startNs, endNs, points),
      loop: loopWindows(this.windows, startNs, endNs, points),
    };
  }

  private callbacksIn(from: number, to: number, maxPoints: number): CallbackEvents | CallbackBins {
    const counter = new RangeCounter();
    this.walk(from, to, counter);
    if (counter.count <= maxPoints) {
      const collector = new EventCollector(counter.count);
      this.walk(from, to, collector);
      return collector.collected;
    }
    const binner = new CallbackBinner(from, to, maxPoints);
    this.walk(from, to, binner);
    return binner.result();
  }

  /** Visits the events in [from, to): chunks, spans and blocks outside it are skipped by their bounds. */
  private walk(from: number, to: number, visitor: RangeVisitor): void {
    for (const chunk of this.chunks) {
      if (chunk.sealedBlocks > 0 && chunk.minStart < to && chunk.maxEnd >= from) {
        const spans = chunk.sealedSpans;
        for (let span = 0; span < spans; span++) {
          if (!settled(chunk, chunk.spans, span, SPAN_EVENTS, from, to, visitor)) {
            walkBlocks(chunk, span * SPAN_BLOCKS, (span + 1) * SPAN_BLOCKS, from, to, visitor);
          }
        }
        walkBlocks(chunk, spans * SPAN_BLOCKS, chunk.sealedBlocks, from, to, visitor);
      }
      visitor.events(chunk, chunk.sealedBlocks * BLOCK_EVENTS, chunk.length, from, to);
    }
  }

  /** Typed arrays at their size, and a rough figure for the objects around them. */
  estimateMemoryBytes(): number {
    let bytes = this.chunks.length * EventChunk.bytes(this.chunkEvents);
    bytes += this.histograms.size * (Histogram.bytes + OBJECT_BYTES);
    bytes += this.siteBytes + this.stallBytes + this.lags.bytes + this.windows.bytes;
    for (const ring of this.gauges.values()) bytes += ring.bytes;
    return bytes;
  }
}

function walkBlocks(chunk: EventChunk, first: number, last: number, from: number, to: number, visitor: RangeVisitor): void {
  for (let block = first; block < last; block++) {
    if (!settled(chunk, chunk.blocks, block, BLOCK_EVENTS, from, to, visitor)) {
      visitor.events(chunk, block * BLOCK_EVENTS, (block + 1) * BLOCK_EVENTS, from, to);
    }
  }
}

/** Whether summary `index` is done with: its events are all outside [from, to), or the visitor took it whole. */
function settled(
  chunk: EventChunk,
  summaries: Float64Array,
  index: number,
  size: number,
  from: number,
  to: number,
  visitor: RangeVisitor,
): boolean {
  const base = index * SUMMARY_FIELDS;
  if (summaries[base + MIN_START] >= to || summaries[base + MAX_END] < from) return true;
  const whole = summaries[base + MIN_START] >= from && summaries[base + MAX_START] < to;
  return whole && visitor.summary(chunk, summaries, base, size);
}

/** Longest held first; then by site and line, so that the order is the same for the same data (model.py's too). */
function compareLines(a: { site: number; line: number; heldNs: number }, b: { site: number; line: number; heldNs: number }): number {
  return b.heldNs - a.heldNs || a.site - b.site || a.line - b.line;
}

function callStats(histogram: Histogram): CallStats {
  return {
    count: histogram.count,
    totalNs: histogram.total,
    maxNs: histogram.max,
    p50Ns: histogram.percentile(0.5),
    p95Ns: histogram.percentile(0.95),
    p99Ns: histogram.percentile(0.99),
  };
}

function siteBytes(site: Site): number {
  return OBJECT_BYTES + 2 * (site.file.length + site.name.length);
}
