/**
 * Every app in examples/, the way a user meets it: launched from the editor on both Twisted versions, by the Run
 * command and by F5 with the examples' launch.json; stalls found live, shown in the source and the timeline,
 * stopped, and read back from its recording.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserCode } from '../../../protocol/userCode';
import type { ReactorScopeApi } from '../../../extension/src/extension';
import {
  activated,
  clickInWebview,
  definitionLine,
  extension,
  hotspotSummary,
  lineOf,
  pressInWebview,
  screenshot,
  timelineWhere,
  twistedVersionOf,
  waitFor,
} from './helpers';

interface ExampleCase {
  /** File in examples/, and the launch.json configuration that runs it. */
  file: string;
  config: string;
  /** The user's function that blocks, as Python names it, and the text of the line where it blocks. */
  handler: string;
  blocking: string;
  reactor: string;
  /**
   * How it ends on Stop (SIGINT): Twisted stops the reactor and the app returns with 0, except twistd, which
   * then kills itself with the signal, as Twisted's own twistd does (130 to a shell).
   */
  stopped?: number;
  /** How the Run command runs it (F5 uses launch.json). */
  spec: (examples: string) => { program?: string; module?: string; args?: string[] };
}

const script = (file: string) => (examples: string) => ({ program: path.join(examples, file) });

const CASES: ExampleCase[] = [
  { file: 'web_blocking.py', config: 'Reactor Scope: web_blocking.py', handler: 'Sleep.render_GET', blocking: 'time.sleep(0.2)', reactor: 'EPollReactor', spec: script('web_blocking.py') },
  { file: 'tcp_slow_protocol.py', config: 'Reactor Scope: tcp_slow_protocol.py', handler: 'QueryServer.dataReceived', blocking: 'time.sleep(0.15)', reactor: 'EPollReactor', spec: script('tcp_slow_protocol.py') },
  { file: 'inline_callbacks.py', config: 'Reactor Scope: inline_callbacks.py', handler: 'handle_order', blocking: 'time.sleep(0.12)', reactor: 'EPollReactor', spec: script('inline_callbacks.py') },
  { file: 'async_flow.py', config: 'Reactor Scope: async_flow.py', handler: 'sign_upload', blocking: 'hashlib.pbkdf2_hmac(', reactor: 'EPollReactor', spec: script('async_flow.py') },
  { file: 'drifting_loop.py', config: 'Reactor Scope: drifting_loop.py', handler: 'Poller.poll', blocking: 'time.sleep(0.25)', reactor: 'EPollReactor', spec: script('drifting_loop.py') },
  { file: 'threadpool_flood.py', config: 'Reactor Scope: threadpool_flood.py', handler: 'store_result', blocking: 'time.sleep(0.1)', reactor: 'EPollReactor', spec: script('threadpool_flood.py') },
  { file: 'asyncio_app.py', config: 'Reactor Scope: asyncio_app.py', handler: 'QuoteServer.dataReceived', blocking: 'time.sleep(0.12)', reactor: 'AsyncioSelectorReactor', spec: script('asyncio_app.py') },
  {
    file: 'twistd_app.tac',
    config: 'Reactor Scope: twistd_app.tac (twistd -n)',
    handler: 'Report.render_GET',
    blocking: 'time.sleep(0.15)',
    reactor: 'EPollReactor',
    stopped: 130,
    spec: (examples) => ({ module: 'reactorscope.twistd', args: ['-n', '--pidfile=', '-y', path.join(examples, 'twistd_app.tac')] }),
  },
];

const TWISTED = [
  { name: 'the newest Twisted', python: (root: string) => path.join(root, '.venv/bin/python'), screenshots: true },
  { name: "Debian's Twisted 22.4", python: () => '/usr/bin/python3', screenshots: false },
] as const;
/** The Run command (with the interpreter in the launch), and F5 with examples/.vscode/launch.json. */
const HOW = ['Run command', 'F5'] as const;
const INTERPRETERS = TWISTED.flatMap((twisted) => HOW.map((how) => ({ ...twisted, name: `${twisted.name}, ${how}`, how })));

function diagnosticAt(file: string, line: number, severity: vscode.DiagnosticSeverity): vscode.Diagnostic | undefined {
  return vscode.languages.getDiagnostics(vscode.Uri.file(file)).find((d) => d.severity === severity && d.range.start.line === line - 1);
}

function editorAt(file: string, line: number): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  return editor?.document.uri.fsPath === file && editor.selection.active.line === line - 1 ? editor : undefined;
}

