import * as vscode from 'vscode';
import { LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import {
  type AdoptedLaunch,
  AdoptLaunchesRequest,
  AttachRequest,
  type CallbackSource,
  CallbackSourceRequest,
  ClearRequest,
  DidChangeSettingsNotification,
  DidChangeTelemetryNotification,
  type HotspotInfo,
  HotspotsRequest,
  LaunchEndedNotification,
  type LaunchTicket,
  OpenRecordingRequest,
  PrepareLaunchRequest,
  type ServerInfo,
  ServerInfoRequest,
  type ServerSettings,
  type SessionInfo,
  SessionsRequest,
  type TimelineData,
  type TimelineParams,
  TimelineRequest,
} from '../../protocol/lsp';
import type { ServerStatus } from '../../protocol/serverStatus';

/** Port the telemetry server's inspector listens on when the extension runs under the debugger (.vscode/launch.json). */
const SERVER_INSPECT_PORT = 6010;

/**
 * The telemetry server runs in its own Node process, reached over IPC by vscode-languageclient, so
 * decoding and aggregation never run on the extension host's thread. This class owns that process:
 * its lifetime is shorter than the extension's (restart makes a new one), so its disposables are kept
 * apart from the extension's.
 */
export class TelemetryServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private current: ServerStatus = { state: 'stopped' };
  private readonly statusEmitter = new vscode.EventEmitter<ServerStatus>();
  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly startEmitter = new vscode.EventEmitter<void>();
  /** A server started, the first or a new one (restarted by command or after it died): it knows no launch yet. */
  readonly onDidStart = this.startEmitter.event;
  private readonly telemetryEmitter = new vscode.EventEmitter<void>();
  /** Sessions or their data changed on the server (at most every 150 ms). */
  readonly onDidChangeTelemetry = this.telemetryEmitter.event;

  constructor(
    private readonly serverModule: string,
    private readonly output: vscode.LogOutputChannel,
    private readonly settings: () => ServerSettings,
  ) {}

  get status(): ServerStatus {
    return this.current;
  }

  async start(): Promise<void> {
    const debugOptions = { execArgv: ['--nolazy', `--inspect=${SERVER_INSPECT_PORT}`] };
    const serverOptions: ServerOptions = {
      run: { module: this.serverModule, transport: TransportKind.ipc },
      debug: { module: this.serverModule, transport: TransportKind.ipc, options: debugOptions },
    };
    const clientOptions: LanguageClientOptions = {
      // Twisted's .tac files are Python (package.json says so too, for editors that know no better).
      documentSelector: [{ scheme: 'file', language: 'python' }, { scheme: 'file', pattern: '**/*.tac' }],
      outputChannel: this.output,
      initializationOptions: this.settings(),
    };
    const client = new LanguageClient('reactorscope', 'Reactor Scope Telemetry Server', serverOptions, clientOptions);
    this.client = client;
    let started = false;
    client.onDidChangeState(({ newState }) => {
      if (this.client !== client) return;
      if (newState === State.Stopped) this.setStatus({ state: 'stopped', reason: 'the server exited' });
      if (newState === State.Starting) this.setStatus({ state: 'starting' });
      // The language client restarts a server that died on its own: the same client, running again.
      if (newState === State.Running && started) {
        this.announceRunning(client, true).catch((error: unknown) => this.output.error(`Telemetry server restarted but did not answer: ${String(error)}`));
      }
    });
    this.setStatus({ state: 'starting' });
    try {
      await client.start();
      client.onNotification(DidChangeTelemetryNotification.type, () => this.telemetryEmitter.fire());
      started = true;
      await this.announceRunning(client, false);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.output.error(`Telemetry server failed to start: ${reason}`);
      this.setStatus({ state: 'stopped', reason });
    }
  }

  /** A server runs (again): its status, then `onDidStart` so running launches are handed over to it. */
  private async announceRunning(client: LanguageClient, restarted: boolean): Promise<void> {
    const info = await client.sendRequest(ServerInfoRequest.type);
    if (this.client !== client) return;
    this.setStatus({ state: 'running', pid: info.pid });
    if (restarted) this.output.warn(`Telemetry server restarted after it stopped on its own (pid ${info.pid}).`);
    this.startEmitter.fire();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) await client.stop();
    this.setStatus({ state: 'stopped' });
  }

  /** The running server's client; rejects the call when no server runs. */
  private running(): LanguageClient {
    if (!this.client?.isRunning()) throw new Error('the telemetry server is not running');
    return this.client;
  }

  async info(): Promise<ServerInfo> {
    return this.running().sendRequest(ServerInfoRequest.type);
  }

  async prepareLaunch(label: string): Promise<LaunchTicket> {
    return this.running().sendRequest(PrepareLaunchRequest.type, { label });
  }

  async sessions(): Promise<SessionInfo[]> {
    return this.running().sendRequest(SessionsRequest.type);
  }

  async hotspots(sessionId?: number): Promise<HotspotInfo[]> {
    return this.running().sendRequest(HotspotsRequest.type, { sessionId });
  }

  async adoptLaunches(launches: AdoptedLaunch[]): Promise<number[]> {
    return (await this.running().sendRequest(AdoptLaunchesRequest.type, { launches })).launchIds;
  }

  async attach(address: string, token: string, label: string): Promise<number> {
    return (await this.running().sendRequest(AttachRequest.type, { address, token, label })).sessionId;
  }

  async openRecording(path: string, label?: string): Promise<number> {
    return (await this.running().sendRequest(OpenRecordingRequest.type, { path, label })).sessionId;
  }

  async timeline(params: TimelineParams): Promise<TimelineData | undefined> {
    return this.running().sendRequest(TimelineRequest.type, params);
  }

  async callbackSource(sessionId: number, startNs: number, site: number): Promise<CallbackSource | undefined> {
    return this.running().sendRequest(CallbackSourceRequest.type, { sessionId, startNs, site });
  }

  async clear(): Promise<number> {
    return (await this.running().sendRequest(ClearRequest.type)).cleared;
  }

  async launchEnded(launchId: number, exitCode: number | null, problem?: string): Promise<void> {
    if (this.client?.isRunning()) await this.client.sendNotification(LaunchEndedNotification.type, { launchId, exitCode, problem });
  }

  async sendSettings(settings: ServerSettings): Promise<void> {
    if (this.client?.isRunning()) await this.client.sendNotification(DidChangeSettingsNotification.type, settings);
  }

  dispose(): void {
    void this.stop();
    this.statusEmitter.dispose();
    this.startEmitter.dispose();
    this.telemetryEmitter.dispose();
  }

  private setStatus(status: ServerStatus): void {
    this.current = status;
    this.statusEmitter.fire(status);
  }
}
