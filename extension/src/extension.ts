import * as path from 'node:path';
import * as vscode from 'vscode';
import { notificationText } from '../../protocol/appText';
import type { HotspotInfo, ServerInfo, SessionInfo, TimelineData, TimelineParams } from '../../protocol/lsp';
import type { ServerStatus } from '../../protocol/serverStatus';
import { listeningApps } from './attach';
import { Commands, registerCommand } from './commands';
import { registerDecorations } from './decorations';
import { registerHotspotsTree } from './hotspotsTree';
import { SETTINGS_SECTION } from './ids';
import { openAt } from './navigation';
import { registerNotices } from './notices';
import { slowest } from './slowest';
import { TelemetryModel } from './model';
import { registerDebugger } from './debugAdapter';
import { askLaunchSpec } from './askLaunch';
import { EXPORT_FORMATS, type ExportFormat, exportSummary, runExport } from './exportRecording';
import { resolveInterpreter } from './interpreter';
import { AppRunner, launchLabel, type LaunchSpec, outputChannelSink, type RunningApp } from './run';
import { readSettings, serverSettings } from './settings';
import { registerStatusBar } from './statusBar';
import { TelemetryServer } from './telemetryServer';
import { registerTimelinePanel } from './timeline/panel';

/** What `activate` returns: read by the integration tests and by other extensions. */
export interface ReactorScopeApi {
  serverStatus(): ServerStatus;
  serverInfo(): Promise<ServerInfo>;
  /** The app started last (Run commands or a debug configuration), if any. */
  lastRun(): RunningApp | undefined;
  /** Every session of the running telemetry server. */
  sessions(): Promise<SessionInfo[]>;
  /** A session's time range as the timeline gets it. */
  timeline(params: TimelineParams): Promise<TimelineData | undefined>;
  /** Handlers of one session (or of all), as the tree, diagnostics and lenses show them. */
  hotspots(sessionId?: number): Promise<HotspotInfo[]>;
}

