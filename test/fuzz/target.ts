/**
 * The fuzz campaign's target (test/fuzz/campaign.ts forks it): the real telemetry server classes, in a process of
 * their own so that a crash shows as an exit and a hang as an unanswered message. `Telemetry` with its debug
 * socket takes what the campaign sends; recordings are opened through `Telemetry.openRecording` (the recording
 * reader); every probe asks each view the editor asks (sessions, hotspots, diagnostics, CodeLens, hover, the
 * timeline) over everything received so far, so that hostile data that decodes also has to survive being shown.
 *
 * Messages (IPC): `{ id, op: 'launch' }` -> a ticket (address and token of a new launch); `{ id, op: 'open',
 * path }` -> the new session's problem and note; `{ id, op: 'probe' }` -> figures (memory, frames taken,
 * connections closed by reason, the longest event-loop delay seen). Replies `{ id, ok, result }` or
 * `{ id, ok: false, error }`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Frame } from '../../protocol/wire';
import type { ShimConnection } from '../../server/src/debugSocket';
import { codeLenses, diagnosticsByUri, hover } from '../../server/src/features';
import { Telemetry } from '../../server/src/telemetry';

export type Ask = { op: 'launch' } | { op: 'open'; path: string } | { op: 'probe' };
export type Request = Ask & { id: number };

export interface Probe {
  rssBytes: number;
  heapBytes: number;
  sessions: number;
  framesTaken: number;
  hellos: number;
  /** Closed connections by reason, numbers folded so that reasons group. */
  closes: Record<string, number>;
  /** The longest the event loop was held between two turns since the last probe. */
  loopMaxMs: number;
}

class CountingTelemetry extends Telemetry {
  framesTaken = 0;
  hellos = 0;
  closes: Record<string, number> = {};

  override onHello(connection: ShimConnection): void {
    this.hellos++;
    super.onHello(connection);
  }

  override onFrame(connection: ShimConnection, frame: Frame): void {
    this.framesTaken++;
    super.onFrame(connection, frame);
  }

  override onClose(connection: ShimConnection, reason?: string): void {
    const key = (reason ?? 'clean end').replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 100);
    this.closes[key] = (this.closes[key] ?? 0) + 1;
    super.onClose(connection, reason);
  }
}

const historyMemoryMb = Number(process.env.FUZZ_HISTORY_MB ?? 64);
const telemetry = new CountingTelemetry({ slowThresholdMs: 50, historyMemoryMb, socketKind: 'tcp' }, () => undefined);
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

/** Every view the editor asks for, over all sessions: none may throw on what was accepted. */
function showEverything(): void {
  const hotspots = telemetry.hotspots();
  const byUri = diagnosticsByUri(hotspots, 50);
  const uris = new Set([...byUri.keys(), ...hotspots.slice(0, 50).map((h) => pathToFileURL(h.file || '/').toString())]);
  for (const uri of uris) {
    codeLenses(uri, hotspots);
    for (const h of hotspots.slice(0, 20)) hover(uri, Math.max(0, h.line - 1), hotspots);
  }
  for (const session of telemetry.sessionInfos()) {
    telemetry.hotspots(session.id);
    telemetry.timeline({ sessionId: session.id, maxPoints: 500 });
    telemetry.timeline({ sessionId: session.id, spanNs: 5e9, maxPoints: 200 });
    telemetry.timeline({ sessionId: session.id, startNs: -1e18, endNs: 1e18, maxPoints: 100 });
  }
}

async function answer(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'launch':
      return telemetry.prepareLaunch('fuzz');
    case 'open': {
      const id = await telemetry.openRecording(request.path);
      const info = telemetry.sessionInfos().find((s) => s.id === id);
      return { problem: info?.problem ?? null, note: info?.note ?? null, state: info?.state };
    }
    case 'probe': {
      showEverything();
      const memory = process.memoryUsage();
      const probe: Probe = {
        rssBytes: memory.rss,
        heapBytes: memory.heapUsed,
        sessions: telemetry.sessionInfos().length,
        framesTaken: telemetry.framesTaken,
        hellos: telemetry.hellos,
        closes: telemetry.closes,
        loopMaxMs: loop.max / 1e6,
      };
      loop.reset();
      return probe;
    }
  }
}

process.on('message', (request: Request) => {
  answer(request).then(
    (result) => process.send?.({ id: request.id, ok: true, result }),
    (error: unknown) => process.send?.({ id: request.id, ok: false, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.send?.({ id: 0, ok: true, result: 'ready' });
