import * as vscode from 'vscode';
import { describeServerStatus, type ServerStatus } from '../../protocol/serverStatus';
import { Commands } from './commands';
import type { TelemetryServer } from './telemetryServer';

const ICONS: Record<ServerStatus['state'], string> = {
  starting: '$(loading~spin)',
  running: '$(pulse)',
  stopped: '$(circle-slash)',
};

/** The Reactor Scope item in the status bar: the server's state now; a click opens the timeline. */
export function registerStatusBar(context: vscode.ExtensionContext, server: TelemetryServer): void {
  const item = vscode.window.createStatusBarItem('reactorscope.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Reactor Scope';
  item.command = Commands.showTimeline;
  const show = (status: ServerStatus): void => {
    item.text = `${ICONS[status.state]} Reactor Scope`;
    item.tooltip = describeServerStatus(status);
  };
  show(server.status);
  item.show();
  context.subscriptions.push(item, server.onDidChangeStatus(show));
}
