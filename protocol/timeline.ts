/**
 * The timeline's data contract: a time range of one session reduced to what a screen can show. Built by the
 * server's SessionStore (server/src/store/sessionStore.ts) as typed-array columns; it travels to the
 * extension as JSON (`Jsonified`), through the TimelineRequest of protocol/lsp.ts.
 */

/** Few enough callbacks to draw one by one: the EVENTS frame's columns, in the order the callbacks ended. */
export interface CallbackEvents {
  type: 'events';
  start: Float64Array;
  duration: Float64Array;
  site: Uint32Array;
  kind: Uint8Array;
}

/**
 * Too many callbacks to draw: per kind, bins of equal width holding the callbacks that started in them. Each bin
 * keeps its longest callback (start, duration, site), which may run past the bin's end, so none is hidden.
 */
export interface CallbackBins {
  type: 'bins';
  binNs: number;
  lanes: LaneBins[];
}

/** One kind's non-empty bins, in time order. */
export interface LaneBins {
  /** The event kind; 0 gathers kinds this version does not know. */
  kind: number;
  start: Float64Array;
  end: Float64Array;
  count: Float64Array;
  busyNs: Float64Array;
  maxNs: Float64Array;
  maxStart: Float64Array;
  maxSite: Float64Array;
}

/** A series as points (min = max) when few, else the min and max of each bin, at the bin's start. */
export interface Envelope {
  t: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/** Loop windows, or when too many, sums over bins of them (start of the first, end of the last). */
export interface LoopWindows {
  start: Float64Array;
  end: Float64Array;
  iterations: Float64Array;
  busyNs: Float64Array;
  idleNs: Float64Array;
}

/**
 * A range reduced for the timeline. Every series is columns of typed arrays, filled without a boxed number or
 * an object per item (sending them as JSON takes Array.from).
 */
export interface RangeData {
  startNs: number;
  endNs: number;
  callbacks: CallbackEvents | CallbackBins;
  gauges: (Envelope & { id: number })[];
  lag: Envelope;
  loop: LoopWindows;
}

/** A contract type as JSON carries it: typed arrays become plain number arrays. */
export type Jsonified<T> = T extends ArrayBufferView
  ? number[]
  : T extends readonly (infer U)[]
    ? Jsonified<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonified<T[K]> }
      : T;

/** Typed arrays to plain arrays, all the way down: what `Jsonified<T>` describes. */
export function jsonify<T>(value: T): Jsonified<T> {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>) as Jsonified<T>;
  if (Array.isArray(value)) return value.map((item: unknown) => jsonify(item)) as Jsonified<T>;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = jsonify(item);
    return out as Jsonified<T>;
  }
  return value as Jsonified<T>;
}
