import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ExtensionToWebview, WebviewToExtension } from '../../../protocol/webview';
import { Commands, registerCommand } from '../commands';
import type { TelemetryServer } from '../telemetryServer';
import { timelineHtml } from './html';

const VIEW_TYPE = 'reactorscope.timeline';

/** The Reactor Timeline panel: one at a time, revealed again when already open. */
class TimelinePanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly server: TelemetryServer,
    onDispose: () => void,
  ) {
    this.disposables.push(
      panel.onDidDispose(() => {
        onDispose();
        this.dispose();
      }),
      panel.webview.onDidReceiveMessage((message: WebviewToExtension) => this.receive(message)),
      server.onDidChangeStatus((status) => this.post({ type: 'serverStatus', status })),
    );
  }

  private receive(message: WebviewToExtension): void {
    switch (message.type) {
      case 'ready':
        this.post({ type: 'serverStatus', status: this.server.status });
        break;
    }
  }

  private post(message: ExtensionToWebview): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

export function registerTimelinePanel(context: vscode.ExtensionContext, server: TelemetryServer): void {
  let open: TimelinePanel | undefined;
  const webviewRoot = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
  registerCommand(context, Commands.showTimeline, () => {
    if (open) {
      open.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Reactor Timeline', vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [webviewRoot],
      retainContextWhenHidden: false,
    });
    panel.webview.html = timelineHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, 'main.js')).toString(),
      nonce: randomBytes(16).toString('base64url'),
    });
    open = new TimelinePanel(panel, server, () => (open = undefined));
  });
  context.subscriptions.push({
    dispose: () => {
      open?.panel.dispose();
    },
  });
}