describe('the examples, end to end', () => {
  let api: ReactorScopeApi;
  let root: string;
  let examples: string;

  before(async () => {
    api = await activated();
    root = extension().extensionPath;
    examples = path.join(root, 'examples');
  });

  afterEach(async () => {
    // A failed case must not leave its app running into the next one.
    const run = api.lastRun();
    await vscode.commands.executeCommand('reactorscope.stop');
    await run?.exited;
  });

  after(async () => {
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  for (const interpreter of INTERPRETERS) {
    for (const example of CASES) {
      it(`${example.file} on ${interpreter.name}`, async function () {
        this.timeout(120_000);
        const file = path.join(examples, example.file);
        const python = interpreter.python(root);
        await vscode.commands.executeCommand('reactorscope.clear');
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');

        // Launch from the editor; the example runs until it is stopped.
        let debugSession: vscode.DebugSession | undefined;
        if (interpreter.how === 'Run command') {
          await vscode.commands.executeCommand('reactorscope.run', { ...example.spec(examples), python });
        } else {
          await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', python, vscode.ConfigurationTarget.Global);
          const started = new Promise<vscode.DebugSession>((resolve) => {
            const subscription = vscode.debug.onDidStartDebugSession((session) => {
              subscription.dispose();
              resolve(session);
            });
          });
          assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], example.config), 'F5 started');
          debugSession = await started;
        }
        const run = await waitFor('the app to start', () => api.lastRun());
        const live = await waitFor('the session to go live', async () => (await api.sessions()).find((s) => s.state === 'live' && s.pid === run.process.pid));
        assert.equal(live.reactor, example.reactor);
        assert.equal(live.twisted, twistedVersionOf(interpreter.python(extension().extensionPath)), 'the session ran on that interpreter');

        // Telemetry arrives while it runs: the warning on the user's handler, the note on the blocking line.
        const handlerLine = definitionLine(file, example.handler);
        const blockingLine = lineOf(file, example.blocking);
        const warning = await waitFor(`a warning on ${example.handler}`, () => diagnosticAt(file, handlerLine, vscode.DiagnosticSeverity.Warning), 30_000);
        assert.match(warning.message, new RegExp(`^${example.handler.replace('.', '\\.')} blocked the reactor: max \\d`));
        const note = await waitFor('a note on the blocking line', () => diagnosticAt(file, blockingLine, vscode.DiagnosticSeverity.Information));
        assert.match(note.message, /^The reactor was held here for about [\d.]+ ms \(\d+ stack samples\)/);
        await vscode.window.showTextDocument(vscode.Uri.file(file)); // lenses are asked for an open document
        const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', vscode.Uri.file(file));
        const over = lenses.filter((l) => l.range.start.line === handlerLine - 1).map((l) => l.command?.title ?? '');
        assert.equal(over.length, 2, `two lenses over ${example.handler}: ${over.join(' | ')}`);
        assert.match(over[0] ?? '', /^\d+ calls? · p50 [\d.]+ ms · p99 [\d.]+ ms · max [\d.]+ ms$/);
        assert.equal(over[1], 'Show in Timeline');

        // Go to Slowest Handler opens the slowest of the user's handlers (web_blocking has three that block, and
        // which is slowest may change while it runs: the command and the check are repeated together).
        await waitFor('the editor at the slowest handler', async () => {
          await vscode.commands.executeCommand('reactorscope.goToSlowestHandler');
          const rule = UserCode.fromDescription((await api.sessions()).find((s) => s.id === live.id)?.userCode);
          const own = (await api.hotspots(live.id)).filter((h) => rule.isUserFile(h.file));
          const slowest = own.reduce((best, h) => (h.maxMs > best.maxMs ? h : best));
          assert.ok(slowest.file === file, `the slowest handler is in ${example.file}`);
          const at = editorAt(slowest.file, slowest.line);
          if (!at) {
            const active = vscode.window.activeTextEditor;
            throw new Error(`the editor is at ${active?.document.uri.fsPath}:${(active?.selection.active.line ?? -2) + 1}, not ${slowest.name} at ${slowest.line}`);
          }
          return at;
        });

        // The timeline shows the stall; a click on the handler's longest call opens where it blocked.
        const showArgument = { sessionId: live.id, file, line: handlerLine, name: example.handler };
        await vscode.commands.executeCommand('reactorscope.showInTimeline', showArgument);
        await timelineWhere('its toolbar', (v) => Boolean(v.testids.whole));
        // The whole session so far, held still (Pause) so the bars stay where they were drawn.
        await pressInWebview('whole', 'Enter');
        await timelineWhere(`a stall of ${example.handler}`, (v) => v.testids.follow?.data.mode === 'whole' && Number(v.testids['chart-callbacks']?.data.highlightedMs) > 50);
        await pressInWebview('follow', 'Enter');
        const view = await timelineWhere('the window held', (v) => v.testids.follow?.data.mode === 'range' && Number(v.testids['chart-callbacks']?.data.highlightedMs) > 50);
        const bars = view.testids['chart-callbacks']?.data ?? {};
        assert.equal(bars.highlightedHandler, `${example.handler} ${file}:${handlerLine}`);
        await clickInWebview('chart-callbacks', Number(bars.highlightedX), Number(bars.highlightedY));
        await waitFor(`the click to open ${example.file}:${blockingLine}`, () => editorAt(file, blockingLine));
        if (interpreter.how === 'Run command' && interpreter.screenshots) {
          await vscode.commands.executeCommand('workbench.action.closePanel');
          await new Promise((resolve) => setTimeout(resolve, 500)); // let the tints and lenses paint
          await screenshot(`example-${path.parse(example.file).name}`);
        }

        // Stop: SIGINT, which Twisted turns into reactor.stop().
        if (debugSession) await vscode.debug.stopDebugging(debugSession);
        else await vscode.commands.executeCommand('reactorscope.stop');
        const stopped = example.stopped ?? 0;
        assert.equal(await run.exited, stopped);
        const ended = await waitFor('the session to end with the exit status', async () => {
          const session = (await api.sessions()).find((s) => s.id === live.id);
          return session?.state === 'ended' && session.exitCode !== undefined ? session : undefined;
        });
        assert.equal(ended.exitCode, stopped);
        assert.equal(ended.problem, undefined);

        // The recording gives back the same handlers.
        assert.ok(run.recording, 'the run was recorded');
        const recorded = await vscode.commands.executeCommand<number>('reactorscope.openRecording', vscode.Uri.file(run.recording));
        assert.deepEqual(hotspotSummary(await api.hotspots(recorded)), hotspotSummary(await api.hotspots(live.id)));
      });
    }
  }
});
