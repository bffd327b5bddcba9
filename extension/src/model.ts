import * as vscode from 'vscode';
import type { HotspotInfo, SessionInfo } from '../../protocol/lsp';
import type { TelemetryServer } from './telemetryServer';

/**
 * The extension's copy of what the server knows, fetched once per change notification (at most every 150 ms)
 * and shared by the tree, the decorations and the status bar, so each view never asks on its own.
 */
export class TelemetryModel implements vscode.Disposable {
  sessions: SessionInfo[] = [];
  hotspots: HotspotInfo[] = [];
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;
  private fetching: Promise<void> | undefined;
  private again = false;

  constructor(private readonly server: TelemetryServer) {
    this.subscription = server.onDidChangeTelemetry(() => void this.refresh());
  }

  /** Fetches now; a change arriving meanwhile fetches once more after. */
  async refresh(): Promise<void> {
    if (this.fetching) {
      this.again = true;
      return this.fetching;
    }
    this.fetching = (async () => {
      do {
        this.again = false;
        try {
          [this.sessions, this.hotspots] = await Promise.all([this.server.sessions(), this.server.hotspots()]);
        } catch {
          // the server is restarting: keep the last data, the next change refreshes it
        }
      } while (this.again);
      this.emitter.fire();
    })();
    try {
      await this.fetching;
    } finally {
      this.fetching = undefined;
    }
  }

  /** The newest session with a live or finished process. */
  newestSession(): SessionInfo | undefined {
    return [...this.sessions].reverse().find((s) => s.state !== 'waiting');
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
