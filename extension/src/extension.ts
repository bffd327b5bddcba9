import * as vscode from 'vscode';
import type { ServerInfo } from '../../protocol/lsp';
import type { ServerStatus } from '../../protocol/serverStatus';
import { Commands, registerCommand } from './commands';
import { registerStatusBar } from './statusBar';
import { TelemetryServer } from './telemetryServer';
import { registerTimelinePanel } from './timeline/panel';

/** What `activate` returns: read by the integration tests and by other extensions. */
export interface ReactorScopeApi {
  serverStatus(): ServerStatus;
  serverInfo(): Promise<ServerInfo>;
}

let telemetryServer: TelemetryServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<ReactorScopeApi> {
  const output = vscode.window.createOutputChannel('Reactor Scope', { log: true });
  context.subscriptions.push(output);
  const server = new TelemetryServer(context.asAbsolutePath('dist/server.js'), output);
  telemetryServer = server;
  context.subscriptions.push(server);

  registerStatusBar(context, server);
  registerTimelinePanel(context, server);
  registerCommand(context, Commands.restartServer, () => server.restart());

  await server.start();
  return { serverStatus: () => server.status, serverInfo: () => server.info() };
}

/** Stops the server gracefully; VS Code disposes the subscriptions (and so the server object) afterwards. */
export async function deactivate(): Promise<void> {
  await telemetryServer?.stop();
  telemetryServer = undefined;
}
