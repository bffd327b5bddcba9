/**
 * The panel's view state (kept by `setState`, so it survives a reload) and the pure rules around it: which
 * sessions show, which time window, what to ask the extension for, how zoom and pan move the window.
 */
import type { SessionInfo } from '../../protocol/lsp';
import type { Highlight, RangeQuery } from '../../protocol/webview';

/**
 * follow: the last `spanMs`, moving as data arrives; whole: the sessions from start to latest data;
 * range: a fixed window of the time axis (ms from the view origin), after a zoom or pan.
 */
export type TimeWindow = { mode: 'follow'; spanMs: number } | { mode: 'whole' } | { mode: 'range'; startMs: number; endMs: number };

export interface ViewState {
  /** The sessions chosen by the user; undefined: the newest one and every other live one. */
  sessionIds: number[] | undefined;
  window: TimeWindow;
  highlight: Highlight | undefined;
}

export const DEFAULT_FOLLOW_SPAN_MS = 30_000;
export const INITIAL_STATE: ViewState = { sessionIds: undefined, window: { mode: 'follow', spanMs: DEFAULT_FOLLOW_SPAN_MS }, highlight: undefined };

/** The whole panel draws at most about this many items, so a redraw stays cheap at any zoom. */
export const POINT_BUDGET = 5000;
/** Series a session can fill: seven callback lanes (with web requests), lag, busy, five queues, CPU, memory. */
export const SERIES_PER_SESSION = 16;

/** Items per series to ask for: about one per 2 pixels of plot, within the panel's point budget. */
export function maxPointsFor(plotWidthPx: number, sessions: number): number {
  const byWidth = Math.floor(plotWidthPx / 2);
  const byBudget = Math.floor(POINT_BUDGET / (SERIES_PER_SESSION * Math.max(1, sessions)));
  return Math.max(16, Math.min(byWidth, byBudget));
}

/** The sessions to show: the user's choice where they still exist, else the newest and every live one. */
export function shownSessions(state: ViewState, sessions: readonly SessionInfo[]): SessionInfo[] {
  const started = sessions.filter((s) => s.state !== 'waiting');
  if (state.sessionIds) {
    const chosen = started.filter((s) => state.sessionIds?.includes(s.id));
    if (chosen.length) return chosen;
  }
  const newest = started.at(-1);
  return started.filter((s) => s === newest || s.state === 'live');
}

/** What to ask for, per shown session, given where each sits on the time axis (`offsetsMs`). */
export function queriesFor(window: TimeWindow, sessions: readonly SessionInfo[], offsetsMs: readonly number[]): RangeQuery[] {
  return sessions.map((session, i) => {
    switch (window.mode) {
      case 'follow':
        return { sessionId: session.id, spanNs: window.spanMs * 1e6 };
      case 'whole':
        return { sessionId: session.id };
      case 'range': {
        const offset = offsetsMs[i] ?? 0;
        const startNs = Math.max(0, (window.startMs - offset) * 1e6);
        return { sessionId: session.id, startNs, endNs: Math.max(startNs + 1, (window.endMs - offset) * 1e6) };
      }
    }
  });
}

/** The x-axis window to draw for data reaching `latestMs` (and starting at `earliestMs`). */
export function xWindow(window: TimeWindow, earliestMs: number, latestMs: number): { min: number; max: number } {
  switch (window.mode) {
    case 'follow':
      return { min: Math.max(earliestMs, latestMs - window.spanMs), max: Math.max(latestMs, earliestMs + 1) };
    case 'whole':
      return { min: earliestMs, max: Math.max(latestMs, earliestMs + 1) };
    case 'range':
      return { min: window.startMs, max: window.endMs };
  }
}

/** Narrowest window a zoom goes to: 0.1 ms. */
const MIN_SPAN_MS = 0.1;

/** Zooms by `factor` (< 1 in, > 1 out) around `centerMs`, keeping that time under the same pixel. */
export function zoomWindow(current: { min: number; max: number }, factor: number, centerMs = (current.min + current.max) / 2): TimeWindow {
  const span = Math.max(MIN_SPAN_MS, (current.max - current.min) * factor);
  const share = current.max > current.min ? (centerMs - current.min) / (current.max - current.min) : 0.5;
  const startMs = centerMs - share * span;
  return { mode: 'range', startMs, endMs: startMs + span };
}

/** Moves the window by `fraction` of its width (negative: back in time). */
export function panWindow(current: { min: number; max: number }, fraction: number): TimeWindow {
  const shift = (current.max - current.min) * fraction;
  return { mode: 'range', startMs: current.min + shift, endMs: current.max + shift };
}
