/**
 * The panel's DOM around the charts: header with the server's state, a toolbar (sessions, follow, whole
 * session, zoom), a line saying what is shown, and the longest callbacks in view as buttons (the keyboard's
 * and screen readers' way to a callback). Elements carry `data-testid`s that the host tests read.
 */
import { droppedAtLeast, formatCount, formatMs } from '../../protocol/format';
import type { SessionInfo } from '../../protocol/lsp';
import { describeServerStatus, type ServerStatus } from '../../protocol/serverStatus';
import type { Highlight } from '../../protocol/webview';
import { type CallbackBar, formatAxisTime, KIND_NAMES, sessionName, type TimelineModel } from './timelineModel';
import type { TimeWindow } from './viewState';

export interface ToolbarActions {
  toggleFollow(): void;
  whole(): void;
  zoom(factor: number): void;
  clearHighlight(): void;
  chooseSessions(ids: number[]): void;
  open(bar: CallbackBar): void;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, testid?: string, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (testid) el.dataset.testid = testid;
  if (text !== undefined) el.textContent = text;
  return el;
}

function button(testid: string, text: string, title: string, run: () => void): HTMLButtonElement {
  const b = element('button', testid, text);
  b.type = 'button';
  b.title = title;
  b.addEventListener('click', run);
  return b;
}

export class PanelView {
  readonly charts: HTMLElement;
  private readonly status = element('p', 'server-status');
  private readonly sessionsBox = element('fieldset', 'sessions');
  private readonly follow: HTMLButtonElement;
  private readonly summary = element('p', 'summary');
  private readonly highlightBox = element('p', 'highlight');
  private readonly slowest = element('ol', 'slowest');
  /** Redraws so far: the tests read how often a live session redraws. */
  private draws = 0;

  constructor(root: HTMLElement, private readonly actions: ToolbarActions) {
    const header = element('header');
    header.append(element('h1', 'title', 'Reactor Timeline'), this.status);
    const toolbar = element('div');
    toolbar.className = 'toolbar';
    toolbar.setAttribute('role', 'toolbar');
    this.follow = button('follow', 'Follow', '', () => actions.toggleFollow());
    toolbar.append(
      this.follow,
      button('whole', 'Whole session', 'Show the whole session (Home)', () => actions.whole()),
      button('zoom-in', 'Zoom in', 'Zoom in (+)', () => actions.zoom(0.5)),
      button('zoom-out', 'Zoom out', 'Zoom out (-)', () => actions.zoom(2)),
    );
    this.sessionsBox.append(element('legend', undefined, 'Sessions'));
    this.charts = element('div', 'charts');
    this.charts.className = 'charts';
    const aside = element('section', 'slowest-section');
    aside.append(element('h2', undefined, 'Longest callbacks in view'), this.slowest);
    root.append(header, toolbar, this.sessionsBox, this.summary, this.highlightBox, this.charts, aside);
  }

  renderServerStatus(status: ServerStatus): void {
    this.status.textContent = describeServerStatus(status);
    this.status.dataset.state = status.state;
  }

  renderSessions(sessions: readonly SessionInfo[], shown: readonly SessionInfo[]): void {
    const started = sessions.filter((s) => s.state !== 'waiting');
    const rows = started.map((s) => {
      const label = element('label');
      const box = element('input');
      box.type = 'checkbox';
      box.value = String(s.id);
      box.checked = shown.includes(s);
      box.addEventListener('change', () => {
        const ids = [...this.sessionsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => Number(b.value));
        this.actions.chooseSessions(ids);
      });
      const dropped = [
        s.droppedEvents ? ` · ${formatCount(s.droppedEvents)} oldest callbacks dropped from history` : '',
        s.appDroppedEvents ? ` · ${droppedAtLeast(s.appDroppedEvents)} dropped by the app` : '',
      ].join('');
      label.append(box, ` ${s.label} (${sessionName(s, s.id)}, ${s.state}${dropped})`);
      return label;
    });
    this.sessionsBox.replaceChildren(this.sessionsBox.querySelector('legend') ?? element('legend', undefined, 'Sessions'), ...rows);
    this.sessionsBox.dataset.shown = shown.map((s) => s.id).join(',');
    this.sessionsBox.hidden = started.length < 2;
  }

  renderWindow(window: TimeWindow): void {
    const moving = window.mode !== 'range';
    this.follow.setAttribute('aria-pressed', String(window.mode === 'follow'));
    this.follow.textContent = moving ? 'Pause' : 'Follow';
    this.follow.title = moving ? 'Hold the window where it is (F)' : 'Follow the live session (F)';
    this.follow.dataset.mode = window.mode;
  }

  renderHighlight(highlight: Highlight | undefined): void {
    this.highlightBox.replaceChildren();
    this.highlightBox.hidden = !highlight;
    if (!highlight) {
      delete this.highlightBox.dataset.handler;
      return;
    }
    this.highlightBox.append(
      `Highlighted: ${highlight.name} (${highlight.file}:${highlight.line}) `,
      button('clear-highlight', 'Clear', 'Stop highlighting', () => this.actions.clearHighlight()),
    );
    this.highlightBox.dataset.handler = `${highlight.file}:${highlight.line}`;
  }

  /** What is shown, and (for the tests and the benchmark) how many redraws so far and how long the last took. */
  renderSummary(model: TimelineModel | undefined, shown: number, window: { min: number; max: number }, drawMs: number): void {
    this.summary.dataset.draws = String(++this.draws);
    this.summary.dataset.drawMs = drawMs.toFixed(2);
    if (!model || shown === 0) {
      this.summary.textContent = 'No session yet: run an app with Reactor Scope (Run Current File, or F5 with a "reactorscope" configuration).';
      return;
    }
    const calls = model.binned
      ? `${model.callbacks.reduce((n, bar) => n + bar.count, 0)} callbacks, longest of each ${model.callbacks.length} bins drawn`
      : `${model.callbacks.length} callbacks`;
    this.summary.textContent = `${formatAxisTime(window.min)} to ${formatAxisTime(window.max)}: ${calls}; ${model.points} points drawn.`;
    this.summary.dataset.points = String(model.points);
  }

  renderSlowest(bars: CallbackBar[]): void {
    this.slowest.replaceChildren(
      ...bars.map((bar) => {
        const item = element('li');
        const name = bar.handler?.name ?? `site ${bar.site}`;
        const text = `${name} · ${KIND_NAMES[bar.kind] ?? KIND_NAMES[0]} · ${formatMs(bar.durationNs / 1e6)} at ${formatAxisTime(bar.x[0])}`;
        const open = button('open-callback', text, bar.handler ? `Open ${bar.handler.file}:${bar.handler.line}` : 'Open', () => this.actions.open(bar));
        item.append(open);
        return item;
      }),
    );
  }
}
