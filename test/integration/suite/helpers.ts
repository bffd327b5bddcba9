import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { HotspotInfo, SessionInfo } from '../../../protocol/lsp';
import type { ReactorScopeApi } from '../../../extension/src/extension';

export const EXTENSION_ID = 'reactorscope.reactorscope';

/** The parts of package.json the tests read. */
export interface Manifest {
  version: string;
  contributes: {
    commands: { command: string; title: string }[];
    views?: Record<string, { id: string }[]>;
    walkthroughs?: { id: string; title: string; steps: { id: string; title: string }[] }[];
  };
}

export function extension(): vscode.Extension<ReactorScopeApi> {
  const ext = vscode.extensions.getExtension<ReactorScopeApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded in this extension host`);
  return ext;
}

export function manifest(): Manifest {
  return extension().packageJSON as Manifest;
}

/**
 * Resolves with the extension's API once it has activated on its own activation events. `isActive` turns
 * true even when `activate()` threw, so this also requires the activation to have returned the API.
 */
export async function activated(): Promise<ReactorScopeApi> {
  await waitFor('the extension to activate', () => (extension().isActive ? true : undefined));
  const api = await extension().activate(); // already active: returns the result of that activation
  if (typeof api?.serverStatus !== 'function') throw new Error('activate() did not return the Reactor Scope API');
  return api;
}

/** Polls `probe` until it returns a value or `timeoutMs` passes; the last error explains a timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

export interface WebviewSnapshot {
  view: string;
  testids: Record<string, { text: string; data: Record<string, string> }>;
}

/** What the browser really rendered in each webview, read through the launcher's browser probe. */
export async function readWebviews(): Promise<WebviewSnapshot[]> {
  const probe = process.env.REACTORSCOPE_BROWSER_PROBE;
  if (!probe) throw new Error('REACTORSCOPE_BROWSER_PROBE is not set: run the suite through scripts/host/code');
  const response = await fetch(`${probe}/webviews`);
  if (!response.ok) throw new Error(`browser probe answered ${response.status}`);
  return (await response.json()) as WebviewSnapshot[];
}

/** Saves what the workbench shows now as NAME.png, when the run sets REACTORSCOPE_TEST_SCREENSHOTS. */
export async function screenshot(name: string): Promise<void> {
  const probe = process.env.REACTORSCOPE_BROWSER_PROBE;
  if (!probe) return;
  const response = await fetch(`${probe}/screenshot?name=${encodeURIComponent(name)}`);
  if (!response.ok) throw new Error(`browser probe answered ${response.status} to a screenshot`);
}

async function probe<T>(request: string): Promise<T> {
  const url = process.env.REACTORSCOPE_BROWSER_PROBE;
  if (!url) throw new Error('REACTORSCOPE_BROWSER_PROBE is not set: run the suite through scripts/host/code');
  const response = await fetch(`${url}${request}`);
  if (!response.ok) throw new Error(`browser probe answered ${response.status} to ${request}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Clicks with the real mouse at (x, y) CSS pixels inside a webview element (its canvas, if it holds one). */
export async function clickInWebview(testid: string, x: number, y: number): Promise<void> {
  await probe(`/click?testid=${encodeURIComponent(testid)}&x=${x}&y=${y}`);
}

/** Focuses a webview element (its canvas, if it holds one) and presses a key on the real keyboard. */
export async function pressInWebview(testid: string, key: string): Promise<void> {
  await probe(`/press?testid=${encodeURIComponent(testid)}&key=${encodeURIComponent(key)}`);
}

/** Clicks the `index`-th row (0-based) of the side bar's tree with the real mouse. */
export async function clickSidebarRow(index: number): Promise<void> {
  await probe(`/click-sidebar-row?index=${index}`);
}

/** The rows of the tree the side bar shows now, read in the browser. */
export async function sidebarTree(): Promise<{ text: string; level: number }[]> {
  const probe = process.env.REACTORSCOPE_BROWSER_PROBE;
  if (!probe) throw new Error('REACTORSCOPE_BROWSER_PROBE is not set: run the suite through scripts/host/code');
  const response = await fetch(`${probe}/sidebar-tree`);
  if (!response.ok) throw new Error(`browser probe answered ${response.status}`);
  return (await response.json()) as { text: string; level: number }[];
}

/**
 * The millisecond figures of `text` matched by `pattern` (its groups), each checked to be at least `atLeastMs`:
 * a callback that slept that long cannot have taken less, while a loaded machine may make it take much more.
 */
export function msAtLeast(text: string, pattern: RegExp, atLeastMs: number): number[] {
  const match = pattern.exec(text);
  assert.ok(match, `${JSON.stringify(text)} does not match ${String(pattern)}`);
  const figures = match.slice(1).map(Number);
  for (const ms of figures) assert.ok(ms >= atLeastMs, `${ms} ms in ${JSON.stringify(text)}: less than the ${atLeastMs} ms slept`);
  return figures;
}

/** The Twisted version an interpreter imports, asked of it (what a session on it must report). */
export function twistedVersionOf(python: string): string {
  return execFileSync(python, ['-c', 'import twisted; print(twisted.__version__)'], { encoding: 'utf8' }).trim();
}

/** The text the editor area shows now (the active group), read in the browser. */
export async function editorText(): Promise<string> {
  return (await probe<{ text: string }>('/editor-text')).text;
}

/** Waits until the newest session has ended (and has `label`, when given), and returns it. */
export function newestEndedSession(api: ReactorScopeApi, label?: string): Promise<SessionInfo> {
  return waitFor(`the newest session${label ? ` (${label})` : ''} to end`, async () => {
    const newest = (await api.sessions()).at(-1);
    return newest?.state === 'ended' && (label === undefined || newest.label === label) ? newest : undefined;
  });
}

/** 1-based line of the only line of `file` that contains `text`. */
export function lineOf(file: string, text: string): number {
  const found = readFileSync(file, 'utf8').split('\n').flatMap((line, i) => (line.includes(text) ? [i + 1] : []));
  assert.equal(found.length, 1, `${text} is on one line of ${file}`);
  return found[0] ?? 0;
}

/**
 * The line Python gives a function (`co_firstlineno`), found by its qualified name: `Class.method` is the first
 * `def method` after `class Class`; a decorated function starts at its first decorator.
 */
export function definitionLine(file: string, qualname: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const parts = qualname.split('.');
  const name = parts.pop() ?? '';
  let from = 0;
  for (const cls of parts) from = lines.findIndex((line, i) => i >= from && new RegExp(`^\\s*class ${cls}\\b`).test(line));
  let at = lines.findIndex((line, i) => i >= from && new RegExp(`^\\s*(async )?def ${name}\\(`).test(line));
  assert.ok(from >= 0 && at >= 0, `${qualname} is defined in ${file}`);
  while (at > 0 && /^\s*@/.test(lines[at - 1] ?? '')) at--;
  return at + 1;
}

/** The timeline panel as the browser shows it now, if it is open. */
export async function timelineView(): Promise<WebviewSnapshot | undefined> {
  return (await readWebviews()).find((v) => v.view === 'timeline');
}

/** Waits until the timeline panel's view satisfies `ready`, and returns it. */
export function timelineWhere(what: string, ready: (view: WebviewSnapshot) => boolean, timeoutMs?: number): Promise<WebviewSnapshot> {
  return waitFor(
    `the timeline to show ${what}`,
    async () => {
      const view = await timelineView();
      return view && ready(view) ? view : undefined;
    },
    timeoutMs,
  );
}

/** What a recording must give back: the handlers with their files, lines, call counts and longest calls. */
export function hotspotSummary(hotspots: HotspotInfo[]): string[] {
  return hotspots.map((h) => `${h.name} ${h.file}:${h.line} ${h.count} calls, max ${h.maxMs.toFixed(3)} ms`).sort();
}
