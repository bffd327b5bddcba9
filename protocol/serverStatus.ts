/** The telemetry server's state as the extension sees it; shown by the status bar and the timeline panel. */
export type ServerStatus =
  | { state: 'starting' }
  | { state: 'running'; pid: number }
  | { state: 'stopped'; reason?: string };

/** One line for people: the status bar tooltip and the panel both use it, so they never disagree. */
export function describeServerStatus(status: ServerStatus): string {
  switch (status.state) {
    case 'starting':
      return 'Telemetry server starting';
    case 'running':
      return `Telemetry server running (pid ${status.pid})`;
    case 'stopped':
      return status.reason ? `Telemetry server stopped: ${status.reason}` : 'Telemetry server stopped';
  }
}
