/**
 * Messages between the extension (extension/src/timeline/panel.ts) and the timeline webview
 * (webview/src/main.ts), unions keyed on `type`. The extension owns the data and asks the telemetry server for
 * it; the webview keeps only view state (which sessions, which time range, what is highlighted).
 */
import type { SessionInfo, SourceLine, TimelineData } from './lsp';
import type { ServerStatus } from './serverStatus';

/** One session's part of a range query; times in ns from that session's origin (see TimelineParams). */
export interface RangeQuery {
  sessionId: number;
  startNs?: number;
  endNs?: number;
  /** Live follow: the last `spanNs` of the session. */
  spanNs?: number;
}

/** A handler to highlight: its calls stand out in the panel, every other call is dimmed. */
export interface Highlight extends SourceLine {
  /** The session the request came from; the panel shows it if it is not shown already. */
  sessionId?: number;
}

/** Webview -> extension. The webview sends `ready` first, once its script has loaded. */
export type WebviewToExtension =
  | { type: 'ready' }
  /** Ranges of the shown sessions, each reduced to `maxPoints` items per series; answered by `ranges`. */
  | { type: 'query'; requestId: number; queries: RangeQuery[]; maxPoints: number }
  /** The user clicked (or pressed Enter on) a callback: open its source, at the blocking line if sampled. */
  | { type: 'openCallback'; sessionId: number; startNs: number; site: number };

/** Extension -> webview. */
export type ExtensionToWebview =
  | { type: 'serverStatus'; status: ServerStatus }
  /** Every session, on open and whenever the telemetry changes (at most every 150 ms). */
  | { type: 'sessions'; sessions: SessionInfo[]; slowThresholdMs: number }
  /** The answer to `query` number `requestId`: one range per session that still exists. */
  | { type: 'ranges'; requestId: number; ranges: TimelineData[] }
  | { type: 'highlight'; highlight: Highlight | undefined };
