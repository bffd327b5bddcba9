/**
 * The Reactor Scope telemetry server: a language server in its own Node process, started by the extension
 * over IPC. It owns the debug sockets, decodes and aggregates the shims' frames (telemetry.ts), and answers
 * with LSP features any editor can use plus the custom methods of protocol/lsp.ts.
 */
import { createConnection, type Diagnostic, ProposedFeatures, TextDocumentSyncKind } from 'vscode-languageserver/node';
import {
  AttachRequest,
  CallbackSourceRequest,
  ClearRequest,
  DidChangeSettingsNotification,
  DidChangeTelemetryNotification,
  HotspotsRequest,
  LaunchEndedNotification,
  OpenRecordingRequest,
  PrepareLaunchRequest,
  type ServerInfo,
  ServerInfoRequest,
  type ServerSettings,
  SessionsRequest,
  TimelineRequest,
} from '../../protocol/lsp';
import { codeLenses, diagnosticsByUri, hover } from './features';
import { Telemetry } from './telemetry';

const DEFAULT_SETTINGS: ServerSettings = { slowThresholdMs: 50, historyMemoryMb: 256, socketKind: 'tcp' };

const connection = createConnection(ProposedFeatures.all);
const info: ServerInfo = { pid: process.pid, node: process.version, version: REACTORSCOPE_VERSION, startedAt: Date.now() };
let settings = DEFAULT_SETTINGS;
let published = new Set<string>();

const telemetry = new Telemetry(settings, (sessions) => {
  publishDiagnostics();
  void connection.sendNotification(DidChangeTelemetryNotification.type, { sessions });
  // Ask the client to fetch lenses again: the figures under them changed.
  void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
});

function publishDiagnostics(): void {
  const byUri = diagnosticsByUri(telemetry.hotspots(), settings.slowThresholdMs);
  const empty: Diagnostic[] = [];
  for (const uri of published) if (!byUri.has(uri)) void connection.sendDiagnostics({ uri, diagnostics: empty });
  for (const [uri, diagnostics] of byUri) void connection.sendDiagnostics({ uri, diagnostics });
  published = new Set(byUri.keys());
}

connection.onInitialize((params) => {
  settings = { ...DEFAULT_SETTINGS, ...(params.initializationOptions as Partial<ServerSettings> | undefined) };
  telemetry.updateSettings(settings);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.None,
      codeLensProvider: { resolveProvider: false },
      hoverProvider: true,
    },
    serverInfo: { name: 'Reactor Scope telemetry server', version: REACTORSCOPE_VERSION },
  };
});
connection.onNotification(DidChangeSettingsNotification.type, (next) => {
  settings = { ...DEFAULT_SETTINGS, ...next };
  telemetry.updateSettings(settings);
});
connection.onRequest(ServerInfoRequest.type, () => info);
connection.onRequest(PrepareLaunchRequest.type, ({ label }) => telemetry.prepareLaunch(label));
connection.onRequest(SessionsRequest.type, () => telemetry.sessionInfos());
connection.onRequest(AttachRequest.type, ({ address, token, label }) => ({ sessionId: telemetry.attach(address, token, label) }));
connection.onRequest(OpenRecordingRequest.type, async ({ path }) => ({ sessionId: await telemetry.openRecording(path) }));
connection.onRequest(ClearRequest.type, () => ({ cleared: telemetry.clear() }));
connection.onRequest(TimelineRequest.type, (params) => telemetry.timeline(params));
connection.onRequest(CallbackSourceRequest.type, ({ sessionId, startNs, site }) => telemetry.callbackSource(sessionId, startNs, site));
connection.onNotification(LaunchEndedNotification.type, ({ launchId, exitCode, problem }) => telemetry.launchEnded(launchId, exitCode, problem));
connection.onRequest(HotspotsRequest.type, ({ sessionId }) => telemetry.hotspots(sessionId));
connection.onCodeLens(({ textDocument }) => codeLenses(textDocument.uri, telemetry.hotspots()));
connection.onHover(({ textDocument, position }) => hover(textDocument.uri, position.line, telemetry.hotspots()));
connection.onShutdown(() => telemetry.dispose());
connection.listen();
