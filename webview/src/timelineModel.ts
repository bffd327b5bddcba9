/**
 * Turns the telemetry server's ranges (one per shown session) into what the charts draw: callbacks as bars on
 * lanes, and the loop, queue, CPU and memory series, all on one time axis. Pure (no DOM, no chart.js), so the
 * unit tests run it in plain Node.
 *
 * Time axis: milliseconds from the view origin, the wall-clock start of the earliest shown process, so several
 * processes line up by wall time.
 */
import type { SessionInfo, SourceLine, TimelineData } from '../../protocol/lsp';
import { formatMs } from '../../protocol/format';
import { severityLevel } from '../../protocol/severity';
import { EventKind, Gauge } from '../../protocol/wire';
import type { Highlight } from '../../protocol/webview';

const NS_PER_MS = 1e6;

/** Lane names by event kind; 0 gathers kinds this version does not know. */
export const KIND_NAMES: Record<number, string> = {
  [EventKind.timer]: 'timers',
  [EventKind.ioRead]: 'I/O reads',
  [EventKind.ioWrite]: 'I/O writes',
  [EventKind.threadCall]: 'thread calls',
  [EventKind.deferred]: 'Deferreds',
  [EventKind.coroutine]: 'coroutines',
  [EventKind.webRequest]: 'web requests',
  0: 'other',
};
/** Lanes every session shows; web requests and unknown kinds get a lane when they occur. */
const LANE_KINDS = [EventKind.timer, EventKind.ioRead, EventKind.ioWrite, EventKind.threadCall, EventKind.deferred, EventKind.coroutine];
/** Lane order: a request's render right under the reads it runs in. */
const LANE_ORDER: number[] = [
  EventKind.timer, EventKind.ioRead, EventKind.webRequest, EventKind.ioWrite, EventKind.threadCall, EventKind.deferred, EventKind.coroutine, 0,
];

/** The queue gauges, drawn together. */
export const QUEUE_GAUGES: Record<number, string> = {
  [Gauge.pendingCalls]: 'pending delayed calls',
  [Gauge.readers]: 'readers',
  [Gauge.writers]: 'writers',
  [Gauge.threadpoolQueue]: 'threadpool queue',
  [Gauge.threadCallQueue]: 'callFromThread queue',
};

/** One bar: a callback, or when the range holds too many to draw, the longest callback of a bin. */
export interface CallbackBar {
  /** Start and end on the time axis, ms. */
  x: [number, number];
  /** The lane's label. */
  y: string;
  sessionId: number;
  site: number;
  kind: number;
  startNs: number;
  durationNs: number;
  /** How many callbacks the bar stands for: 1, or a bin's count (the bar is its longest). */
  count: number;
  /** A bin's time blocked in all, and its extent on the time axis; only for bins. */
  bin?: { busyNs: number; x: [number, number] };
  handler: SourceLine | undefined;
  /** -1 under the slow threshold, else 0, 1, 2 at 1x, 4x, 10x it. */
  level: number;
  /** Whether the bar's handler is highlighted; undefined when nothing is. */
  highlighted: boolean | undefined;
}

export interface Point {
  x: number;
  y: number;
}

/** A line of one chart: a quantity of one session. */
export interface Series {
  /** What the line measures, e.g. "readers", and whose it is when several sessions show. */
  label: string;
  /** Stable key for its colour: the quantity, without the session. */
  key: string;
  sessionId: number;
  points: Point[];
}

export interface TimelineModel {
  /** Wall-clock ns of x = 0; undefined until a shown session has said when it started. */
  originWallNs: number | undefined;
  /** Where each shown session's ns sit on the time axis (ms = offset + ns / 1e6), by session id. */
  offsetsMs: Record<number, number>;
  /** The start of the earliest shown process and the latest time any shown session has data for, ms. */
  earliestMs: number;
  latestMs: number;
  lanes: string[];
  callbacks: CallbackBar[];
  /** Whether the bars are bins (the range held more callbacks than the point budget). */
  binned: boolean;
  lag: Series[];
  utilization: Series[];
  queues: Series[];
  cpu: Series[];
  memory: Series[];
  /** Items the charts hold, all charts together. */
  points: number;
}

