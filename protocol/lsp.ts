/**
 * The contract between the extension (LSP client) and the telemetry server (LSP server).
 * Each custom method is a `{ method, type }` namespace; its doc comment says which way it travels.
 * Both sides import this file and nothing else for their custom methods.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { Jsonified, RangeData } from './timeline';
import type { UserCodeDescription } from './userCode';

/** What the telemetry server says about itself: it runs in its own Node process, off the extension host. */
export interface ServerInfo {
  /** The server's process id. */
  pid: number;
  /** The server's Node version, e.g. `v20.20.2`. */
  node: string;
  /** Reactor Scope version the server was built from. */
  version: string;
  /** When the server started, in milliseconds since the Unix epoch. */
  startedAt: number;
}

/** Client -> server request: who the telemetry server is. */
export namespace ServerInfoRequest {
  export const method = 'reactorscope/serverInfo';
  export const type = new RequestType0<ServerInfo, void>(method);
}

/** The server's settings, sent at initialize (`initializationOptions`) and on every change. */
export interface ServerSettings {
  /** A handler whose max or p99 is over this is slow (diagnostics, CodeLens). */
  slowThresholdMs: number;
  /** Memory for stored callbacks, one budget for all of the server's sessions, before the oldest are dropped (ended sessions' first). */
  historyMemoryMb: number;
  /** Where shims connect: loopback TCP or a Unix socket in a private folder. */
  socketKind: 'tcp' | 'unix';
}

/** Client -> server notification: the settings changed. */
export namespace DidChangeSettingsNotification {
  export const method = 'reactorscope/didChangeSettings';
  export const type = new NotificationType<ServerSettings>(method);
}

/** Where and with what a new shim connects: `address` for `--connect`, `token` for REACTORSCOPE_TOKEN. */
export interface LaunchTicket {
  address: string;
  token: string;
  /** The session the shim's connection will belong to. */
  launchId: number;
}

/** Client -> server request: a debug socket address and a fresh token for one launch. */
export namespace PrepareLaunchRequest {
  export const method = 'reactorscope/prepareLaunch';
  export const type = new RequestType<{ label: string }, LaunchTicket, void>(method);
}

/**
 * The clauses a session's note can have: the app dropped callbacks; the telemetry server restarted and waits for
 * the app, or took it back; its run's recording could not be read back whole; the oldest history left the
 * timeline to keep within the server's budget.
 */
export type NoteKind = 'appDropped' | 'restartWaiting' | 'reconnected' | 'recordingUnread' | 'historyTrimmed';

/** One instrumented process, live or ended. */
export interface SessionInfo {
  id: number;
  label: string;
  pid: number | undefined;
  state: 'waiting' | 'live' | 'ended';
  reactor: string | undefined;
  twisted: string | undefined;
  exitCode: number | undefined;
  /** Why the connection ended abnormally (wrong token, protocol error...), if it did. */
  problem: string | undefined;
  eventsStored: number;
  /** Events the server dropped from this session's history to stay within its one memory budget (the statistics keep them). */
  droppedEvents: number;
  /** Events the app measured but could not send: no server to take them, or one too slow (its own count). */
  appDroppedEvents: number;
  /** What the user should know about the data: callbacks the app dropped, a reconnection and what it missed. */
  note: string | undefined;
  /** What the note is about, one kind per clause (its figures change while the kinds say whether it is news). */
  noteKinds: NoteKind[];
  /** Loop lag of the latest sample and the share of the latest window the reactor was busy. */
  lagMs: number | undefined;
  utilization: number | undefined;
  /** The session's rule for the app's code (protocol/userCode.ts); undefined from a shim that sent none. */
  userCode?: UserCodeDescription;
}

/** Client -> server request: every session of this server run. */
export namespace SessionsRequest {
  export const method = 'reactorscope/sessions';
  export const type = new RequestType0<SessionInfo[], void>(method);
}

/** A handler that held the reactor, with the lines where it was sampled blocking. */
export interface HotspotInfo {
  sessionId: number;
  file: string;
  line: number;
  name: string;
  count: number;
  totalMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  slow: boolean;
  /** Known from stall samples only: the app's function behind a library callback; count is the stalls it was in. */
  sampled: boolean;
  blockingLines: { file: string; line: number; name: string; samples: number; heldMs: number }[];
}

