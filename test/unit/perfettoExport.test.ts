/**
 * `python -m reactorscope export --format perfetto` (runtime/reactorscope/export/perfetto.py, which encodes the
 * protobuf by hand) decoded with Perfetto's own published schema: test/fixtures/perfetto/perfetto_trace.proto,
 * the merged trace protos of github.com/google/perfetto, loaded by protobufjs. The golden recording
 * (test/fixtures/hotspots/) is read here with protocol/wire.ts's decoder, and the trace must round-trip it:
 * one slice per event, nested as they ran, one instant per stall sample, the lanes and counters named.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import * as protobuf from 'protobufjs';
import { type Site, StreamDecoder } from '../../protocol/wire';
import { python, root } from './shimPeers';

const recording = join(root, 'test/fixtures/hotspots/recording.rsrec');
const schema = join(root, 'test/fixtures/perfetto/perfetto_trace.proto');

interface DecodedEvent {
  type?: string;
  trackUuid?: number;
  name?: string;
  categories?: string[];
  doubleCounterValue?: number;
  callstack?: { frames?: { functionName?: string; sourceFile?: string; lineNumber?: number }[] };
  callstackWeight?: number;
}
interface DecodedPacket {
  timestamp?: number;
  trustedPacketSequenceId?: number;
  trackEvent?: DecodedEvent;
  trackDescriptor?: { uuid?: number; parentUuid?: number; name?: string; counter?: object; process?: { pid?: number } };
}

function exportPerfetto(): DecodedPacket[] {
  const dir = mkdtempSync(join(tmpdir(), 'rs-perfetto-'));
  try {
    const out = join(dir, 'trace.perfetto');
    const result = spawnSync(python, ['-m', 'reactorscope', 'export', recording, '--format', 'perfetto', '-o', out], {
      cwd: join(root, 'runtime'),
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    const Trace = protobuf.loadSync(schema).lookupType('perfetto.protos.Trace');
    const message = Trace.decode(readFileSync(out));
    const trace = Trace.toObject(message, { longs: Number, enums: String }) as { packet?: DecodedPacket[] };
    return trace.packet ?? [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the recording holds, read with the TypeScript decoder: each event's label (as the export names it). */
function recorded(): { labels: string[]; samples: number; pid: number } {
  const sites = new Map<number, Site>();
  const labels: string[] = [];
  let samples = 0;
  let pid = 0;
  for (const frame of new StreamDecoder().feed(new Uint8Array(readFileSync(recording)))) {
    if (frame.type === 'hello') pid = frame.pid;
    else if (frame.type === 'sites') for (const site of frame.sites) sites.set(site.id, site);
    else if (frame.type === 'stall') samples += frame.samples.length;
    else if (frame.type === 'events') {
      for (const id of frame.site) {
        const site = sites.get(id);
        labels.push(site && id !== 0 ? `${site.name} ${basename(site.file)}:${site.line}` : '(unknown)');
      }
    }
  }
  return { labels: labels.sort(), samples, pid };
}

test('the Perfetto export decodes with the published trace schema and round-trips every event, nested as it ran', () => {
  const packets = exportPerfetto();
  const truth = recorded();
  const tracks = new Map<number, NonNullable<DecodedPacket['trackDescriptor']>>();
  for (const p of packets) if (p.trackDescriptor?.uuid !== undefined) tracks.set(p.trackDescriptor.uuid, p.trackDescriptor);
  const process = [...tracks.values()].find((t) => t.process);
  assert.equal(process?.process?.pid, truth.pid);
  const events = packets.filter((p) => p.trackEvent).map((p) => ({ ...p.trackEvent, t: p.timestamp ?? 0, seq: p.trustedPacketSequenceId }));
  assert.ok(events.every((e) => e.seq !== undefined && e.trackUuid !== undefined && tracks.has(e.trackUuid)), 'every event on a described track');

  const begins = events.filter((e) => e.type === 'TYPE_SLICE_BEGIN');
  assert.deepEqual(begins.map((e) => e.name ?? '').sort(), truth.labels);
  assert.equal(events.filter((e) => e.type === 'TYPE_SLICE_END').length, begins.length);

  // Replay each track: ends close the innermost open slice, time never goes back, and render_GET (a web request)
  // opens inside a slice of the I/O reads track.
  const open = new Map<number, { name: string; category: string }[]>();
  const last = new Map<number, number>();
  let renderParent: string | undefined;
  for (const e of events.filter((x) => x.type === 'TYPE_SLICE_BEGIN' || x.type === 'TYPE_SLICE_END')) {
    const stack = open.get(e.trackUuid!) ?? [];
    open.set(e.trackUuid!, stack);
    assert.ok(e.t >= (last.get(e.seq!) ?? 0), 'timestamps never go back on a sequence');
    last.set(e.seq!, e.t);
    if (e.type === 'TYPE_SLICE_END') assert.ok(stack.pop(), 'an end closes an open slice');
    else {
      if (e.name?.startsWith('Page.render_GET ')) renderParent = `${tracks.get(e.trackUuid!)?.name}/${stack.at(-1)?.category}`;
      stack.push({ name: e.name ?? '', category: e.categories?.[0] ?? '' });
    }
  }
  assert.ok([...open.values()].every((stack) => stack.length === 0), 'every slice ends');
  assert.equal(renderParent, 'I/O reads/I/O reads');

  const instants = events.filter((e) => e.type === 'TYPE_INSTANT');
  assert.equal(instants.length, truth.samples);
  assert.ok(instants.every((e) => (e.callstack?.frames?.length ?? 0) > 0 && e.callstackWeight !== undefined));
  const trackNames = new Set([...tracks.values()].map((t) => t.name));
  for (const lane of ['timers', 'I/O reads', 'I/O writes', 'thread calls', 'Deferreds', 'coroutines', 'web requests']) {
    assert.ok(trackNames.has(lane), lane);
  }
  const counterTracks = new Set([...tracks.values()].filter((t) => t.counter).map((t) => t.uuid));
  const lag = [...tracks.values()].find((t) => t.name === 'loop lag (ms)');
  assert.ok(lag?.counter && events.some((e) => e.type === 'TYPE_COUNTER' && e.trackUuid === lag.uuid));
  assert.ok(events.filter((e) => e.type === 'TYPE_COUNTER').every((e) => counterTracks.has(e.trackUuid) && e.doubleCounterValue !== undefined));
});
