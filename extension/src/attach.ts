import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What a shim in attach mode (`--listen`) announces in its `<pid>.json` (runtime/reactorscope/transport.py). */
export interface ListeningApp {
  pid: number;
  address: string;
  token: string;
  argv: string[];
}

/** The folder shims announce themselves in; the twin of `discovery_dir()` in runtime/reactorscope/transport.py. */
export function discoveryDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR || os.tmpdir();
  return path.join(base, `reactorscope-${process.getuid?.() ?? 0}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Apps listening now; files of processes that are gone, or not this user's, are passed over. */
export function listeningApps(dir = discoveryDir()): ListeningApp[] {
  let names: string[];
  try {
    if (statSync(dir).uid !== process.getuid?.()) return [];
    names = readdirSync(dir).filter((name) => /^\d+\.json$/.test(name));
  } catch {
    return [];
  }
  const apps: ListeningApp[] = [];
  for (const name of names) {
    try {
      const app = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ListeningApp;
      if (typeof app.pid === 'number' && typeof app.address === 'string' && typeof app.token === 'string' && alive(app.pid)) {
        apps.push(app);
      }
    } catch {
      // a file being written, or not ours: skip it
    }
  }
  return apps.sort((a, b) => b.pid - a.pid);
}