/** Client -> server request: hotspots of one session (or of all, newest first), sorted by time blocked. */
export namespace HotspotsRequest {
  export const method = 'reactorscope/hotspots';
  export const type = new RequestType<{ sessionId?: number }, HotspotInfo[], void>(method);
}

/** Server -> client notification: sessions or their data changed (at most every 150 ms). */
export namespace DidChangeTelemetryNotification {
  export const method = 'reactorscope/didChangeTelemetry';
  export const type = new NotificationType<{ sessions: number }>(method);
}

/** A launch of a previous server: its label, address and token, and the app's drop count that server last saw. */
export interface AdoptedLaunch {
  label: string;
  address: string;
  token: string;
  droppedBefore: number;
  /** The run's recording, to read its history back from (up to the moment of the request). */
  recording?: string;
}

/**
 * Client -> server request, after the server restarted: take over the launches the previous server prepared,
 * at their addresses and with their tokens, so the apps (still running) reconnect. All in one request: every
 * token is known before the server listens, so no app reconnecting early is refused. Answers the new session
 * ids, in order.
 */
export namespace AdoptLaunchesRequest {
  export const method = 'reactorscope/adoptLaunches';
  export const type = new RequestType<{ launches: AdoptedLaunch[] }, { launchIds: number[] }, void>(method);
}

/** Client -> server request: attach to a shim listening in attach mode (its address and token). */
export namespace AttachRequest {
  export const method = 'reactorscope/attach';
  export const type = new RequestType<{ address: string; token: string; label: string }, { sessionId: number }, void>(method);
}

/** Client -> server request: load a recording (`--record FILE`) as an ended session. */
export namespace OpenRecordingRequest {
  export const method = 'reactorscope/openRecording';
  /** `label` names the session (default: the file's name), as when a run's own recording is read back. */
  export const type = new RequestType<{ path: string; label?: string }, { sessionId: number }, void>(method);
}

/** Client -> server request: forget every session that has ended; live ones stay. */
export namespace ClearRequest {
  export const method = 'reactorscope/clear';
  export const type = new RequestType0<{ cleared: number }, void>(method);
}

/** Client -> server notification: a launched process ended (its session may never have connected). */
export namespace LaunchEndedNotification {
  export const method = 'reactorscope/launchEnded';
  export const type = new NotificationType<{ launchId: number; exitCode: number | null; problem?: string }>(method);
}

/** A time range of one session for the timeline, at most `maxPoints` items per series. */
export interface TimelineParams {
  sessionId: number;
  /** Nanoseconds from the session's origin; omitted: the whole session. */
  startNs?: number;
  endNs?: number;
  /** Live follow: the last `spanNs` up to the session's latest data, instead of startNs and endNs. */
  spanNs?: number;
  maxPoints: number;
}

export type TimelineData = Jsonified<RangeData> & {
  sessionId: number;
  /** The latest time the session's data speaks of, ns from its origin: the end of "the whole session". */
  latestNs: number;
  /** The sites the callbacks name, by id. */
  sites: Record<number, { file: string; line: number; name: string }>;
  /** Wall-clock ns of the session's origin, to label the time axis. */
  originWallNs: number | undefined;
};

/** Client -> server request: a session's time range reduced to what a screen can show. */
export namespace TimelineRequest {
  export const method = 'reactorscope/timeline';
  export const type = new RequestType<TimelineParams, TimelineData | undefined, void>(method);
}

/** A source location. `line` is 1-based, as Python and the wire format count. */
export interface SourceLine {
  file: string;
  line: number;
  name: string;
}

/** One callback of the timeline: the handler it ran, and where it blocked if the watchdog sampled it. */
export interface CallbackSource {
  handler: SourceLine;
  blocking: SourceLine | undefined;
}

/**
 * Server -> client, inside a CodeLens: the client command a "Show in Timeline" lens runs, and its argument:
 * the handler, with the session its figures came from.
 */
export namespace ShowInTimelineCommand {
  export const command = 'reactorscope.showInTimeline';
  export type Argument = SourceLine & { sessionId: number };
}

/** Client -> server request: where one callback (its session, start and site) ran and blocked. */
export namespace CallbackSourceRequest {
  export const method = 'reactorscope/callbackSource';
  export const type = new RequestType<{ sessionId: number; startNs: number; site: number }, CallbackSource | undefined, void>(
    method,
  );
}
