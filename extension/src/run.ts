import { type ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { metricsArgs, userCodeArgs } from './args';
import { describeExit } from './exitStatus';
import { resolveInterpreter } from './interpreter';
import { preflight } from './preflight';
import { newRecording, RECORDINGS_KEPT } from './recordings';
import { readSettings } from './settings';
import { notificationText } from '../../protocol/appText';
import type { LaunchTicket } from '../../protocol/lsp';
import type { TelemetryServer } from './telemetryServer';

/** What to run: a script (`program`) or a module (`python -m`), as a launch.json configuration says it. */
export interface LaunchSpec {
  program?: string;
  module?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** An interpreter for this launch only; else the usual resolution (see interpreter.ts). */
  python?: string;
  /** Packages or path globs that are the app's code too, beside the `reactorscope.userCode` setting's. */
  userCode?: string[];
  /** Serve Prometheus metrics at this loopback address (`tcp:127.0.0.1:PORT`), passed as `--metrics`. */
  metrics?: string;
}

/** Where an app's output and end go: an output channel, or the Debug Console. */
export interface AppSink {
  info(line: string): void;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The process could not start or ended; `problem` says why it could not start. */
  exited(code: number | null, problem?: string): void;
}

/** How a launch is named in sessions, the tree and messages: the script's file name, or `-m MODULE`. */
export function launchLabel(spec: LaunchSpec): string {
  return spec.program ? path.basename(spec.program) : `-m ${spec.module ?? ''}`;
}

/** An app started with the shim. */
export interface RunningApp {
  label: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  /** The run's recording (`--record`), unless recording is off. */
  recording: string | undefined;
  /** Where and with what the app's shim connects; the session id changes when a restarted server takes it over. */
  ticket: LaunchTicket;
}

/**
 * Runs apps as `python -m reactorscope run --connect ADDRESS ...`, the runtime shipped in the extension on
 * PYTHONPATH and the launch's token in REACTORSCOPE_TOKEN (never on the command line).
 */
export class AppRunner implements vscode.Disposable {
  private readonly running = new Set<RunningApp>();
  /** Recorded runs that have ended since the last Clear: a restarted server reads them back. */
  private readonly ended: RunningApp[] = [];
  /** The app the latest launch started (undefined when it could not start), from a command or a debug configuration. */
  last: RunningApp | undefined;

  constructor(
    private readonly runtimeDir: string,
    private readonly server: TelemetryServer,
    /** Where runs are recorded (the extension's global storage). */
    private readonly recordingsDir: string,
  ) {}

  /** Starts the app; undefined when it could not start, which `sink.exited` has already said. */
  async launch(spec: LaunchSpec, sink: AppSink): Promise<RunningApp | undefined> {
    this.last = undefined;
    const target = spec.program ?? spec.module;
    if (!target) throw new Error('a launch needs "program" (a script) or "module"');
    const resource = spec.program ? vscode.Uri.file(spec.program) : undefined;
    const settings = readSettings(resource);
    const interpreter = spec.python ? { path: spec.python, from: 'the launch configuration' } : await resolveInterpreter(resource);
    const label = launchLabel(spec);
    const ticket = await this.server.prepareLaunch(label);
    try {
      await preflight(interpreter.path, this.runtimeDir, interpreter.from);
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      sink.exited(null, problem);
      void this.server.launchEnded(ticket.launchId, null, problem);
      return undefined;
    }
    const recording = settings.recordingLimitMb > 0 ? newRecording(this.recordingsDir, label) : undefined;
    const args = [
      '-m', 'reactorscope', 'run',
      '--connect', ticket.address,
      ...(recording ? ['--record', recording, '--record-limit', String(settings.recordingLimitMb)] : []),
      '--stall-threshold', String(settings.slowThresholdMs),
      '--sample-interval', String(settings.sampleIntervalMs),
      ...userCodeArgs(settings.userCode, spec.userCode),
      ...metricsArgs(spec.metrics),
      ...(spec.program ? [spec.program] : ['-m', spec.module ?? '']),
      ...(spec.args ?? []),
    ];
    const env = {
      ...process.env,
      ...spec.env,
      PYTHONPATH: [this.runtimeDir, spec.env?.PYTHONPATH ?? process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      REACTORSCOPE_TOKEN: ticket.token,
      PYTHONUNBUFFERED: '1',
    };
    const cwd = spec.cwd ?? (spec.program ? path.dirname(spec.program) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
    sink.info(`$ ${interpreter.path} ${args.join(' ')}    (interpreter from ${interpreter.from})`);
    const child = spawn(interpreter.path, args, { cwd, env });
    child.stdout.on('data', (chunk: Buffer) => sink.stdout(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => sink.stderr(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', (error: NodeJS.ErrnoException) => {
        const problem = error.code === 'ENOENT'
          ? `Python not found: "${interpreter.path}" (from ${interpreter.from}). Set reactorscope.pythonPath to a Python with Twisted.`
          : `Could not start ${interpreter.path}: ${error.message}`;
        sink.exited(null, problem);
        void this.server.launchEnded(ticket.launchId, null, problem);
        resolve(null);
      });
      child.on('exit', (code, signal) => {
        // Killed by a signal: report it as a shell does (SIGINT: 130).
        const status = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null);
        sink.info(`[${label} exited with ${code ?? signal}]`);
        sink.exited(status);
        void this.server.launchEnded(app.ticket.launchId, status);
        resolve(status);
      });
    });
    const app: RunningApp = { label, process: child, exited, recording, ticket };
    this.running.add(app);
    this.last = app;
    void exited.then(() => {
      this.running.delete(app);
      // As many as the recordings folder keeps.
      if (app.recording) this.ended.push(app);
      if (this.ended.length > RECORDINGS_KEPT) this.ended.shift();
    });
    return app;
  }

  /**
   * Hands the runs to a server that just started (after one died, or a restart): ended ones are read back from
   * their recordings; for running ones it listens where their shims reconnect, and knows their tokens.
   * `droppedBefore` is what the last server saw them drop.
   */
  async adoptRunning(droppedBefore: (launchId: number) => number): Promise<void> {
    // Ended runs come back from their recordings, as they were.
    for (const app of this.ended) {
      if (app.recording) await this.server.openRecording(app.recording, app.label).catch(() => undefined);
    }
    const apps = [...this.running];
    if (!apps.length) return;
    try {
      const ids = await this.server.adoptLaunches(
        apps.map(({ label, ticket, recording }) => ({ label, address: ticket.address, token: ticket.token, droppedBefore: droppedBefore(ticket.launchId), recording })),
      );
      apps.forEach((app, i) => (app.ticket = { ...app.ticket, launchId: ids[i] ?? app.ticket.launchId }));
    } catch (error) {
      void vscode.window.showWarningMessage(
        `Reactor Scope: the restarted telemetry server could not take the running apps back (${error instanceof Error ? error.message : String(error)}); they run on, and their recordings keep everything.`,
      );
    }
  }

  /** Clear forgets ended sessions: a restarted server does not bring them back either. */
  forgetEnded(): void {
    this.ended.length = 0;
  }

  /** Stops every app started from here (SIGINT first, as Ctrl+C would; the shim flushes on the way out). */
  stopAll(): number {
    for (const app of this.running) stop(app);
    return this.running.size;
  }

  dispose(): void {
    this.stopAll();
  }
}

/** SIGINT, then SIGKILL if the app has not ended 5 s later. */
export function stop(app: RunningApp): void {
  app.process.kill('SIGINT');
  const timer = setTimeout(() => app.process.kill('SIGKILL'), 5000);
  void app.exited.then(() => clearTimeout(timer));
}

/** The "Reactor Scope: App" output channel as a sink, with a clear message when an app fails. */
export function outputChannelSink(output: vscode.OutputChannel, label: string): AppSink {
  return {
    info: (line) => output.appendLine(line),
    stdout: (text) => output.append(text),
    stderr: (text) => output.append(text),
    exited: (code, problem) => {
      if (problem) {
        output.appendLine(problem);
        void vscode.window.showErrorMessage(notificationText(`Reactor Scope: ${problem}`));
      } else if (code !== 0 && code !== null) {
        void vscode.window.showWarningMessage(notificationText(`Reactor Scope: ${label} ${describeExit(code)}; what it measured is kept. See the "Reactor Scope: App" output.`));
      }
    },
  };
}
