import * as vscode from 'vscode';
import { notificationText } from '../../protocol/appText';
import type { TelemetryModel } from './model';

/**
 * Tells the user, once per session, what its data lacks: callbacks the app dropped because the telemetry
 * server did not take them in time, or a reconnection after the server restarted. The tree keeps saying it.
 */
export function registerNotices(context: vscode.ExtensionContext, model: TelemetryModel): void {
  const told = new Set<string>();
  context.subscriptions.push(
    model.onDidChange(() => {
      for (const session of model.sessions) {
        // One message per session and kinds of note (the figures in it keep changing; the kinds say what is new).
        const key = `${session.id}:${session.noteKinds.join('+')}`;
        if (!session.note || told.has(key)) continue;
        told.add(key);
        // The label may be the app's own (an attached app's argv[0]): no link in it may become one.
        void vscode.window.showWarningMessage(notificationText(`Reactor Scope: ${session.label} (pid ${session.pid ?? '?'}): ${session.note}.`));
      }
    }),
  );
}
