/**
 * The telemetry hub: the debug sockets, one session (and one SessionStore) per instrumented process, and
 * the answers the LSP side needs. Each launch gets its own token; a connection proving it (the handshake of
 * protocol/handshake.ts) becomes that launch's session. A token dies with its session: once the app said
 * GOODBYE (live, or in the recording read back after a restart) or its process is known to have ended, no
 * connection can prove it again, so a finished run cannot be revived. Changes are announced at most every 150 ms.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { droppedAtLeast, formatCount } from '../../protocol/format';
import { descriptionOf } from '../../protocol/userCode';
import type { AdoptedLaunch, CallbackSource, HotspotInfo, LaunchTicket, NoteKind, ServerSettings, SessionInfo, TimelineData, TimelineParams } from '../../protocol/lsp';
import { jsonify } from '../../protocol/timeline';
import { type Frame, Gauge } from '../../protocol/wire';
import { attachToShim, DebugSocket, type DebugSocketHandler, sameToken, type ShimConnection, type SocketKind } from './debugSocket';
import { readRecordingFile } from './recordingReader';
import { HistoryBudget } from './store/historyBudget';
import { SessionStore } from './store/sessionStore';

// With the shim's 50 ms flush, a slow callback reaches the editor within about 200 ms.
const CHANGE_INTERVAL_MS = 150;
const NS_PER_MS = 1e6;
const BYTES_PER_MB = 1024 * 1024;

interface Session {
  id: number;
  label: string;
  token: string;
  /**
   * Whether a shim may still prove `token` on the listening sockets: a launch's until it ended for good. Never
   * for an attach (its one connection proves the token itself) or a recording.
   */
  acceptsToken: boolean;
  state: SessionInfo['state'];
  store: SessionStore;
  connection?: ShimConnection;
  problem?: string;
  reactor?: string;
  twisted?: string;
  lagMs?: number;
  utilization?: number;
  /** The process's exit status as its launcher saw it. */
  exitStatus?: number;
  /** The app's own count of events it could not send (its eventsDropped gauge). */
  appDropped: number;
  /**
   * Set for a launch taken over from a previous server: the app's drop count that the view already accounts
   * for, whether its history before the restart was restored from its recording, and why not all of it was.
   */
  adopted?: { droppedBefore: number; restored: boolean; recordingProblem?: string };
}

export class Telemetry implements DebugSocketHandler {
  private readonly sessions = new Map<number, Session>();
  private readonly byConnection = new Map<number, Session>();
  /** By kind (new launches) or by address (launches taken over from a previous server). */
  private readonly sockets = new Map<string, Promise<DebugSocket>>();
  private nextSessionId = 1;
  /** Ended sessions forgotten whole to keep within the budget. */
  forgotten = 0;
  private changeTimer: NodeJS.Timeout | undefined;
  /** historyMemoryMb, once for the server: every session's store shares it (store/historyBudget.ts). */
  private readonly budget: HistoryBudget;

  constructor(
    private settings: ServerSettings,
    /** Called (throttled) when sessions or their data changed. */
    private readonly onChange: (sessions: number) => void,
  ) {
    this.budget = new HistoryBudget(settings.historyMemoryMb * BYTES_PER_MB, () => this.forgetOldestEnded());
  }

  updateSettings(settings: ServerSettings): void {
    this.settings = settings;
    this.budget.setCap(settings.historyMemoryMb * BYTES_PER_MB);
    this.changed();
  }

  get slowThresholdNs(): number {
    return this.settings.slowThresholdMs * NS_PER_MS;
  }

  /** A socket address and a fresh token for one launch; the session waits for its shim. */
  async prepareLaunch(label: string): Promise<LaunchTicket> {
    const socket = await this.socket(this.settings.socketKind);
    const session = this.newSession(label, { acceptsToken: true });
    return { address: socket.address, token: session.token, launchId: session.id };
  }

