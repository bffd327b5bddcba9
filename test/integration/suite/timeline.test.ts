import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LaunchSpec } from '../../../extension/src/run';
import {
  activated,
  clickInWebview,
  clickSidebarRow,
  extension,
  lineOf,
  msAtLeast,
  newestEndedSession,
  pressInWebview,
  screenshot,
  sidebarTree,
  timelineView,
  timelineWhere,
  waitFor,
  type WebviewSnapshot,
} from './helpers';

const CHARTS = ['lag', 'utilization', 'callbacks', 'queues', 'cpu', 'memory'];

function data(view: WebviewSnapshot, testid: string): Record<string, string> {
  return view.testids[testid]?.data ?? {};
}

describe('timeline panel', () => {
  let root: string;
  let stallOnce: string;

  before(async () => {
    await activated();
    root = extension().extensionPath;
    stallOnce = path.join(root, 'examples/stall_once.py');
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', path.join(root, '.venv/bin/python'), vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens and renders the server state in the browser', async () => {
    const { pid } = await (await activated()).serverInfo();
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    await waitFor('a "Reactor Timeline" tab', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Reactor Timeline'));

    // Read from the browser side: the webview script ran under its CSP, said `ready`, and drew the status.
    const timeline = await timelineWhere('the server status', (view) => Boolean(view.testids['server-status']?.text));
    assert.equal(timeline.testids.title?.text, 'Reactor Timeline');
    assert.equal(timeline.testids['server-status']?.text, `Telemetry server running (pid ${pid})`);
    assert.equal(timeline.testids['server-status']?.data.state, 'running');
  });

  it('draws a finished session within the point budget, and a click on the stall opens the line that blocked', async function () {
    this.timeout(90_000);
    const api = await activated();
    await vscode.window.showTextDocument(vscode.Uri.file(stallOnce));
    await vscode.commands.executeCommand('reactorscope.runCurrentFile');
    assert.equal(await api.lastRun()?.exited, 0);
    const session = await newestEndedSession(api, 'stall_once.py');

    await vscode.commands.executeCommand('reactorscope.showTimeline');
    const view = await timelineWhere('slow_handler as the longest callback', (v) =>
      (data(v, 'chart-callbacks').slowestHandler ?? '').startsWith('slow_handler ') && data(v, 'sessions').shown === String(session.id));

    const callbacks = data(view, 'chart-callbacks');
    assert.equal(callbacks.slowestHandler, `slow_handler ${stallOnce}:${lineOf(stallOnce, 'def slow_handler')}`);
    const slowestMs = Number(callbacks.slowestMs);
    assert.ok(slowestMs >= 200 && slowestMs < 2000, `the stall drawn is ${slowestMs} ms`);
    assert.equal(callbacks.binned, 'false', 'a short session draws its callbacks one by one');
    assert.deepEqual(callbacks.lanes?.split('|'), ['timers', 'I/O reads', 'I/O writes', 'thread calls', 'Deferreds', 'coroutines']);
    // About 25 LoopingCall ticks, the stall and the stop: every callback of the session is a bar.
    assert.ok(Number(callbacks.points) >= 20 && Number(callbacks.points) === session.eventsStored, `${callbacks.points} bars for ${session.eventsStored} events`);
    for (const chart of CHARTS) {
      const d = data(view, `chart-${chart}`);
      assert.equal(d.xMin, callbacks.xMin, `${chart} shares the time axis`);
      assert.equal(d.xMax, callbacks.xMax, `${chart} shares the time axis`);
    }
    assert.equal(data(view, 'chart-lag').labels, 'loop lag (ms)');
    assert.ok(Number(data(view, 'chart-lag').points) > 0, 'loop lag is drawn');
    assert.equal(data(view, 'chart-utilization').labels, 'busy (%)');
    assert.equal(data(view, 'chart-memory').labels, 'memory (MB)');
    assert.match(data(view, 'chart-queues').labels ?? '', /pending delayed calls\|readers\|writers/);
    const total = Number(data(view, 'summary').points);
    assert.ok(total > Number(callbacks.points) && total <= 5000, `${total} points drawn in all`);
    // The longest callbacks in view come first.
    msAtLeast(view.testids.slowest?.text ?? '', /^slow_handler · timers · (\d+) ms at /, 200);
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await screenshot('timeline-stall-once');

    // A real mouse click on the stall's bar opens the line it was sampled blocking in.
    await clickInWebview('chart-callbacks', Number(callbacks.slowestX), Number(callbacks.slowestY));
    const sleepLine = lineOf(stallOnce, 'time.sleep(0.2)');
    const editor = await waitFor('the editor to open the blocking line', () => {
      const active = vscode.window.activeTextEditor;
      return active?.document.uri.fsPath === stallOnce && active.selection.active.line === sleepLine - 1 ? active : undefined;
    });
    assert.equal(editor.selection.active.line + 1, sleepLine);
  });

  it('zooms with the keyboard, keeps every chart on one time axis, restores the window when shown again; Home shows the whole session', async () => {
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    const before = await timelineWhere('a drawn session', (v) => Boolean(data(v, 'chart-callbacks').slowestHandler));
    const whole = Number(data(before, 'chart-callbacks').xMax) - Number(data(before, 'chart-callbacks').xMin);

    await pressInWebview('chart-callbacks', '+');
    const zoomed = await timelineWhere('the zoomed window', (v) => {
      const d = data(v, 'chart-callbacks');
      return Number(d.xMax) - Number(d.xMin) < whole * 0.6 && data(v, 'follow').mode === 'range';
    });
    const span = Number(data(zoomed, 'chart-callbacks').xMax) - Number(data(zoomed, 'chart-callbacks').xMin);
    assert.ok(Math.abs(span - whole / 2) < whole * 0.01, `zoom in halves the window: ${whole} -> ${span} ms`);
    for (const chart of CHARTS) assert.equal(data(zoomed, `chart-${chart}`).xMin, data(zoomed, 'chart-callbacks').xMin, `${chart} zoomed too`);

    // Hidden behind an editor, the webview is destroyed (no retainContextWhenHidden); shown again, it comes back
    // from its saved view state to the same window.
    const tab = vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Reactor Timeline');
    await vscode.window.showTextDocument(vscode.Uri.file(stallOnce), { viewColumn: tab?.group.viewColumn });
    await waitFor('the hidden panel to go', async () => ((await timelineView()) ? undefined : true));
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    const restored = await timelineWhere('the restored window', (v) => Boolean(data(v, 'chart-callbacks').slowestHandler));
    assert.equal(data(restored, 'follow').mode, 'range');
    assert.equal(data(restored, 'chart-callbacks').xMin, data(zoomed, 'chart-callbacks').xMin);
    assert.equal(data(restored, 'chart-callbacks').xMax, data(zoomed, 'chart-callbacks').xMax);

    await pressInWebview('chart-callbacks', 'Home');
    await timelineWhere('the whole session again', (v) => {
      const d = data(v, 'chart-callbacks');
      return data(v, 'follow').mode === 'whole' && Math.abs(Number(d.xMax) - Number(d.xMin) - whole) < whole * 0.01;
    });
  });

  it('highlights a handler from its "Show in Timeline" CodeLens', async function () {
    this.timeout(30_000);
    const uri = vscode.Uri.file(stallOnce);
    const handlerLine = lineOf(stallOnce, 'def slow_handler');
    const lens = await waitFor('a "Show in Timeline" lens over slow_handler', async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      return lenses.find((l) => l.range.start.line === handlerLine - 1 && l.command?.title === 'Show in Timeline');
    });
    const [argument] = (lens.command?.arguments ?? []) as unknown[];
    await vscode.commands.executeCommand(lens.command?.command ?? '', argument);
    const view = await timelineWhere('the highlight', (v) => data(v, 'highlight').handler === `${stallOnce}:${handlerLine}`);
    assert.match(view.testids.highlight?.text ?? '', /^Highlighted: slow_handler /);
  });

  it('highlights the handler selected in the Hotspots tree', async function () {
    this.timeout(30_000);
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    const clear = (await timelineView())?.testids['clear-highlight'];
    if (clear) await clickInWebview('clear-highlight', 5, 5);
    await timelineWhere('no highlight', (v) => !data(v, 'highlight').handler);
    await vscode.commands.executeCommand('workbench.view.extension.reactorscope');
    const rows = await waitFor('the Hotspots tree to list slow_handler', async () => {
      const tree = await sidebarTree();
      return tree.some((row) => row.text.startsWith('slow_handler')) ? tree : undefined;
    });
    await clickSidebarRow(rows.findIndex((row) => row.text.startsWith('slow_handler')));
    await timelineWhere('slow_handler highlighted', (v) => data(v, 'highlight').handler === `${stallOnce}:${lineOf(stallOnce, 'def slow_handler')}`);
  });

  it('follows a live session at most 10 redraws a second, binning a storm of callbacks within the point budget', async function () {
    this.timeout(90_000);
    const api = await activated();
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    const follow = (await timelineView())?.testids.follow;
    // F pauses a moving window (follow, whole session) and follows a held one.
    if (follow?.data.mode === 'whole') await pressInWebview('chart-callbacks', 'f');
    if (follow?.data.mode !== 'follow') await pressInWebview('chart-callbacks', 'f');
    const spec: LaunchSpec = { program: path.join(root, 'runtime/tests/apps/ticking_app.py'), args: ['8', 'storm'] };
    await vscode.commands.executeCommand('reactorscope.run', spec);
    const run = api.lastRun();
    assert.ok(run);

    const first = await timelineWhere('the live storm, binned', (v) => {
      return data(v, 'follow').mode === 'follow' && data(v, 'chart-callbacks').binned === 'true' && Number(data(v, 'chart-callbacks').xMax) > 1000;
    }, 30_000);
    const firstAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const second = await timelineView();
    assert.ok(second);
    const seconds = (Date.now() - firstAt) / 1000;
    const draws = Number(data(second, 'summary').draws) - Number(data(first, 'summary').draws);
    const moved = Number(data(second, 'chart-callbacks').xMax) - Number(data(first, 'chart-callbacks').xMax);
    console.log(`    live follow: ${draws} redraws in ${seconds.toFixed(1)} s; the window moved ${moved.toFixed(0)} ms; ${data(second, 'summary').points} points`);
    assert.ok(moved > 500, `the window follows the data (moved ${moved} ms)`);
    assert.ok(draws > 0 && draws <= seconds * 10 + 1, `${draws} redraws in ${seconds} s`);
    assert.ok(Number(data(second, 'summary').points) <= 5000);
    await screenshot('timeline-live-storm');
    assert.equal(await run.exited, 0);
  });
});
