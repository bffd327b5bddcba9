/** An exit status as people read it; free of `vscode`, so plain-Node tests run it. */
import * as os from 'node:os';

/** "exited 0", "exited 1", or for a shell's 128 + N, "killed by SIGKILL". */
export function describeExit(status: number): string {
  if (status > 128 && status < 128 + 65) {
    const name = Object.entries(os.constants.signals).find(([, number]) => number === status - 128)?.[0];
    if (name) return `killed by ${name}`;
  }
  return `exited ${status}`;
}
