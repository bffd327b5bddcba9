import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activated, extension, lineOf, msAtLeast, newestEndedSession, screenshot, sidebarTree, twistedVersionOf, waitFor } from './helpers';

const interpreters: [string, (root: string) => string][] = [
  ['the newest Twisted (.venv)', (root) => path.join(root, '.venv/bin/python')],
  ["Debian's Twisted 22.4", () => '/usr/bin/python3'],
];

describe('run an app from the editor', () => {
  for (const [name, interpreter] of interpreters) {
    it(`shows the slow handler and its blocking line, on ${name}`, async function () {
      this.timeout(90_000);
      const api = await activated();
      const root = extension().extensionPath;
      await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', interpreter(root), vscode.ConfigurationTarget.Global);
      const file = path.join(root, 'examples/stall_once.py');
      const uri = vscode.Uri.file(file);
      await vscode.window.showTextDocument(uri);

      await vscode.commands.executeCommand('reactorscope.runCurrentFile');
      const run = api.lastRun();
      assert.ok(run, 'the command started the app');
      assert.equal(await run.exited, 0, 'the app ran to its end');
      const session = await newestEndedSession(api, 'stall_once.py');
      assert.equal(session.exitCode, 0);
      assert.equal(session.reactor, 'EPollReactor');
      assert.equal(session.twisted, twistedVersionOf(interpreter(extension().extensionPath)), 'the session ran on that interpreter');
      assert.equal(session.problem, undefined);
      assert.ok(session.eventsStored > 10 && session.droppedEvents === 0);

      const timeline = await api.timeline({ sessionId: session.id, maxPoints: 2000 });
      assert.ok(timeline && timeline.callbacks.type === 'events', 'few callbacks come one by one');
      const slowSite = Object.entries(timeline.sites).find(([, s]) => s.name === 'slow_handler')?.[0];
      const { site, duration } = timeline.callbacks;
      const slowCalls = duration.filter((_, i) => String(site[i]) === slowSite);
      assert.equal(slowCalls.length, 1);
      assert.ok((slowCalls[0] ?? 0) >= 200e6 && (slowCalls[0] ?? 0) < 2e9, `slow_handler took ${slowCalls[0]} ns`);

      const handlerLine = lineOf(file, 'def slow_handler');
      const blockingLine = lineOf(file, 'time.sleep(0.2)');
      const diagnostics = await waitFor('diagnostics on stall_once.py', () => {
        const found = vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Reactor Scope');
        return found.length >= 2 ? found : undefined;
      });
      const warning = diagnostics.find((d) => d.severity === vscode.DiagnosticSeverity.Warning);
      assert.equal(warning?.range.start.line, handlerLine - 1, 'the warning sits on the handler');
      msAtLeast(warning?.message ?? '', /^slow_handler blocked the reactor: max (\d+(?:\.\d)?) ms/, 200);
      const info = diagnostics.find((d) => d.severity === vscode.DiagnosticSeverity.Information);
      assert.equal(info?.range.start.line, blockingLine - 1, 'the information sits on the blocking line');
      assert.ok(!diagnostics.some((d) => d.range.start.line === lineOf(file, 'def fast_handler') - 1), 'fast_handler is not slow');

      const lenses = await waitFor('a CodeLens over slow_handler', async () => {
        const all = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
        const over = all.filter((l) => l.range.start.line === handlerLine - 1 && l.command?.title);
        return over.length ? over : undefined;
      });
      msAtLeast(lenses[0]?.command?.title ?? '', /^1 call · p50 \d+ ms · p99 \d+ ms · max (\d+) ms$/, 200);

      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(handlerLine - 1, 4));
      const markdown = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      // App names are Markdown-escaped (protocol/appText.ts): read the text as it renders.
      const text = markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');
      assert.match(text, /\*\*slow_handler\*\* on the reactor \(slow\)/);
      assert.match(text, new RegExp(`line ${blockingLine} \\(slow_handler\\)`));

      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('workbench.view.extension.reactorscope');
      await vscode.commands.executeCommand('reactorscope.goToSlowestHandler');
      const editor = vscode.window.activeTextEditor;
      assert.equal(editor?.document.uri.fsPath, file);
      assert.equal(editor?.selection.active.line, handlerLine - 1);
      // Again with the timeline open beside it and focused: the open editor is revealed, not a second copy made.
      await vscode.commands.executeCommand('reactorscope.showTimeline');
      await vscode.commands.executeCommand('reactorscope.goToSlowestHandler');
      const copies = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.fsPath === file);
      assert.equal(copies.length, 1, 'one editor of the file');
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, file);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('reactorscope.goToSlowestHandler');
      // The Hotspots tree, read in the browser: the session, then its handlers with the slowest first.
      const rows = await waitFor('the Hotspots tree to show slow_handler', async () => {
        const tree = await sidebarTree();
        return tree[0]?.text.endsWith('exited 0') && tree[1]?.text.startsWith('slow_handler') ? tree : undefined;
      });
      // The row's text is the label then the description, with no space between them in the DOM.
      assert.match(rows[0]?.text ?? '', /^stall_once\.py ?pid \d+ · EPollReactor · exited 0$/);
      assert.equal(rows[0]?.level, 1);
      msAtLeast(rows[1]?.text ?? '', /^slow_handler ?(\d+) ms blocked · max (\d+) ms · 1 calls$/, 200);
      assert.equal(rows[1]?.level, 2);
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the lenses and tints paint
      await screenshot(`run-stall-once-${session.twisted ?? 'unknown'}`);
    });
  }
});

