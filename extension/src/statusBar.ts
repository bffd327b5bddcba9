import * as vscode from 'vscode';
import { formatMs } from '../../protocol/format';
import { describeServerStatus, type ServerStatus } from '../../protocol/serverStatus';
import { Commands } from './commands';
import type { TelemetryModel } from './model';
import type { TelemetryServer } from './telemetryServer';

const ICONS: Record<ServerStatus['state'], string> = {
  starting: '$(loading~spin)',
  running: '$(pulse)',
  stopped: '$(circle-slash)',
};

/**
 * The Reactor Scope item in the status bar: the server's state, and while an app runs its loop lag and how
 * busy its reactor is; a click opens the timeline.
 */
export function registerStatusBar(context: vscode.ExtensionContext, server: TelemetryServer, model: TelemetryModel): void {
  const item = vscode.window.createStatusBarItem('reactorscope.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Reactor Scope';
  item.command = Commands.showTimeline;
  const show = (): void => {
    const status = server.status;
    const live = model.newestSession();
    const figures =
      live?.state === 'live' && live.lagMs !== undefined && live.utilization !== undefined
        ? ` · lag ${formatMs(live.lagMs)} · ${Math.round(live.utilization * 100)}% busy`
        : '';
    item.text = `${ICONS[status.state]} Reactor Scope${figures}`;
    item.tooltip = [describeServerStatus(status), live ? `${live.label}: ${live.state}` : undefined].filter(Boolean).join('\n');
  };
  show();
  item.show();
  context.subscriptions.push(item, server.onDidChangeStatus(show), model.onDidChange(show));
}
