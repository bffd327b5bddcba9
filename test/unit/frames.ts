/** Frames built by hand for the unit tests, as the decoder would give them, and the golden recording's. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventKind, type Frame, StreamDecoder } from '../../protocol/wire';

/** One callback: when it started and how long it ran (ns from the origin), its site and its kind. */
export type Row = readonly [start: number, duration: number, site: number, kind: number];

export function eventsFrame(rows: readonly Row[]): Frame {
  return {
    type: 'events',
    start: Float64Array.from(rows, (r) => r[0]),
    duration: Float64Array.from(rows, (r) => r[1]),
    site: Uint32Array.from(rows, (r) => r[2]),
    kind: Uint8Array.from(rows, (r) => r[3]),
  };
}

export function sitesFrame(...sites: [id: number, line: number, file: string, name: string][]): Frame {
  return { type: 'sites', sites: sites.map(([id, line, file, name]) => ({ id, line, file, name })) };
}

/** The golden recording of test/fixtures/hotspots/ (a real run of its app under the shim), decoded. */
export function goldenRecording(): Frame[] {
  const bytes = new Uint8Array(readFileSync(join(__dirname, '../../test/fixtures/hotspots/recording.rsrec')));
  return new StreamDecoder().feed(bytes);
}

/**
 * `frames` EVENTS frames of `perFrame` timers each, 1 us apart from the end of `before`'s callbacks, at the sites
 * `before` names in turn: a long run of the same app, to fill a history.
 */
export function timersAfter(before: readonly Frame[], frames: number, perFrame: number): Frame[] {
  const sites = before.flatMap((frame) => (frame.type === 'sites' ? frame.sites.map((site) => site.id) : []));
  if (!sites.length) throw new Error('the frames name no site');
  let latest = 0;
  for (const frame of before) {
    if (frame.type === 'events') frame.start.forEach((start, i) => (latest = Math.max(latest, start + frame.duration[i])));
  }
  return Array.from({ length: frames }, (_, f) =>
    eventsFrame(Array.from({ length: perFrame }, (_, i): Row => {
      const n = f * perFrame + i;
      return [latest + (n + 1) * 1000, 500, sites[n % sites.length], EventKind.timer];
    })),
  );
}
