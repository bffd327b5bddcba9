import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExportResult } from '../../../extension/src/exportRecording';
import { activated, extension, waitFor } from './helpers';

function runPython(args: string[]): Promise<number | null> {
  const root = extension().extensionPath;
  const child = spawn(path.join(root, '.venv/bin/python'), args, {
    env: { ...process.env, PYTHONPATH: path.join(root, 'runtime') },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('sessions: recordings, attach, clear', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'rs-sessions-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('opens a recording and shows its hotspots', async () => {
    const api = await activated();
    const root = extension().extensionPath;
    const app = path.join(root, 'runtime/tests/apps/blocking_app.py');
    const recording = path.join(work, 'blocking.bin');
    assert.equal(await runPython(['-m', 'reactorscope', 'run', '--record', recording, app]), 0);
    const id = await vscode.commands.executeCommand<number>('reactorscope.openRecording', vscode.Uri.file(recording));
    const session = (await api.sessions()).find((s) => s.id === id);
    assert.equal(session?.state, 'ended');
    assert.equal(session?.exitCode, 0);
    assert.equal(session?.problem, undefined);
    const diagnostics = await waitFor('diagnostics from the recording', () => {
      const found = vscode.languages.getDiagnostics(vscode.Uri.file(app)).filter((d) => d.source === 'Reactor Scope');
      return found.some((d) => d.message.startsWith('sleepy_handler')) ? found : undefined;
    });
    assert.ok(diagnostics.some((d) => d.message.startsWith('busy_handler')));
  });

  it('says so when the recording was made where the sources are not, and still shows the data', async () => {
    const api = await activated();
    const root = extension().extensionPath;
    const elsewhere = path.join(work, 'elsewhere_app.py');
    copyFileSync(path.join(root, 'runtime/tests/apps/blocking_app.py'), elsewhere);
    const recording = path.join(work, 'elsewhere.bin');
    assert.equal(await runPython(['-m', 'reactorscope', 'run', '--record', recording, elsewhere]), 0);
    rmSync(elsewhere);
    const id = await vscode.commands.executeCommand<number>('reactorscope.openRecording', vscode.Uri.file(recording));
    const session = (await api.sessions()).find((s) => s.id === id);
    assert.match(session?.problem ?? '', /source file\(s\) are not on this machine, e\.g\. .*elsewhere_app\.py/);
    assert.ok((session?.eventsStored ?? 0) > 0, 'the data is there all the same');
  });

  it('exports a recording in every format through Export Recording..., as the runtime writes them', async () => {
    await activated();
    const root = extension().extensionPath;
    const recording = vscode.Uri.file(path.join(root, 'test/fixtures/hotspots/recording.rsrec'));
    const written = new Map<string, ExportResult>();
    for (const format of ['perfetto', 'chrome', 'speedscope'] as const) {
      const output = vscode.Uri.file(path.join(work, `golden.${format}`));
      const result = await vscode.commands.executeCommand<ExportResult | undefined>('reactorscope.exportRecording', recording, format, output);
      assert.ok(result, format);
      assert.equal(result.output, output.fsPath);
      assert.ok(existsSync(output.fsPath), output.fsPath);
      written.set(format, result);
    }
    const document = JSON.parse(readFileSync(path.join(work, 'golden.speedscope'), 'utf8')) as { profiles: { events?: unknown[] }[] };
    const slices = written.get('speedscope')?.slices ?? 0;
    assert.ok(slices > 0);
    assert.equal(document.profiles[0]?.events?.length, 2 * slices, 'each callback opened and closed');
    assert.deepEqual([...written.values()].map((r) => [r.slices, r.samples]), [...written.values()].map(() => [slices, written.get('speedscope')?.samples]));
  });

  it('attaches to an app started with --listen', async () => {
    const api = await activated();
    const root = extension().extensionPath;
    const app = spawn(path.join(root, '.venv/bin/python'), ['-m', 'reactorscope', 'run', '--listen', path.join(root, 'runtime/tests/apps/ticking_app.py'), '3'], {
      env: { ...process.env, PYTHONPATH: path.join(root, 'runtime') },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => app.on('exit', resolve));
    const pid = app.pid ?? 0;
    const { discoveryDir } = await import('../../../extension/src/attach');
    await waitFor('the app to announce itself', () => (existsSync(path.join(discoveryDir(), `${pid}.json`)) ? true : undefined));
    const id = await vscode.commands.executeCommand<number>('reactorscope.attach', pid);
    assert.ok(id, 'attached');
    const live = await waitFor('telemetry from the attached app', async () => {
      const session = (await api.sessions()).find((s) => s.id === id);
      return session?.state === 'live' && session.eventsStored > 0 ? session : undefined;
    });
    assert.equal(live.pid, pid);
    await exited;
    const ended = await waitFor('the attached app to end', async () => {
      const session = (await api.sessions()).find((s) => s.id === id);
      return session?.state === 'ended' ? session : undefined;
    });
    assert.equal(ended.exitCode, 0);
  });

  it('clears ended sessions', async () => {
    const api = await activated();
    assert.ok((await api.sessions()).some((s) => s.state === 'ended'));
    await vscode.commands.executeCommand('reactorscope.clear');
    assert.deepEqual((await api.sessions()).filter((s) => s.state === 'ended'), []);
  });
});
