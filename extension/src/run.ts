import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveInterpreter } from './interpreter';
import { readSettings } from './settings';
import type { TelemetryServer } from './telemetryServer';

/** An app started from the editor with the shim, its output in the "Reactor Scope: App" channel. */
export interface RunningApp {
  label: string;
  process: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Runs `file` as `python -m reactorscope run --connect ADDRESS FILE`, the runtime shipped in the extension on
 * PYTHONPATH and the launch's token in REACTORSCOPE_TOKEN (never on the command line).
 */
export class AppRunner implements vscode.Disposable {
  private readonly running = new Set<RunningApp>();
  private readonly output = vscode.window.createOutputChannel('Reactor Scope: App');

  constructor(
    private readonly runtimeDir: string,
    private readonly server: TelemetryServer,
  ) {}

  async runFile(file: vscode.Uri): Promise<RunningApp | undefined> {
    const settings = readSettings(file);
    const interpreter = await resolveInterpreter(file);
    const ticket = await this.server.prepareLaunch(path.basename(file.fsPath));
    const args = [
      '-m', 'reactorscope', 'run',
      '--connect', ticket.address,
      '--stall-threshold', String(settings.slowThresholdMs),
      '--sample-interval', String(settings.sampleIntervalMs),
      file.fsPath,
    ];
    const env = {
      ...process.env,
      PYTHONPATH: [this.runtimeDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      REACTORSCOPE_TOKEN: ticket.token,
      PYTHONUNBUFFERED: '1',
    };
    this.output.show(true);
    this.output.appendLine(`$ ${interpreter.path} ${args.join(' ')}    (interpreter from ${interpreter.from})`);
    const child = spawn(interpreter.path, args, { cwd: path.dirname(file.fsPath), env });
    child.stdout.on('data', (chunk: Buffer) => this.output.append(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => this.output.append(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', (error: NodeJS.ErrnoException) => {
        const message = error.code === 'ENOENT'
          ? `Python not found: "${interpreter.path}" (from ${interpreter.from}). Set reactorscope.pythonPath to a Python with Twisted.`
          : `Could not start ${interpreter.path}: ${error.message}`;
        this.output.appendLine(message);
        void vscode.window.showErrorMessage(`Reactor Scope: ${message}`);
        resolve(null);
      });
      child.on('exit', (code, signal) => {
        this.output.appendLine(`[${path.basename(file.fsPath)} exited with ${code ?? signal}]`);
        if (code !== 0 && code !== null) {
          void vscode.window.showWarningMessage(`Reactor Scope: ${path.basename(file.fsPath)} exited with status ${code}; see the "Reactor Scope: App" output.`);
        }
        resolve(code);
      });
    });
    const app: RunningApp = { label: path.basename(file.fsPath), process: child, exited };
    this.running.add(app);
    void exited.then(() => this.running.delete(app));
    return app;
  }

  /** Stops every app started from here (SIGINT first, as Ctrl+C would; the shim flushes on the way out). */
  stopAll(): number {
    for (const app of this.running) app.process.kill('SIGINT');
    return this.running.size;
  }

  dispose(): void {
    this.stopAll();
    this.output.dispose();
  }
}
