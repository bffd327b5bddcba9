/**
 * The Reactor Timeline webview: wiring only. It asks the extension for ranges (protocol/webview.ts), turns them
 * into charts (timelineModel.ts, charts.ts) and keeps only view state, in `setState` so a reload restores it.
 * It announces itself with `ready` so the extension knows when to send data.
 */
import type { SessionInfo, TimelineData } from '../../protocol/lsp';
import type { ExtensionToWebview, WebviewToExtension } from '../../protocol/webview';
import { TimelineCharts } from './charts';
import { RefreshScheduler } from './refreshScheduler';
import { readTheme, watchTheme } from './theme';
import { buildTimeline, type CallbackBar, type TimelineModel } from './timelineModel';
import { PanelView, type ToolbarActions } from './view';
import {
  DEFAULT_FOLLOW_SPAN_MS,
  INITIAL_STATE,
  maxPointsFor,
  panWindow,
  queriesFor,
  shownSessions,
  type TimeWindow,
  type ViewState,
  xWindow,
  zoomWindow,
} from './viewState';

interface VsCodeApi {
  postMessage(message: WebviewToExtension): void;
  getState(): ViewState | undefined;
  setState(state: ViewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root');
if (!root) throw new Error('timeline: #root is missing from the panel HTML');

let state: ViewState = { ...INITIAL_STATE, ...vscode.getState() };
let sessions: SessionInfo[] = [];
/** The user's reactorscope.slowThresholdMs, from the first `sessions` message (nothing is drawn before it). */
let slowThresholdMs: number | undefined;
let ranges: TimelineData[] = [];
let model: TimelineModel | undefined;
let lastRequestId = 0;

function update(next: Partial<ViewState>): void {
  state = { ...state, ...next };
  vscode.setState(state);
  view.renderWindow(state.window);
  view.renderHighlight(state.highlight);
}

function shown(): SessionInfo[] {
  return shownSessions(state, sessions);
}

function open(bar: CallbackBar): void {
  vscode.postMessage({ type: 'openCallback', sessionId: bar.sessionId, startNs: bar.startNs, site: bar.site });
}

function setWindow(window: TimeWindow): void {
  update({ window });
  charts.moveTo(xWindow(window, model?.earliestMs ?? 0, model?.latestMs ?? 0));
  scheduler.request();
}

const actions: ToolbarActions = {
  // Follow and whole session both move with the data: Pause holds the window where it is.
  toggleFollow: () => setWindow(state.window.mode === 'range' ? { mode: 'follow', spanMs: DEFAULT_FOLLOW_SPAN_MS } : { mode: 'range', ...rangeOf(charts.xWindow()) }),
  whole: () => setWindow({ mode: 'whole' }),
  zoom: (factor) => setWindow(zoomWindow(charts.xWindow(), factor)),
  clearHighlight: () => {
    update({ highlight: undefined });
    draw();
  },
  chooseSessions: (ids) => {
    update({ sessionIds: ids.length ? ids : undefined });
    view.renderSessions(sessions, shown());
    scheduler.request();
  },
  open,
};
const view = new PanelView(root, actions);

const charts = new TimelineCharts(view.charts, readTheme(), {
  onWindow: (window) => {
    update({ window: { mode: 'range', ...rangeOf(window) } });
    scheduler.request();
  },
  onOpen: open,
});

function rangeOf(window: { min: number; max: number }): { startMs: number; endMs: number } {
  return { startMs: window.min, endMs: window.max };
}

const scheduler = new RefreshScheduler(() => {
  const showing = shown();
  if (!showing.length) {
    ranges = [];
    draw();
    scheduler.answered();
    return;
  }
  const offsets = showing.map((s) => model?.offsetsMs[s.id] ?? 0);
  lastRequestId++;
  vscode.postMessage({
    type: 'query',
    requestId: lastRequestId,
    queries: queriesFor(state.window, showing, offsets),
    maxPoints: maxPointsFor(charts.plotWidthPx, showing.length),
  });
});

function draw(): void {
  if (slowThresholdMs === undefined) return; // the sessions, and the threshold with them, come first
  const began = performance.now();
  model = buildTimeline(ranges, sessions, { slowThresholdMs, highlight: state.highlight });
  const window = xWindow(state.window, model.earliestMs, model.latestMs);
  charts.render(model, window);
  view.renderSlowest(charts.slowestInView(5));
  view.renderSummary(model, ranges.length, window, performance.now() - began);
}

charts.callbacksCanvas.tabIndex = 0;
charts.callbacksCanvas.setAttribute('role', 'img');
charts.callbacksCanvas.addEventListener('keydown', (event) => {
  const keys: Record<string, () => void> = {
    ArrowLeft: () => setWindow(panWindow(charts.xWindow(), -0.2)),
    ArrowRight: () => setWindow(panWindow(charts.xWindow(), 0.2)),
    '+': () => setWindow(zoomWindow(charts.xWindow(), 0.5)),
    '=': () => setWindow(zoomWindow(charts.xWindow(), 0.5)),
    '-': () => setWindow(zoomWindow(charts.xWindow(), 2)),
    Home: () => setWindow({ mode: 'whole' }),
    f: () => actions.toggleFollow(),
    Enter: () => {
      const longest = charts.slowestInView(1)[0];
      if (longest) open(longest);
    },
  };
  const run = keys[event.key];
  if (!run) return;
  event.preventDefault();
  run();
});

window.addEventListener('message', (event: MessageEvent<ExtensionToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'serverStatus':
      view.renderServerStatus(message.status);
      break;
    case 'sessions':
      sessions = message.sessions;
      slowThresholdMs = message.slowThresholdMs;
      view.renderSessions(sessions, shown());
      scheduler.request();
      break;
    case 'ranges':
      if (message.requestId !== lastRequestId) break; // an answer overtaken by a newer query
      scheduler.answered();
      ranges = message.ranges;
      draw();
      break;
    case 'highlight': {
      const highlight = message.highlight;
      const session = highlight?.sessionId;
      const showing = shown().map((s) => s.id);
      const sessionIds = session !== undefined && !showing.includes(session) ? [session] : state.sessionIds;
      update({ highlight, sessionIds });
      view.renderSessions(sessions, shown());
      draw();
      scheduler.request();
      break;
    }
  }
});
new ResizeObserver(() => scheduler.request()).observe(view.charts);
watchTheme(() => charts.setTheme(readTheme()));
view.renderWindow(state.window);
view.renderHighlight(state.highlight);
vscode.postMessage({ type: 'ready' });