/** Where a session's ns sit on the time axis: ms = offsetMs + ns / 1e6. */
export function sessionOffsets(originWallNs: (number | undefined)[]): { originWallNs: number | undefined; offsetsMs: number[] } {
  const known = originWallNs.filter((t): t is number => t !== undefined);
  const origin = known.length ? Math.min(...known) : undefined;
  return { originWallNs: origin, offsetsMs: originWallNs.map((t) => (t === undefined || origin === undefined ? 0 : (t - origin) / NS_PER_MS)) };
}

/** What a session is called on lanes and in legends when several show: its pid, else its label. */
export function sessionName(session: SessionInfo | undefined, sessionId: number): string {
  if (session?.pid !== undefined) return `pid ${session.pid}`;
  return session?.label ?? `session ${sessionId}`;
}

function laneLabel(kind: number, prefix: string): string {
  return `${prefix}${KIND_NAMES[kind] ?? KIND_NAMES[0]}`;
}

function isHighlighted(handler: SourceLine | undefined, highlight: Highlight | undefined): boolean | undefined {
  if (!highlight) return undefined;
  return handler !== undefined && handler.file === highlight.file && handler.line === highlight.line;
}

export interface BuildOptions {
  slowThresholdMs: number;
  highlight?: Highlight;
}

/** The charts' contents for the ranges of the shown sessions (in the order they are shown). */
export function buildTimeline(ranges: readonly TimelineData[], sessions: readonly SessionInfo[], options: BuildOptions): TimelineModel {
  const { originWallNs, offsetsMs } = sessionOffsets(ranges.map((r) => r.originWallNs));
  const several = ranges.length > 1;
  const model: TimelineModel = {
    originWallNs,
    offsetsMs: {},
    earliestMs: Infinity,
    latestMs: -Infinity,
    lanes: [],
    callbacks: [],
    binned: false,
    lag: [],
    utilization: [],
    queues: [],
    cpu: [],
    memory: [],
    points: 0,
  };
  ranges.forEach((range, i) => {
    const offset = offsetsMs[i] ?? 0;
    const session = sessions.find((s) => s.id === range.sessionId);
    const name = sessionName(session, range.sessionId);
    const prefix = several ? `${name} · ` : '';
    const suffix = several ? ` (${name})` : '';
    const ms = (ns: number): number => offset + ns / NS_PER_MS;
    model.offsetsMs[range.sessionId] = offset;
    model.earliestMs = Math.min(model.earliestMs, offset);
    model.latestMs = Math.max(model.latestMs, ms(range.latestNs));

    const kinds = new Set<number>(LANE_KINDS);
    const callbacks = range.callbacks;
    if (callbacks.type === 'events') callbacks.kind.forEach((k) => kinds.add(KIND_NAMES[k] ? k : 0));
    else callbacks.lanes.forEach((lane) => kinds.add(lane.kind));
    for (const kind of [...kinds].sort((a, b) => LANE_ORDER.indexOf(a) - LANE_ORDER.indexOf(b))) model.lanes.push(laneLabel(kind, prefix));

    const bar = (kind: number, startNs: number, durationNs: number, site: number): CallbackBar => {
      const handler = range.sites[site];
      return {
        x: [ms(startNs), ms(startNs + durationNs)],
        y: laneLabel(KIND_NAMES[kind] ? kind : 0, prefix),
        sessionId: range.sessionId,
        site,
        kind,
        startNs,
        durationNs,
        count: 1,
        handler,
        level: severityLevel(durationNs / NS_PER_MS, options.slowThresholdMs),
        highlighted: isHighlighted(handler, options.highlight),
      };
    };
    if (callbacks.type === 'events') {
      for (let e = 0; e < callbacks.start.length; e++) {
        model.callbacks.push(bar(callbacks.kind[e] ?? 0, callbacks.start[e] ?? 0, callbacks.duration[e] ?? 0, callbacks.site[e] ?? 0));
      }
    } else {
      model.binned = true;
      for (const lane of callbacks.lanes) {
        for (let b = 0; b < lane.start.length; b++) {
          const item = bar(lane.kind, lane.maxStart[b] ?? 0, lane.maxNs[b] ?? 0, lane.maxSite[b] ?? 0);
          item.count = lane.count[b] ?? 0;
          item.bin = { busyNs: lane.busyNs[b] ?? 0, x: [ms(lane.start[b] ?? 0), ms(lane.end[b] ?? 0)] };
          model.callbacks.push(item);
        }
      }
    }

    // The worst of each bin is what matters for lag and queues: draw the envelope's max.
    const line = (key: string, label: string, t: readonly number[], y: readonly number[], scale = 1): Series => ({
      key,
      label: `${label}${suffix}`,
      sessionId: range.sessionId,
      points: t.map((at, p) => ({ x: ms(at), y: (y[p] ?? 0) * scale })),
    });
    model.lag.push(line('lag', 'loop lag (ms)', range.lag.t, range.lag.max, 1 / NS_PER_MS));

    const { loop } = range;
    model.utilization.push({
      key: 'busy',
      label: `busy (%)${suffix}`,
      sessionId: range.sessionId,
      points: loop.start.map((start, w) => {
        const busy = loop.busyNs[w] ?? 0;
        const total = busy + (loop.idleNs[w] ?? 0);
        return { x: ms(((start ?? 0) + (loop.end[w] ?? 0)) / 2), y: total > 0 ? (100 * busy) / total : 0 };
      }),
    });

    const gauge = (id: number): (typeof range.gauges)[number] | undefined => range.gauges.find((g) => g.id === id);
    for (const [id, label] of Object.entries(QUEUE_GAUGES)) {
      const series = gauge(Number(id));
      if (series) model.queues.push(line(`gauge-${id}`, label, series.t, series.max));
    }
    const cpu = cpuPercent(gauge(Gauge.cpuUser), gauge(Gauge.cpuSystem));
    if (cpu.length) model.cpu.push({ key: 'cpu', label: `CPU (%)${suffix}`, sessionId: range.sessionId, points: cpu.map((p) => ({ x: ms(p.x), y: p.y })) });
    const rss = gauge(Gauge.rss);
    if (rss) model.memory.push(line('rss', 'memory (MB)', rss.t, rss.max, 1 / (1024 * 1024)));
  });
  if (!Number.isFinite(model.earliestMs)) {
    model.earliestMs = 0;
    model.latestMs = 0;
  }
  model.points =
    model.callbacks.length +
    [model.lag, model.utilization, model.queues, model.cpu, model.memory].flat().reduce((sum, s) => sum + s.points.length, 0);
  return model;
}

