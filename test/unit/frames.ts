/** Frames built by hand for the unit tests, as the decoder would give them. */
import type { Frame } from '../../protocol/wire';

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