  /**
   * Launches of the previous server, taken over after a restart: same addresses, same tokens, and their history
   * read back from each run's recording; the note says so, and what was dropped.
   */
  async adoptLaunches(launches: AdoptedLaunch[]): Promise<number[]> {
    // Every token and history first, then listen: an app reconnecting at once finds its token known, and
    // nothing it sends after that is already in the recording (it writes a flush there after sending it).
    // Each recording is read on its own: one that cannot be read (damaged, too big for memory, gone) says so in
    // its session's note, and every launch is still taken over.
    const ids: number[] = [];
    for (const { label, token, droppedBefore, recording } of launches) {
      const session = this.newSession(label, { token, acceptsToken: true });
      let restored = false;
      let recordingProblem: string | undefined;
      if (recording !== undefined && existsSync(recording)) {
        const read = await this.readRecording(session, recording);
        restored = read.frames > 0;
        // A live recording may end inside the flush being written (what decoded before it is history all the
        // same, and what the cut flush held the app also dropped on the socket, so the drop count covers it), or
        // be empty still (an app writes from its first flush): neither is a problem for a running app.
        if (read.end !== 'cut' && read.end !== 'empty') recordingProblem = read.problem;
      }
      // Its GOODBYE is in the recording: the run ended while no server listened, and its token with it.
      if (!session.acceptsToken) session.state = 'ended';
      // What the recording holds is not missed: only what the app dropped after the last flush read here.
      session.adopted = { droppedBefore: restored ? session.appDropped : droppedBefore, restored, recordingProblem };
      ids.push(session.id);
    }
    for (const address of new Set(launches.map((launch) => launch.address))) {
      await this.socket(address.startsWith('unix:') ? 'unix' : 'tcp', address);
    }
    return ids;
  }

  /** Attach mode: connect to a listening shim with its token; its stream becomes a new session. */
  attach(address: string, token: string, label: string): number {
    const session = this.newSession(label, { token, acceptsToken: false });
    const socket = attachToShim(address, token, this);
    let failure = 'the app closed the connection before sending its data';
    socket.on('error', (error) => (failure = error.message));
    socket.on('close', () => {
      if (session.state !== 'waiting') return;
      session.state = 'ended';
      session.problem = `could not attach to ${address}: ${failure}`;
      this.changed();
    });
    return session.id;
  }

  /**
   * A recording as an ended session. A damaged file keeps what decoded before the damage and says where it
   * stopped; source files missing on this machine are named, and the data still shows.
   */
  async openRecording(path: string, label = basename(path)): Promise<number> {
    const session = this.newSession(label, { acceptsToken: false });
    const problems: string[] = [];
    try {
      const read = await this.readRecording(session, path);
      if (read.problem) problems.push(read.problem);
      const missing = [...new Set(session.store.hotspots().map((h) => h.file))].filter((file) => file && !existsSync(file));
      if (missing.length) problems.push(`${missing.length} source file(s) are not on this machine, e.g. ${missing[0]}`);
    } finally {
      // Whatever happened, the session is over: never left waiting for a shim that will not come.
      session.state = 'ended';
      session.problem = problems.length ? problems.join('; ') : undefined;
      this.changed();
    }
    return session.id;
  }

  /** Reads a recording into a session, in chunks; says how it ended. Never throws. */
  private async readRecording(session: Session, path: string): ReturnType<typeof readRecordingFile> {
    try {
      return await readRecordingFile(path, (frame) => this.ingestInto(session, frame));
    } catch (error) {
      // Only a fault of ours gets here (the reader turns every file problem into its result): still one file's.
      return { end: 'unreadable', bytes: 0, frames: 0, problem: `could not read the recording (${error instanceof Error ? error.message : String(error)})` };
    }
  }

  /**
   * The extension saw a launched process end, with its status (a shell's: 128 + signal when killed). A session
   * still waiting for it will never connect; one without a GOODBYE (killed, or a twistd that kills itself with
   * the signal that stopped it) gets its exit status from here. Its token is dead from now on.
   */
  launchEnded(launchId: number, exitCode: number | null, problem?: string): void {
    const session = this.sessions.get(launchId);
    if (!session) return;
    session.acceptsToken = false;
    session.exitStatus = exitCode ?? undefined;
    this.changed();
    if (session.state !== 'waiting') return;
    session.state = 'ended';
    session.problem = problem ?? `the app exited with status ${exitCode ?? 'unknown'} before its reactor started`;
    this.changed();
  }

  /** Forgets every ended session. */
  clear(): number {
    let cleared = 0;
    for (const [id, session] of this.sessions) {
      if (session.state === 'ended') {
        this.forget(id, session);
        cleared++;
      }
    }
    this.changed();
    return cleared;
  }

  /**
   * With every session's history given up and the budget still over (the figures and stall stacks of very many
   * ended runs), the oldest ended session goes whole, as Clear would take it; true if there was one.
   */
  private forgetOldestEnded(): boolean {
    for (const [id, session] of this.sessions) {
      if (session.state !== 'ended') continue;
      this.forget(id, session);
      this.forgotten++;
      this.changed();
      return true;
    }
    return false;
  }

  private forget(id: number, session: Session): void {
    this.sessions.delete(id);
    for (const [connection, owner] of this.byConnection) if (owner === session) this.byConnection.delete(connection);
    session.store.dispose();
  }

