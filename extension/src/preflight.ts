import { execFile } from 'node:child_process';

/** What `python -m reactorscope info` says about an interpreter (runtime/reactorscope/cli.py). */
export interface InterpreterInfo {
  reactorscope: string;
  python: string;
  executable: string;
  twisted: string | null;
}

const checked = new Map<string, Promise<InterpreterInfo>>();

/**
 * Checks once per interpreter that it can run the shipped runtime and has Twisted, so a wrong interpreter
 * gets a sentence instead of a traceback. Rejects with that sentence.
 */
export function preflight(python: string, runtimeDir: string, from: string): Promise<InterpreterInfo> {
  let result = checked.get(python);
  if (!result) {
    result = new Promise<InterpreterInfo>((resolve, reject) => {
      execFile(python, ['-m', 'reactorscope', 'info'], { env: { ...process.env, PYTHONPATH: runtimeDir }, timeout: 20_000 }, (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`Python not found: "${python}" (from ${from}). Set reactorscope.pythonPath to a Python with Twisted.`));
          return;
        }
        let info: InterpreterInfo | undefined;
        try {
          info = JSON.parse(stdout) as InterpreterInfo;
        } catch {
          info = undefined;
        }
        if (error || !info) {
          const why = stderr.trim().split('\n').at(-1) || (error?.message ?? 'it printed no versions');
          reject(new Error(`"${python}" (from ${from}) cannot run Reactor Scope's runtime (Python 3.9 or newer is needed): ${why}`));
        } else if (!info.twisted) {
          reject(new Error(`Twisted is not installed for "${python}" (Python ${info.python}, from ${from}): pip install twisted, or set reactorscope.pythonPath.`));
        } else {
          resolve(info);
        }
      });
    });
    checked.set(python, result);
    // A failed check is not remembered: the user may install Twisted and try again.
    result.catch(() => checked.delete(python));
  }
  return result;
}