let telemetryServer: TelemetryServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<ReactorScopeApi> {
  const output = vscode.window.createOutputChannel('Reactor Scope', { log: true });
  context.subscriptions.push(output);
  const server = new TelemetryServer(context.asAbsolutePath('dist/server.js'), output, () => serverSettings(readSettings()));
  telemetryServer = server;
  const recordings = vscode.Uri.joinPath(context.globalStorageUri, 'recordings');
  const runner = new AppRunner(context.asAbsolutePath('runtime'), server, recordings.fsPath);
  const appOutput = vscode.window.createOutputChannel('Reactor Scope: App');
  context.subscriptions.push(server, runner, appOutput);
  /** Runs an app with its output in the "Reactor Scope: App" channel (Run Current File, Run...). */
  const runInOutput = async (spec: LaunchSpec): Promise<void> => {
    appOutput.show(true);
    const label = launchLabel(spec);
    try {
      await runner.launch(spec, outputChannelSink(appOutput, label));
    } catch (error) {
      void vscode.window.showErrorMessage(notificationText(`Reactor Scope: could not run ${label}: ${error instanceof Error ? error.message : String(error)}`));
    }
  };

  const model = new TelemetryModel(server);
  context.subscriptions.push(model);
  registerStatusBar(context, server, model);
  const onDidSelectHandler = registerHotspotsTree(context, model);
  registerDecorations(context, model);
  registerNotices(context, model);
  context.subscriptions.push(
    // A new server knows no launch: hand it the running apps, with the drop counts the model last saw.
    server.onDidStart(() => void runner.adoptRunning((id) => model.sessions.find((s) => s.id === id)?.appDroppedEvents ?? 0)),
  );
  registerTimelinePanel(context, { server, model, onDidSelectHandler });
  registerDebugger(context, runner);
  registerCommand(context, Commands.restartServer, () => server.restart());
  registerCommand(context, Commands.runCurrentFile, async (uri?: vscode.Uri) => {
    const file = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!file || path.extname(file.fsPath) !== '.py') {
      void vscode.window.showErrorMessage('Reactor Scope: open a Python file to run it.');
      return;
    }
    await vscode.workspace.save(file);
    await runInOutput({ program: file.fsPath });
  });
  registerCommand(context, Commands.stop, () => {
    if (runner.stopAll() === 0) void vscode.window.showInformationMessage('Reactor Scope: no app is running.');
  });
  registerCommand(context, Commands.run, async (preset?: LaunchSpec) => {
    const spec = preset ?? (await askLaunchSpec());
    if (spec) await runInOutput(spec);
  });
  registerCommand(context, Commands.attach, async (pid?: number) => {
    const apps = listeningApps();
    const chosen = pid !== undefined
      ? apps.find((app) => app.pid === pid)
      : (
          await vscode.window.showQuickPick(
            apps.map((app) => ({ label: `pid ${app.pid}`, description: app.argv.join(' '), detail: app.address, app })),
            { title: 'Attach to a running app', placeHolder: apps.length ? 'An app started with `reactorscope run --listen`' : '' },
          )
        )?.app;
    if (!chosen) {
      if (!apps.length) void vscode.window.showInformationMessage('Reactor Scope: no app is listening. Start one with `python -m reactorscope run --listen app.py`.');
      return undefined;
    }
    return server.attach(chosen.address, chosen.token, path.basename(chosen.argv[0] ?? `pid ${chosen.pid}`));
  });
  registerCommand(context, Commands.openRecording, async (file?: vscode.Uri) => {
    const picked =
      file ?? (await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Open a Reactor Scope recording', defaultUri: recordings }))?.[0];
    if (!picked) return undefined;
    try {
      return await server.openRecording(picked.fsPath);
    } catch (error) {
      void vscode.window.showErrorMessage(notificationText(`Reactor Scope: could not open ${picked.fsPath}: ${error instanceof Error ? error.message : String(error)}`));
      return undefined;
    }
  });
  // Arguments (a recording, a format id, an output file) skip the pickers: for tests and other extensions.
  registerCommand(context, Commands.exportRecording, async (file?: vscode.Uri, formatId?: ExportFormat['id'], target?: vscode.Uri) => {
    const picked =
      file ?? (await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Export a Reactor Scope recording', defaultUri: recordings }))?.[0];
    if (!picked) return undefined;
    const format = EXPORT_FORMATS.find((f) => f.id === formatId) ??
      (await vscode.window.showQuickPick(EXPORT_FORMATS.map((f) => ({ label: f.label, detail: f.detail, format: f })), { title: 'Export as' }))?.format;
    if (!format) return undefined;
    const output = target ?? (await vscode.window.showSaveDialog({
      title: `Export ${path.basename(picked.fsPath)} as ${format.label}`,
      defaultUri: vscode.Uri.file(`${picked.fsPath.replace(/\.rsrec$/, '')}.${format.extension}`),
    }));
    if (!output) return undefined;
    const interpreter = await resolveInterpreter(picked);
    try {
      const result = await runExport(interpreter.path, context.asAbsolutePath('runtime'), picked.fsPath, format.id, output.fsPath);
      void vscode.window.showInformationMessage(notificationText(`Reactor Scope: ${exportSummary(result)}`));
      return result;
    } catch (error) {
      void vscode.window.showErrorMessage(notificationText(`Reactor Scope: could not export ${picked.fsPath}: ${error instanceof Error ? error.message : String(error)}`));
      return undefined;
    }
  });
  registerCommand(context, Commands.clear, async () => {
    runner.forgetEnded();
    await server.clear();
  });
  registerCommand(context, Commands.goToSlowestHandler, async () => {
    await model.refresh();
    const target = slowest(model.hotspots, model.sessions);
    if (!target) {
      void vscode.window.showInformationMessage('Reactor Scope: nothing measured yet. Run an app with Reactor Scope first.');
      return;
    }
    await openAt(target.file, target.line);
  });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(SETTINGS_SECTION)) void server.sendSettings(serverSettings(readSettings()));
    }),
  );

  await server.start();
  return {
    serverStatus: () => server.status,
    serverInfo: () => server.info(),
    lastRun: () => runner.last,
    sessions: () => server.sessions(),
    timeline: (params) => server.timeline(params),
    hotspots: (sessionId) => server.hotspots(sessionId),
  };
}

/** Stops the server gracefully; VS Code disposes the subscriptions (and so the server object) afterwards. */
export async function deactivate(): Promise<void> {
  await telemetryServer?.stop();
  telemetryServer = undefined;
}