  private newSession(label: string, { token = randomBytes(24).toString('base64url'), acceptsToken }: { token?: string; acceptsToken: boolean }): Session {
    const id = this.nextSessionId++;
    const session: Session = {
      id,
      label,
      token,
      acceptsToken,
      state: 'waiting',
      // An ended session's history goes first when the server's budget is full.
      store: new SessionStore({ budget: this.budget, ended: () => session.state === 'ended' }),
      appDropped: 0,
    };
    this.sessions.set(id, session);
    this.changed();
    return session;
  }

  /** The socket new launches of `kind` get, or the one at `address` (a predecessor's, taken over). */
  private socket(kind: SocketKind, address?: string): Promise<DebugSocket> {
    const key = address ?? kind;
    let socket = this.sockets.get(key);
    if (!socket) {
      socket = DebugSocket.listen(kind, () => this.acceptedTokens(), this, address);
      this.sockets.set(key, socket);
    }
    return socket;
  }

  /** The tokens a shim may prove on the listening sockets now, oldest launch first. */
  private acceptedTokens(): string[] {
    return [...this.sessions.values()].filter((s) => s.acceptsToken).map((s) => s.token);
  }

  private sessionForToken(token: string): Session | undefined {
    for (const session of this.sessions.values()) if (sameToken(session.token, token)) return session;
    return undefined;
  }

  // -- DebugSocketHandler --------------------------------------------------------------------------

  onHello(connection: ShimConnection): void {
    const hello = connection.hello;
    const session = connection.token !== undefined ? this.sessionForToken(connection.token) : undefined;
    if (!hello || !session) return;
    // Proved in the handshake, then the run ended before this HELLO (a race of milliseconds): not revived.
    if (session.state === 'ended' && !session.acceptsToken) return;
    session.connection = connection;
    session.state = 'live';
    session.problem = undefined;
    session.store.ingest(hello);
    this.byConnection.set(connection.id, session);
    this.changed();
  }

  onFrame(connection: ShimConnection, frame: Frame): void {
    const session = this.byConnection.get(connection.id);
    if (!session) return;
    this.ingestInto(session, frame);
    this.changed();
  }

  private ingestInto(session: Session, frame: Frame): void {
    session.store.ingest(frame);
    if (frame.type === 'goodbye') {
      session.acceptsToken = false; // the app ended: no connection may prove its token again
    } else if (frame.type === 'meta') {
      const { reactor, twisted } = frame.metadata;
      if (typeof reactor === 'string') session.reactor = reactor;
      if (typeof twisted === 'string') session.twisted = twisted;
    } else if (frame.type === 'gauges') {
      const dropped = frame.values.find(([id]) => id === Gauge.eventsDropped)?.[1];
      if (dropped !== undefined) session.appDropped = dropped;
    } else if (frame.type === 'loop') {
      const window = frame.busyNs + frame.idleNs;
      if (window > 0) session.utilization = frame.busyNs / window;
      const lastLag = frame.lags.at(-1);
      if (lastLag !== undefined) session.lagMs = lastLag / NS_PER_MS;
    }
  }

  onClose(connection: ShimConnection, reason?: string): void {
    const session = this.byConnection.get(connection.id);
    this.byConnection.delete(connection.id);
    if (!session || session.connection !== connection) return;
    session.state = 'ended';
    session.problem = reason;
    this.changed();
  }

  // -- answers -------------------------------------------------------------------------------------

