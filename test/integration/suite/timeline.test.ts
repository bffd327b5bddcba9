import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activated, readWebviews, waitFor } from './helpers';

describe('timeline panel', () => {
  it('opens and renders the server state in the browser', async () => {
    const { pid } = await (await activated()).serverInfo();
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    await waitFor('a "Reactor Timeline" tab', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Reactor Timeline'));

    // Read from the browser side: the webview script ran under its CSP, said `ready`, and drew the status.
    const timeline = await waitFor('the timeline webview to render the server status', async () => {
      const views = await readWebviews();
      const view = views.find((v) => v.view === 'timeline');
      return view?.testids['server-status'] ? view : undefined;
    });
    assert.equal(timeline.testids.title?.text, 'Reactor Timeline');
    assert.equal(timeline.testids['server-status']?.text, `Telemetry server running (pid ${pid})`);
    assert.equal(timeline.testids['server-status']?.data.state, 'running');
  });
});