/**
 * CPU use in % of one core between consecutive samples of the cumulative user and system CPU seconds (taken
 * together by the shim, so their times match). At each sample's time, over the gap since the one before.
 */
export function cpuPercent(
  user: { t: readonly number[]; max: readonly number[] } | undefined,
  system: { t: readonly number[]; max: readonly number[] } | undefined,
): Point[] {
  if (!user) return [];
  const systemAt = new Map<number, number>();
  system?.t.forEach((t, i) => systemAt.set(t, system.max[i] ?? 0));
  const points: Point[] = [];
  let previous: { t: number; seconds: number } | undefined;
  user.t.forEach((t, i) => {
    const seconds = (user.max[i] ?? 0) + (systemAt.get(t) ?? 0);
    if (previous && t > previous.t) points.push({ x: t, y: Math.max(0, (100 * (seconds - previous.seconds) * 1e9) / (t - previous.t)) });
    previous = { t, seconds };
  });
  return points;
}

/** The tooltip of a bar: kind, handler, path:line, start and duration (and for a bin, what it holds). */
export function describeBar(bar: CallbackBar, originWallNs: number | undefined): string[] {
  const kind = KIND_NAMES[bar.kind] ?? KIND_NAMES[0];
  const where = bar.handler ? `${bar.handler.file}:${bar.handler.line}` : `site ${bar.site} (not described yet)`;
  const at = `+${(bar.x[0] / 1000).toFixed(3)} s`;
  const wall = originWallNs === undefined ? '' : ` (${new Date(originWallNs / NS_PER_MS + bar.x[0]).toISOString().slice(11, 23)})`;
  const lines = [
    `${bar.handler?.name ?? '?'} · ${kind}`,
    where,
    `started ${at}${wall}, ran ${formatMs(bar.durationNs / NS_PER_MS)}`,
  ];
  if (bar.bin) {
    lines.unshift(`${bar.count} callbacks here, ${formatMs(bar.bin.busyNs / NS_PER_MS)} in all; the longest:`);
  }
  return lines;
}

/** Axis and tooltip time: seconds from the view origin, finer as the window narrows. */
export function formatAxisTime(ms: number): string {
  const seconds = ms / 1000;
  const abs = Math.abs(seconds);
  if (abs >= 60) return `${Math.floor(seconds / 60)}m${(seconds % 60).toFixed(1).padStart(4, '0')}s`;
  return `${seconds.toFixed(abs >= 10 ? 1 : 3)} s`;
}