  sessionInfos(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => {
      const summary = s.store.summary();
      const { note, kinds } = noteOf(s);
      return {
        id: s.id,
        label: s.label,
        pid: summary.pid,
        state: s.state,
        reactor: s.reactor,
        twisted: s.twisted,
        exitCode: summary.goodbye?.exitCode ?? s.exitStatus,
        problem: s.problem,
        eventsStored: summary.eventsStored,
        droppedEvents: summary.droppedEvents,
        appDroppedEvents: s.appDropped,
        note,
        noteKinds: kinds,
        lagMs: s.lagMs,
        utilization: s.utilization,
        userCode: descriptionOf(summary.metadata.userCode),
      };
    });
  }

  /** Hotspots of one session, or of every session, newest session first, each sorted by time blocked. */
  hotspots(sessionId?: number): HotspotInfo[] {
    const chosen = sessionId === undefined ? [...this.sessions.values()].reverse() : [this.sessions.get(sessionId)];
    const ms = (ns: number): number => ns / NS_PER_MS;
    const out: HotspotInfo[] = [];
    for (const session of chosen) {
      if (!session) continue;
      for (const h of session.store.hotspots()) {
        if (!h.file) continue;
        out.push({
          sessionId: session.id,
          file: h.file,
          line: h.line,
          name: h.name,
          count: h.count,
          totalMs: ms(h.totalNs),
          maxMs: ms(h.maxNs),
          p50Ms: ms(h.p50Ns),
          p95Ms: ms(h.p95Ns),
          p99Ms: ms(h.p99Ns),
          slow: Math.max(h.maxNs, h.p99Ns) > this.slowThresholdNs,
          sampled: h.sampled,
          blockingLines: h.blockingLines.map((b) => ({ file: b.file, line: b.line, name: b.name, samples: b.samples, heldMs: ms(b.heldNs) })),
        });
      }
    }
    return out;
  }

  /** A session's range for the timeline; the whole session when no range is given. */
  timeline({ sessionId, startNs, endNs, spanNs, maxPoints }: TimelineParams): TimelineData | undefined {
    const store = this.sessions.get(sessionId)?.store;
    if (!store) return undefined;
    const latestNs = store.latestNs;
    // Ranges are half-open: the end is just past the latest sample, so that sample shows. An empty or inverted
    // range (a session with no data yet) becomes the smallest valid one.
    const to = spanNs !== undefined ? latestNs + 1 : (endNs ?? latestNs + 1);
    const from = spanNs !== undefined ? Math.max(0, latestNs - spanNs) : (startNs ?? 0);
    const range = store.queryRange(from, Math.max(to, from + 1), Math.max(1, Math.min(maxPoints, 20_000)));
    const ids = new Set<number>();
    if (range.callbacks.type === 'events') range.callbacks.site.forEach((id) => ids.add(id));
    else for (const lane of range.callbacks.lanes) lane.maxSite.forEach((id) => ids.add(id));
    const sites: TimelineData['sites'] = {};
    for (const id of ids) {
      const site = store.site(id);
      if (site) sites[id] = { file: site.file, line: site.line, name: site.name };
    }
    return { ...jsonify(range), sessionId, latestNs, sites, originWallNs: store.summary().originWallNs };
  }

  /** Where one callback ran, and the line it was sampled blocking in most, if the watchdog sampled it. */
  callbackSource(sessionId: number, startNs: number, siteId: number): CallbackSource | undefined {
    const store = this.sessions.get(sessionId)?.store;
    const site = store?.site(siteId);
    if (!store || !site) return undefined;
    const blocking = store.blockingLineOf(startNs, siteId);
    return {
      handler: { file: site.file, line: site.line, name: site.name },
      blocking: blocking?.file ? { file: blocking.file, line: blocking.line, name: blocking.name } : undefined,
    };
  }

  private changed(): void {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.onChange(this.sessions.size);
    }, CHANGE_INTERVAL_MS);
  }

  async dispose(): Promise<void> {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    await Promise.all([...this.sockets.values()].map(async (socket) => (await socket).close()));
  }
}

/** What a session's user should know about its data, in one line (undefined when all is well), and its kinds. */
function noteOf(session: Session): { note: string | undefined; kinds: NoteKind[] } {
  const notes: string[] = [];
  const kinds: NoteKind[] = [];
  if (session.adopted) {
    const { restored, droppedBefore, recordingProblem } = session.adopted;
    // Why the history before the restart is not all here, and what the user can do about it.
    const recording = recordingProblem ? `; the run's recording could not be read back whole: ${recordingProblem}` : '';
    if (recordingProblem) kinds.push('recordingUnread');
    if (session.state === 'waiting') {
      return { note: `the telemetry server restarted: waiting for the app to reconnect${recording}`, kinds: ['restartWaiting', ...kinds] };
    }
    const missed = Math.max(0, session.appDropped - droppedBefore);
    const history = restored
      ? 'the history before it was read back from the run\'s recording'
      : recordingProblem
        ? 'the history before it is missing'
        : 'the history before it is in the run\'s recording';
    notes.push(`reconnected after the telemetry server restarted (${history}); ${droppedAtLeast(missed)} measured in between were dropped${recording}`);
    kinds.unshift('reconnected');
  } else if (session.appDropped > 0) {
    notes.push(`the app dropped ${droppedAtLeast(session.appDropped)} it measured: the telemetry server did not take them in time`);
    kinds.push('appDropped');
  }
  const trimmed = session.store.droppedEvents;
  if (trimmed > 0) {
    notes.push(`the oldest ${formatCount(trimmed)} callbacks left the timeline to keep all sessions within reactorscope.historyMemoryMb (the figures still count them)`);
    kinds.push('historyTrimmed');
  }
  return { note: notes.length ? notes.join('; ') : undefined, kinds };
}
