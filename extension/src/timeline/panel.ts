import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { notificationText } from '../../../protocol/appText';
import { ShowInTimelineCommand, type HotspotInfo } from '../../../protocol/lsp';
import type { ExtensionToWebview, Highlight, WebviewToExtension } from '../../../protocol/webview';
import { Commands, registerCommand } from '../commands';
import type { TelemetryModel } from '../model';
import { openAt } from '../navigation';
import { readSettings } from '../settings';
import type { TelemetryServer } from '../telemetryServer';
import { timelineHtml } from './html';

const VIEW_TYPE = 'reactorscope.timeline';

export interface TimelineDeps {
  server: TelemetryServer;
  model: TelemetryModel;
  /** Fires when the user selects a handler in the Hotspots tree. */
  onDidSelectHandler: vscode.Event<HotspotInfo>;
}

/**
 * The Reactor Timeline panel: one at a time, revealed again when already open. The extension owns the data:
 * the webview asks for ranges and this class fetches them from the telemetry server.
 */
class TimelinePanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  /** A highlight asked for before the webview said `ready`. */
  private pendingHighlight: Highlight | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: TimelineDeps,
    onDispose: () => void,
  ) {
    this.disposables.push(
      panel.onDidDispose(() => {
        onDispose();
        this.dispose();
      }),
      panel.webview.onDidReceiveMessage((message: WebviewToExtension) => void this.receive(message)),
      deps.server.onDidChangeStatus((status) => this.post({ type: 'serverStatus', status })),
      deps.model.onDidChange(() => this.postSessions()),
    );
  }

  highlight(highlight: Highlight | undefined): void {
    if (this.ready) this.post({ type: 'highlight', highlight });
    else this.pendingHighlight = highlight;
  }

  private async receive(message: WebviewToExtension): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.post({ type: 'serverStatus', status: this.deps.server.status });
        await this.deps.model.refresh();
        this.postSessions();
        if (this.pendingHighlight) this.post({ type: 'highlight', highlight: this.pendingHighlight });
        this.pendingHighlight = undefined;
        break;
      case 'query': {
        const { requestId, queries, maxPoints } = message;
        const answers = await Promise.all(
          queries.map((query) => this.deps.server.timeline({ ...query, maxPoints }).catch(() => undefined)),
        );
        this.post({ type: 'ranges', requestId, ranges: answers.filter((range) => range !== undefined) });
        break;
      }
      case 'openCallback': {
        const source = await this.deps.server.callbackSource(message.sessionId, message.startNs, message.site).catch(() => undefined);
        const target = source?.blocking ?? source?.handler;
        if (!target?.file) {
          void vscode.window.showInformationMessage('Reactor Scope: that callback has no source location the server knows.');
          return;
        }
        try {
          // Beside the panel, not over it.
          const column = this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
          await openAt(target.file, target.line, column, this.panel.viewColumn);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          void vscode.window.showErrorMessage(notificationText(`Reactor Scope: could not open ${target.file}: ${why}`));
        }
        break;
      }
    }
  }

  private postSessions(): void {
    if (this.ready) this.post({ type: 'sessions', sessions: this.deps.model.sessions, slowThresholdMs: readSettings().slowThresholdMs });
  }

  private post(message: ExtensionToWebview): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** A "Show in Timeline" argument: from a CodeLens (the server's argument) or the Hotspots tree's menu (a node). */
function highlightOf(argument: ShowInTimelineCommand.Argument | { hotspot: HotspotInfo } | undefined): Highlight | undefined {
  if (!argument) return undefined;
  const h = 'hotspot' in argument ? argument.hotspot : argument;
  return { sessionId: h.sessionId, file: h.file, line: h.line, name: h.name };
}

export function registerTimelinePanel(context: vscode.ExtensionContext, deps: TimelineDeps): void {
  let open: TimelinePanel | undefined;
  const webviewRoot = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
  const options: vscode.WebviewOptions = { enableScripts: true, localResourceRoots: [webviewRoot] };

  const adopt = (panel: vscode.WebviewPanel): TimelinePanel => {
    panel.webview.options = options;
    panel.webview.html = timelineHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, 'main.js')).toString(),
      nonce: randomBytes(16).toString('base64url'),
    });
    open = new TimelinePanel(panel, deps, () => (open = undefined));
    return open;
  };
  const show = (): TimelinePanel => {
    if (open) {
      open.panel.reveal();
      return open;
    }
    return adopt(vscode.window.createWebviewPanel(VIEW_TYPE, 'Reactor Timeline', vscode.ViewColumn.Beside, { ...options, retainContextWhenHidden: false }));
  };

  registerCommand(context, Commands.showTimeline, () => {
    show();
  });
  registerCommand(context, Commands.showInTimeline, (argument?: ShowInTimelineCommand.Argument | { hotspot: HotspotInfo }) => {
    show().highlight(highlightOf(argument));
  });
  context.subscriptions.push(
    // After a reload VS Code recreates the panel; the webview restores its own view state (`getState`).
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: (panel) => {
        open?.panel.dispose();
        adopt(panel);
        return Promise.resolve();
      },
    }),
    deps.onDidSelectHandler((hotspot) => {
      open?.highlight(highlightOf({ hotspot }));
    }),
    {
      dispose: () => {
        open?.panel.dispose();
      },
    },
  );
}
