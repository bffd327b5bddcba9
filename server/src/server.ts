/**
 * The Reactor Scope telemetry server: a language server in its own Node process, started by the extension
 * over IPC. It owns the debug sockets, decodes and aggregates the shims' frames (telemetry.ts), and answers
 * with LSP features any editor can use plus the custom methods of protocol/lsp.ts.
 */
import { createConnection, type Diagnostic, ErrorCodes, ProposedFeatures, ResponseError, TextDocumentSyncKind } from 'vscode-languageserver/node';
import {
  AdoptLaunchesRequest,
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

const connection = createConnection(ProposedFeatures.all);
const info: ServerInfo = { pid: process.pid, node: process.version, version: REACTORSCOPE_VERSION, startedAt: Date.now() };
/** The extension's settings (their defaults are package.json's), sent with initialize and on every change. */
let settings: ServerSettings;
/**
 * The editor is told at once when a warning, a note or a lens appears or goes; when only the figures in them
 * change (every call of a busy handler changes them), at most every FIGURES_INTERVAL_MS: re-rendering the
 * editor several times a second for a count is noise, and keeps the workbench busy.
 */
const FIGURES_INTERVAL_MS = 2000;
const published = new Map<string, string>();
let figuresSentAt = 0;

let figuresLater: NodeJS.Timeout | undefined;

let telemetry: Telemetry | undefined;

/** The hub, made at initialize (the first request LSP allows) with the extension's settings. */
function hub(): Telemetry {
  if (!telemetry) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'the telemetry server has not been initialized');
  return telemetry;
}

/** The settings the extension sends: all of them, typed, or an error that says which is missing. */
function checkedSettings(value: unknown): ServerSettings {
  const given = (value ?? {}) as Partial<Record<keyof ServerSettings, unknown>>;
  if (typeof given.slowThresholdMs !== 'number' || typeof given.historyMemoryMb !== 'number' || (given.socketKind !== 'tcp' && given.socketKind !== 'unix')) {
    throw new ResponseError(ErrorCodes.InvalidParams, `the extension sent incomplete settings: ${JSON.stringify(value)}`);
  }
  return { slowThresholdMs: given.slowThresholdMs, historyMemoryMb: given.historyMemoryMb, socketKind: given.socketKind };
}

/** Diagnostics and lenses; figures held back now are sent when the interval is up, so the last ones show. */
function showInEditor(): void {
  const figuresDue = Date.now() - figuresSentAt >= FIGURES_INTERVAL_MS;
  const shapeChanged = publishDiagnostics(figuresDue);
  if (figuresDue) figuresSentAt = Date.now();
  if (shapeChanged || figuresDue) {
    // Ask the client to fetch lenses again: what is under them changed.
    void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  }
  if (!figuresDue && !figuresLater) {
    figuresLater = setTimeout(() => {
      figuresLater = undefined;
      showInEditor();
    }, figuresSentAt + FIGURES_INTERVAL_MS - Date.now());
  }
}

/** Where each diagnostic sits, without its text: what makes a change worth showing at once. */
function shapeOf(diagnostics: Diagnostic[]): string {
  return diagnostics.map((d) => `${d.code}:${d.severity}:${d.range.start.line}`).join(',');
}

/** Publishes what changed shape, and (with `figuresToo`) what changed only in its text; says if shapes changed. */
function publishDiagnostics(figuresToo: boolean): boolean {
  const byUri = diagnosticsByUri(hub().hotspots(), settings.slowThresholdMs);
  let shapeChanged = false;
  for (const uri of published.keys()) {
    if (byUri.has(uri)) continue;
    void connection.sendDiagnostics({ uri, diagnostics: [] });
    published.delete(uri);
    shapeChanged = true;
  }
  for (const [uri, diagnostics] of byUri) {
    const shape = shapeOf(diagnostics);
    const changed = published.get(uri) !== shape;
    if (changed || figuresToo) void connection.sendDiagnostics({ uri, diagnostics });
    published.set(uri, shape);
    shapeChanged ||= changed;
  }
  return shapeChanged;
}

connection.onInitialize((params) => {
  settings = checkedSettings(params.initializationOptions);
  telemetry = new Telemetry(settings, (sessions) => {
    void connection.sendNotification(DidChangeTelemetryNotification.type, { sessions });
    showInEditor();
  });
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
  settings = checkedSettings(next);
  hub().updateSettings(settings);
});
connection.onRequest(ServerInfoRequest.type, () => info);
connection.onRequest(PrepareLaunchRequest.type, ({ label }) => hub().prepareLaunch(label));
connection.onRequest(SessionsRequest.type, () => hub().sessionInfos());
connection.onRequest(AdoptLaunchesRequest.type, async ({ launches }) => ({ launchIds: await hub().adoptLaunches(launches) }));
connection.onRequest(AttachRequest.type, ({ address, token, label }) => ({ sessionId: hub().attach(address, token, label) }));
connection.onRequest(OpenRecordingRequest.type, async ({ path, label }) => ({ sessionId: await hub().openRecording(path, label) }));
connection.onRequest(ClearRequest.type, () => ({ cleared: hub().clear() }));
connection.onRequest(TimelineRequest.type, (params) => hub().timeline(params));
connection.onRequest(CallbackSourceRequest.type, ({ sessionId, startNs, site }) => hub().callbackSource(sessionId, startNs, site));
connection.onNotification(LaunchEndedNotification.type, ({ launchId, exitCode, problem }) => hub().launchEnded(launchId, exitCode, problem));
connection.onRequest(HotspotsRequest.type, ({ sessionId }) => hub().hotspots(sessionId));
connection.onCodeLens(({ textDocument }) => codeLenses(textDocument.uri, hub().hotspots()));
connection.onHover(({ textDocument, position }) => hover(textDocument.uri, position.line, hub().hotspots()));
connection.onShutdown(() => telemetry?.dispose());
connection.listen();