describe('running: what goes wrong is said', () => {
  afterEach(async () => {
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
  });

  it('names a Python that is not there, and the session says so', async () => {
    const api = await activated();
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', '/nonexistent/python3', vscode.ConfigurationTarget.Global);
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(extension().extensionPath, 'examples/stall_once.py')));
    await vscode.commands.executeCommand('reactorscope.runCurrentFile');
    assert.equal(api.lastRun(), undefined, 'nothing started');
    const session = await newestEndedSession(api);
    assert.match(session.problem ?? '', /^Python not found: "\/nonexistent\/python3" \(from the reactorscope.pythonPath setting\)/);
  });

  it('says when the interpreter has no Twisted', async () => {
    const api = await activated();
    const bare = path.join(extension().extensionPath, 'dist-test', 'no-twisted-venv');
    const { execFileSync } = await import('node:child_process');
    execFileSync('/usr/bin/python3', ['-m', 'venv', '--without-pip', bare]);  // Debian's Twisted is not in a venv
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', path.join(bare, 'bin/python'), vscode.ConfigurationTarget.Global);
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(extension().extensionPath, 'examples/stall_once.py')));
    await vscode.commands.executeCommand('reactorscope.runCurrentFile');
    assert.equal(api.lastRun(), undefined, 'nothing started');
    const session = await newestEndedSession(api);
    assert.match(session.problem ?? '', /^Twisted is not installed for ".*no-twisted-venv\/bin\/python" \(Python 3\.\d+\.\d+, from the reactorscope\.pythonPath setting\)/);
  });

  it('reports an app that dies before its reactor starts, with its status', async () => {
    const api = await activated();
    const root = extension().extensionPath;
    await vscode.workspace.getConfiguration('reactorscope').update('pythonPath', path.join(root, '.venv/bin/python'), vscode.ConfigurationTarget.Global);
    const broken = vscode.Uri.file(path.join(root, 'dist-test', 'broken_app.py'));
    await vscode.workspace.fs.writeFile(broken, Buffer.from('import twisted\nraise SystemExit("config missing")\n'));
    await vscode.window.showTextDocument(broken);
    await vscode.commands.executeCommand('reactorscope.runCurrentFile');
    assert.equal(await api.lastRun()?.exited, 1);
    const session = await newestEndedSession(api, 'broken_app.py');
    // The shim still said goodbye on the way out: the session knows the status, and that nothing ran.
    assert.equal(session.exitCode, 1);
    assert.equal(session.eventsStored, 0);
  });
});

describe('Run...', () => {
  it('runs a module with arguments, as a launch would', async function () {
    this.timeout(60_000);
    const api = await activated();
    const root = extension().extensionPath;
    await vscode.commands.executeCommand('reactorscope.run', {
      module: 'exit_app',
      args: ['code', '4'],
      cwd: path.join(root, 'runtime/tests/apps'),
      python: path.join(root, '.venv/bin/python'),
    });
    assert.equal(await api.lastRun()?.exited, 4, 'the app’s own exit status');
    const session = await newestEndedSession(api, '-m exit_app');
    assert.equal(session.exitCode, 4);
  });
});
