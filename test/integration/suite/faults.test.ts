/**
 * When things go wrong: the app crashes, the app is killed, two apps run at once. Each case says clearly what
 * happened and keeps what was measured.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ReactorScopeApi } from '../../../extension/src/extension';
import type { TimelineData } from '../../../protocol/lsp';
import { activated, extension, hotspotSummary, lineOf, sidebarTree, timelineView, waitFor } from './helpers';

/** Writes a small app into dist-test/ and returns its path. */
async function app(name: string, lines: string[]): Promise<string> {
  const file = path.join(extension().extensionPath, 'dist-test', name);
  await vscode.workspace.fs.writeFile(vscode.Uri.file(file), Buffer.from(`${lines.join('\n')}\n`));
  return file;
}

/** A twisted app that blocks in `blocker` 150 ms every 300 ms, then does `then` after `seconds` (or runs on). */
function stallingApp(then: string[]): string[] {
  return [
    'import sys, time',
    'from twisted.internet import reactor, task',
    'def blocker():',
    '    time.sleep(0.15)  # the blocking line',
    'task.LoopingCall(blocker).start(0.3)',
    ...then,
  ];
}

async function liveSession(api: ReactorScopeApi, pid: number | undefined): Promise<number> {
  const session = await waitFor('the session to go live with a stall', async () => {
    const live = (await api.sessions()).find((s) => s.pid === pid && s.state === 'live');
    return live && (await api.hotspots(live.id)).some((h) => h.name === 'blocker' && h.count > 0 && h.blockingLines.length) ? live : undefined;
  });
  return session.id;
}

