/**
 * Where the runs started from VS Code are recorded (`--record`): a folder in the extension's global storage
 * that only this user can enter, the newest RECORDINGS_KEPT files in it, each at most `recordingLimitMb`
 * (bounded by RECORDING_LIMIT_MAX_MB, package.json's maximum for the setting). Free of the `vscode` module, so
 * that plain-Node tests run it against the real shim (test/unit/recordings.test.ts).
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** Recordings kept in the recordings folder; older ones are deleted when a new run starts. */
export const RECORDINGS_KEPT = 20;

/**
 * A new recording's path in `folder`, after deleting all but the newest RECORDINGS_KEPT - 1 there. The folder
 * (and any parent made for it) is made 0700; one an older version made readable to others is made 0700 again,
 * and the recordings kept in it 0600 (the shim creates each new one 0600: runtime/reactorscope/transport.py).
 */
export function newRecording(folder: string, label: string): string {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  if ((statSync(folder).mode & 0o077) !== 0) chmodSync(folder, 0o700);
  const old = readdirSync(folder)
    .filter((name) => name.endsWith('.rsrec'))
    .map((name) => ({ path: path.join(folder, name), stat: statSync(path.join(folder, name)) }))
    .sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs);
  for (const { path: file } of old.slice(RECORDINGS_KEPT - 1)) rmSync(file, { force: true });
  for (const { path: file, stat } of old.slice(0, RECORDINGS_KEPT - 1)) if ((stat.mode & 0o077) !== 0) chmodSync(file, 0o600);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(folder, `${label.replace(/[^\w.-]+/g, '_')}-${stamp}.rsrec`);
}

/**
 * The most `reactorscope.recordingLimitMb` may ask for, per run: with RECORDINGS_KEPT runs kept, 20 GB of disk
 * at most, and a recording a restarted server reads back in seconds. package.json declares the same maximum.
 */
export const RECORDING_LIMIT_MAX_MB = 1024;

/**
 * The setting as the extension uses it: within 0..RECORDING_LIMIT_MAX_MB (VS Code only warns about a value out
 * of the manifest's range, it still hands it over), `fallback` (the manifest's default) when not a number.
 */
export function recordingLimitMb(value: unknown, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(Math.max(0, value), RECORDING_LIMIT_MAX_MB);
}
