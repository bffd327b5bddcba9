import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activated, extension, newestEndedSession } from './helpers';

interface DapMessage {
  type: string;
  event?: string;
  body?: { category?: string; output?: string; exitCode?: number };
}

describe('F5: the reactorscope debug configuration', () => {
  it('runs the app, shows its output in the Debug Console and reports its exit code', async function () {
    this.timeout(60_000);
    const api = await activated();
    const root = extension().extensionPath;
    const seen: DapMessage[] = [];
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('reactorscope', {
      createDebugAdapterTracker: () => ({ onDidSendMessage: (m: DapMessage) => void seen.push(m) }),
    });
    const ended = new Promise<void>((resolve) => {
      const subscription = vscode.debug.onDidTerminateDebugSession((session) => {
        if (session.type === 'reactorscope') {
          subscription.dispose();
          resolve();
        }
      });
    });
    try {
      const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], {
        type: 'reactorscope',
        request: 'launch',
        name: 'stall once',
        program: path.join(root, 'examples/stall_once.py'),
        python: path.join(root, '.venv/bin/python'),
      });
      assert.ok(started, 'the debug session started');
      await ended;
    } finally {
      tracker.dispose();
    }
    const output = seen.filter((m) => m.event === 'output').map((m) => m.body?.output ?? '').join('');
    assert.match(output, /-m reactorscope run --connect tcp:127\.0\.0\.1:\d+ .*stall_once\.py/);
    assert.match(output, /\[stall_once\.py exited with 0\]/);
    assert.deepEqual(seen.find((m) => m.event === 'exited')?.body, { exitCode: 0 });
    const session = await newestEndedSession(api, 'stall_once.py');
    assert.equal(session.exitCode, 0);
  });

  it('starts a configuration of the workspace launch.json by name', async function () {
    this.timeout(60_000);
    const api = await activated();
    const root = extension().extensionPath;
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', path.join(root, '.venv/bin/python'), vscode.ConfigurationTarget.Global);
    const ended = new Promise<void>((resolve) => {
      const subscription = vscode.debug.onDidTerminateDebugSession(() => {
        subscription.dispose();
        resolve();
      });
    });
    try {
      assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], 'Reactor Scope: stall_once.py'));
      await ended;
    } finally {
      await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
    }
    const session = await newestEndedSession(api, 'stall_once.py');
    assert.equal(session.exitCode, 0);
    assert.ok(session.eventsStored > 0);
  });

  it('stops the app from the debug toolbar', async function () {
    this.timeout(60_000);
    const api = await activated();
    const root = extension().extensionPath;
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const subscription = vscode.debug.onDidStartDebugSession((session) => {
        subscription.dispose();
        resolve(session);
      });
    });
    const ended = new Promise<void>((resolve) => {
      const subscription = vscode.debug.onDidTerminateDebugSession(() => {
        subscription.dispose();
        resolve();
      });
    });
    const exit: DapMessage[] = [];
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('reactorscope', {
      createDebugAdapterTracker: () => ({ onDidSendMessage: (m: DapMessage) => void (m.event === 'exited' && exit.push(m)) }),
    });
    try {
      await vscode.debug.startDebugging(undefined, {
        type: 'reactorscope', request: 'launch', name: 'ticking', python: path.join(root, '.venv/bin/python'),
        program: path.join(root, 'runtime/tests/apps/ticking_app.py'), args: ['60'],
      });
      const session = await started;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await vscode.debug.stopDebugging(session);
      await ended;
    } finally {
      tracker.dispose();
    }
    // Stop sends SIGINT, which Twisted turns into reactor.stop(): the app ends its own way (it prints its
    // tick count after reactor.run() returns) with status 0, in the Debug Console and in GOODBYE alike.
    assert.deepEqual(exit.map((m) => m.body), [{ exitCode: 0 }]);
    const session = await newestEndedSession(api, 'ticking_app.py');
    assert.equal(session.exitCode, 0);
    assert.ok(session.eventsStored > 0);
  });
});

describe('live updates', () => {
  it('shows a slow handler while the app still runs (and prints how fast)', async function () {
    this.timeout(60_000);
    await activated();
    const root = extension().extensionPath;
    const app = vscode.Uri.file(path.join(root, 'dist-test', 'live_app.py'));
    await vscode.workspace.fs.writeFile(
      app,
      Buffer.from(
        [
          'import sys, time',
          'from twisted.internet import reactor',
          'def live_slow_handler():',
          '    time.sleep(0.3)',
          '    print("slow handler returned at", time.time(), flush=True)',
          'reactor.callLater(0.3, live_slow_handler)',
          // It runs until the test stops it (30 s at most): a warning that came only with the run's end would
          // come too late to pass, however the exit event is ordered against it.
          'reactor.callLater(30.0, reactor.stop)',
          'reactor.run()',
          '',
        ].join('\n'),
      ),
    );
    let returnedAt: number | undefined;
    let appRunning = true;
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('reactorscope', {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (m: DapMessage) => {
          const match = /slow handler returned at ([\d.]+)/.exec(m.body?.output ?? '');
          if (match) returnedAt = Number(match[1]) * 1000;
          if (m.event === 'exited') appRunning = false;
        },
      }),
    });
    const ended = new Promise<void>((resolve) => {
      const subscription = vscode.debug.onDidTerminateDebugSession(() => {
        subscription.dispose();
        resolve();
      });
    });
    const shown = new Promise<number>((resolve) => {
      const subscription = vscode.languages.onDidChangeDiagnostics((event) => {
        if (!event.uris.some((uri) => uri.fsPath === app.fsPath)) return;
        if (vscode.languages.getDiagnostics(app).some((d) => d.message.startsWith('live_slow_handler'))) {
          subscription.dispose();
          resolve(Date.now());
        }
      });
    });
    try {
      await vscode.debug.startDebugging(undefined, {
        type: 'reactorscope', request: 'launch', name: 'live', program: app.fsPath, python: path.join(root, '.venv/bin/python'),
      });
      const shownAt = await shown;
      assert.ok(appRunning, 'the warning came while the app was still running');
      await vscode.debug.stopDebugging();
      assert.ok(returnedAt !== undefined, 'the app said when the handler returned');
      console.log(`    live update: the warning appeared ${Math.round(shownAt - returnedAt)} ms after the slow handler returned`);
    } finally {
      await ended;
      tracker.dispose();
      await vscode.commands.executeCommand('reactorscope.clear'); // leave no slower handler for later tests
    }
  });
});