describe('faults', () => {
  let api: ReactorScopeApi;
  let python: string;

  before(async () => {
    api = await activated();
    python = path.join(extension().extensionPath, '.venv/bin/python');
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('reactorscope.stop');
  });

  it('an app that crashes: its exit status is shown, what it measured stays', async function () {
    this.timeout(60_000);
    const file = await app('crash_app.py', stallingApp([
      'reactor.callLater(1.0, reactor.stop)',
      'reactor.run()',
      'raise RuntimeError("the app crashed after its reactor stopped")',
    ]));
    await vscode.commands.executeCommand('reactorscope.run', { program: file, python });
    const run = await waitFor('the app to start', () => api.lastRun());
    const id = await liveSession(api, run.process.pid);
    assert.equal(await run.exited, 1, 'the status Python gives an uncaught exception');
    const ended = await waitFor('the session to end', async () => (await api.sessions()).find((s) => s.id === id && s.state === 'ended'));
    assert.equal(ended.exitCode, 1);
    const blocker = (await api.hotspots(id)).find((h) => h.name === 'blocker');
    assert.equal(blocker?.blockingLines[0]?.line, lineOf(file, 'the blocking line'), 'what was measured stays');
    await vscode.commands.executeCommand('workbench.view.extension.reactorscope');
    const rows = await waitFor('the tree to say how it ended', async () => {
      const tree = await sidebarTree();
      // The row shows while the session is live, and is redrawn once it ended: wait for the redraw.
      return /· exited 1$/.test(tree.find((row) => row.text.startsWith('crash_app.py'))?.text ?? '') ? tree : undefined;
    });
    assert.match(rows.find((row) => row.text.startsWith('crash_app.py'))?.text ?? '', /· exited 1$/);
  });

  it('an app that is killed: the session says so, keeps its data, and its recording reads back', async function () {
    this.timeout(60_000);
    const file = await app('killed_app.py', stallingApp(['reactor.run()']));
    await vscode.commands.executeCommand('reactorscope.run', { program: file, python });
    const run = await waitFor('the app to start', () => api.lastRun());
    const id = await liveSession(api, run.process.pid);
    run.process.kill('SIGKILL');
    assert.equal(await run.exited, 137);
    const ended = await waitFor('the session to end', async () => (await api.sessions()).find((s) => s.id === id && s.state === 'ended' && s.exitCode !== undefined));
    assert.equal(ended.exitCode, 137);
    await vscode.commands.executeCommand('workbench.view.extension.reactorscope');
    await waitFor('the tree to say it was killed', async () => ((await sidebarTree()).some((row) => /^killed_app\.py.*· killed by SIGKILL$/.test(row.text)) ? true : undefined));
    const measured = await api.hotspots(id);
    assert.ok(measured.some((h) => h.name === 'blocker' && h.count > 0), 'what was measured stays');
    assert.ok(run.recording);
    const recorded = await vscode.commands.executeCommand<number>('reactorscope.openRecording', vscode.Uri.file(run.recording));
    const fromRecording = await api.hotspots(recorded);
    // The recording holds every whole flush the process wrote before it died; the live stream the same frames.
    assert.deepEqual(hotspotSummary(fromRecording), hotspotSummary(measured));
    const session = (await api.sessions()).find((s) => s.id === recorded);
    assert.equal(session?.problem, undefined, 'a killed process leaves whole frames only');
  });

  it('a telemetry server too slow for the app: the app drops what it cannot send, counts it, and the session says how many', async function () {
    this.timeout(90_000);
    const { pid: serverPid } = await api.serverInfo();
    const program = path.join(extension().extensionPath, 'runtime/tests/apps/ticking_app.py');
    await vscode.commands.executeCommand('reactorscope.run', { program, args: ['30', 'storm'], python });
    const run = await waitFor('the app to start', () => api.lastRun());
    await waitFor('the storm to go live', async () => (await api.sessions()).find((s) => s.pid === run.process.pid && s.state === 'live' && s.eventsStored > 0));
    // A consumer that stops reading: the server, frozen for 6 s while the app sends a storm of callbacks.
    process.kill(serverPid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 6000));
    process.kill(serverPid, 'SIGCONT');
    const session = await waitFor('the session to count what the app dropped', async () =>
      (await api.sessions()).find((s) => s.pid === run.process.pid && s.appDroppedEvents > 0), 30_000);
    assert.match(session.note ?? '', /^the app dropped at least [\d,]+ callbacks? it measured: the telemetry server did not take them in time$/);
    await vscode.commands.executeCommand('workbench.view.extension.reactorscope');
    await waitFor('the tree to say so', async () => ((await sidebarTree()).some((row) => row.text.startsWith('ticking_app.py') && row.text.includes('the app dropped')) ? true : undefined));
    console.log(`    slow consumer: the app dropped ${session.appDroppedEvents} callbacks while the server was frozen for 6 s`);
    await vscode.commands.executeCommand('reactorscope.stop');
    assert.equal(await run.exited, 0, 'the app itself was not disturbed');
  });

  it('an app with a wrong token: refused, it runs on unchanged and says so once; the other sessions go on', async function () {
    this.timeout(60_000);
    const root = extension().extensionPath;
    const program = path.join(root, 'runtime/tests/apps/ticking_app.py');
    await vscode.commands.executeCommand('reactorscope.run', { program, args: ['30'], python });
    const run = await waitFor('the app to start', () => api.lastRun());
    const live = await waitFor('it to go live', async () => (await api.sessions()).find((s) => s.pid === run.process.pid && s.state === 'live'));
    // Another app started by hand against the same server, with a token that is not its session's.
    const { spawn } = await import('node:child_process');
    const intruder = spawn(python, ['-m', 'reactorscope', 'run', '--connect', run.ticket.address, program, '2'], {
      env: { ...process.env, PYTHONPATH: path.join(root, 'runtime'), REACTORSCOPE_TOKEN: 'not-this-sessions-token' },
    });
    let stdout = '';
    let stderr = '';
    intruder.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    intruder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => intruder.on('exit', (code) => resolve(code)));
    assert.equal(status, 0, stderr);
    assert.match(stdout, /^ticks \d+\n$/, 'its own output, unchanged');
    const refusals = stderr.split('\n').filter((line) => line.includes("did not prove it knows this session's token"));
    assert.equal(refusals.length, 1, stderr);
    assert.match(refusals[0] ?? '', /^reactorscope: the telemetry server at tcp:127\.0\.0\.1:\d+ did not prove it knows this session's token \(its proof does not match this session's token\), so it was sent nothing but a nonce/);
    assert.ok(!stderr.includes(run.ticket.token), 'no secret in the message');
    const sessions = await api.sessions();
    assert.ok(!sessions.some((s) => s.pid === intruder.pid), 'no session for a wrong token');
    assert.equal(sessions.find((s) => s.id === live.id)?.state, 'live', 'the right one goes on');
  });

  it('two apps at once: two live sessions, each its own lane group on one timeline', async function () {
    this.timeout(60_000);
    const first = await app('first_app.py', stallingApp(['reactor.run()']));
    const second = await app('second_app.py', stallingApp(['reactor.run()']));
    await vscode.commands.executeCommand('reactorscope.run', { program: first, python });
    const a = await waitFor('the first app', () => api.lastRun());
    await vscode.commands.executeCommand('reactorscope.run', { program: second, python });
    const b = await waitFor('the second app', () => (api.lastRun() !== a ? api.lastRun() : undefined));
    await Promise.all([liveSession(api, a.process.pid), liveSession(api, b.process.pid)]);
    await vscode.commands.executeCommand('reactorscope.showTimeline');
    const lanes = await waitFor('both lane groups', async () => {
      const view = await timelineView();
      const labels = view?.testids['chart-callbacks']?.data.lanes?.split('|') ?? [];
      return labels.includes(`pid ${a.process.pid} · timers`) && labels.includes(`pid ${b.process.pid} · timers`) ? labels : undefined;
    });
    assert.equal(lanes.length, 12, 'six lanes each');
    // Its own view, whatever the tests before it opened; the tree redraws on its own schedule, so wait for both rows.
    await vscode.commands.executeCommand('workbench.view.extension.reactorscope');
    const liveRow = (tree: { text: string }[], name: string): boolean => tree.some((row) => row.text.startsWith(name) && row.text.endsWith('live'));
    const tree = await waitFor('both apps live in the tree', async () => {
      const rows = await sidebarTree();
      return liveRow(rows, 'first_app.py') && liveRow(rows, 'second_app.py') ? rows : undefined;
    });
    for (const name of ['first_app.py', 'second_app.py']) assert.ok(liveRow(tree, name), `${name} is live in the tree`);
    await vscode.commands.executeCommand('reactorscope.stop');
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
  });
});

