/**
 * extension/src/recordings.ts: the folder VS Code runs are recorded in is this user's alone, and so is every
 * recording in it, made by the real shim (umask 022, as most users have it); the recording limit is bounded.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newRecording, RECORDING_LIMIT_MAX_MB, recordingLimitMb } from '../../extension/src/recordings';

const root = join(__dirname, '../..');
const python = join(root, '.venv/bin/python');
const dir = mkdtempSync(join(tmpdir(), 'reactorscope-recordings-'));
let umask = 0;
before(() => (umask = process.umask(0o022)));
after(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;

/** Runs blocking_app.py under the real shim recording to `path`, as extension/src/run.ts starts a run. */
function recordRun(path: string): void {
  assert.ok(existsSync(python), `${python} is missing: run bash scripts/python-env.sh`);
  const run = spawnSync(python, ['-m', 'reactorscope', 'run', '--record', path, '--record-limit', '100', join(root, 'runtime/tests/apps/blocking_app.py')], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(readFileSync(path).subarray(0, 6).toString(), 'RSCOPE');
}

test('a new recordings folder is made 0700, and the real shim records into it 0600', () => {
  const storage = join(dir, 'globalStorage');
  const folder = join(storage, 'recordings');
  const path = newRecording(folder, 'blocking_app.py');
  assert.equal(mode(folder), 0o700);
  assert.equal(mode(storage), 0o700);
  recordRun(path);
  assert.equal(mode(path), 0o600);
});

test('a recordings folder an older version made 0755 is made 0700, and its recordings 0600', () => {
  const folder = join(dir, 'older', 'recordings');
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  chmodSync(folder, 0o755);
  const old = join(folder, 'app.py-2026-11-30T10-00-00-000Z.rsrec');
  writeFileSync(old, 'RSCOPE', { mode: 0o644 });
  newRecording(folder, 'app.py');
  assert.equal(mode(folder), 0o700);
  assert.equal(mode(old), 0o600);
});

test('the recording limit is bounded where it is read, and package.json declares the same maximum', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default: number; minimum?: number; maximum?: number }> } };
  };
  const declared = manifest.contributes.configuration.properties['reactorscope.recordingLimitMb'];
  assert.equal(declared?.maximum, RECORDING_LIMIT_MAX_MB);
  assert.equal(declared.minimum, 0);
  assert.equal(recordingLimitMb(RECORDING_LIMIT_MAX_MB * 10, declared.default), RECORDING_LIMIT_MAX_MB);
  assert.equal(recordingLimitMb(-5, declared.default), 0);
  assert.equal(recordingLimitMb(250, declared.default), 250);
  for (const nonsense of [Number.NaN, Number.POSITIVE_INFINITY, '300', null]) assert.equal(recordingLimitMb(nonsense, declared.default), declared.default);
});
