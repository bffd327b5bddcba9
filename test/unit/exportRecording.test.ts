/**
 * The extension's side of *Export Recording...* (extension/src/exportRecording.ts) running the real runtime's
 * exporter (runtime/reactorscope/export/) on the golden recording, every format the command offers: the
 * exporter takes each id, writes the file, and says what it wrote; a missing recording is refused in the
 * exporter's own words.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXPORT_FORMATS, exportSummary, runExport } from '../../extension/src/exportRecording';
import { StreamDecoder } from '../../protocol/wire';
import { python, root } from './shimPeers';

const recording = join(root, 'test/fixtures/hotspots/recording.rsrec');
const runtimeDir = join(root, 'runtime');

function recordedEvents(): number {
  let n = 0;
  for (const frame of new StreamDecoder().feed(new Uint8Array(readFileSync(recording)))) if (frame.type === 'events') n += frame.site.length;
  return n;
}

test('every format the command offers exports the golden recording through the real runtime', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-export-'));
  try {
    const events = recordedEvents();
    for (const format of EXPORT_FORMATS) {
      const output = join(dir, `golden.${format.extension}`);
      const result = await runExport(python, runtimeDir, recording, format.id, output);
      assert.equal(result.format, format.id);
      assert.equal(result.slices, events, format.id);
      assert.ok(existsSync(output), output);
      if (format.id !== 'perfetto') assert.doesNotThrow(() => JSON.parse(readFileSync(output, 'utf8')), format.id);
      assert.match(exportSummary(result), new RegExp(`^Exported ${events} callbacks, ${result.samples} stall samples`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a recording that is not there is refused in the exporter\'s words', async () => {
  const missing = join(tmpdir(), `rs-no-such-${process.pid}.rsrec`);
  await assert.rejects(runExport(python, runtimeDir, missing, 'chrome', join(tmpdir(), 'unused.json')), /no such recording/);
});