/** Callbacks a timeline answer holds: the events themselves, or the sum of its bins' counts. */
function callbacksIn(range: TimelineData | undefined): number {
  if (!range) return 0;
  const callbacks = range.callbacks;
  if (callbacks.type === 'events') return callbacks.start.length;
  return callbacks.lanes.reduce((n, lane) => n + lane.count.reduce((a, b) => a + b, 0), 0);
}

describe('the telemetry server dies mid-run', () => {
  it('the app runs on; a new server takes it back with its history and says what was missed; ended runs come back', async function () {
    this.timeout(90_000);
    const api = await activated();
    const root = extension().extensionPath;
    await vscode.commands.executeCommand('reactorscope.clear');
    // A run that ends before the server dies.
    await vscode.commands.executeCommand('reactorscope.run', { program: path.join(root, 'examples/stall_once.py'), python: path.join(root, '.venv/bin/python') });
    assert.equal(await api.lastRun()?.exited, 0);
    const program = path.join(root, 'runtime/tests/apps/ticking_app.py');
    await vscode.commands.executeCommand('reactorscope.run', { program, args: ['30'], python: path.join(root, '.venv/bin/python') });
    const run = await waitFor('the app to start', () => api.lastRun());
    const before = await waitFor('the app to go live', async () => (await api.sessions()).find((s) => s.pid === run.process.pid && s.state === 'live' && s.eventsStored > 0));
    // What the old server holds up to now: the same window is asked of the new one below.
    const window = await api.timeline({ sessionId: before.id, maxPoints: 50 });
    assert.ok(window && window.endNs > 0, 'the old server has a timeline');
    const historyWindow = { startNs: 0, endNs: window.endNs, maxPoints: 50 };
    const heldBefore = callbacksIn(await api.timeline({ sessionId: before.id, ...historyWindow }));
    assert.ok(heldBefore > 0);
    const { pid: deadServer } = await api.serverInfo();
    process.kill(deadServer, 'SIGKILL');
    const { pid: newServer } = await waitFor('a new telemetry server', async () => {
      const info = await api.serverInfo();
      return info.pid !== deadServer ? info : undefined;
    }, 30_000);
    assert.notEqual(newServer, deadServer);
    const after = await waitFor('the app to reconnect to the new server', async () =>
      (await api.sessions()).find((s) => s.pid === run.process.pid && s.state === 'live' && s.eventsStored > 0), 30_000);
    assert.match(after.note ?? '', /^reconnected after the telemetry server restarted \(the history before it was read back from the run's recording\); at least [\d,]+ callbacks? measured in between were dropped$/);
    // The history is back: the window the old server held, read from the recording (not the callbacks sent since).
    const heldAfter = callbacksIn(await api.timeline({ sessionId: after.id, ...historyWindow }));
    assert.ok(heldAfter >= heldBefore, `the history is back: ${heldAfter} callbacks in the window the old server held ${heldBefore} in`);
    const restored = (await api.sessions()).find((s) => s.label === 'stall_once.py');
    assert.equal(restored?.state, 'ended', 'the ended run is back, read from its recording');
    assert.equal(restored.exitCode, 0);
    assert.ok((await api.hotspots(restored.id)).some((h) => h.name === 'slow_handler' && h.maxMs >= 200));
    console.log(`    server killed: ${after.note}`);
    // The app's reactor was never held by the shim meanwhile: its loop lag stayed that of an idle reactor.
    const range = await api.timeline({ sessionId: after.id, maxPoints: 1000 });
    const lagSince = (range?.lag.max ?? []).filter((_, i) => (range?.lag.t[i] ?? 0) > window.endNs);
    assert.ok(lagSince.length > 0, 'loop lag was measured after the kill');
    const worstLagMs = Math.max(...lagSince) / 1e6;
    console.log(`    worst loop lag after the kill: ${worstLagMs.toFixed(1)} ms over ${lagSince.length} samples`);
    assert.ok(worstLagMs < 1000, `the reactor kept turning (worst lag ${worstLagMs} ms)`);
    await vscode.commands.executeCommand('reactorscope.stop');
    assert.equal(await run.exited, 0);
    const ended = await waitFor('the session to end', async () => (await api.sessions()).find((s) => s.id === after.id && s.state === 'ended'));
    assert.equal(ended.exitCode, 0);
  });
});
