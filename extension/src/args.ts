/** Command-line helpers of the launcher, free of `vscode` so plain-Node tests run them. */

/** Splits a command line into arguments: whitespace separates, single or double quotes group. */
export function splitArgs(line: string): string[] {
  const args: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) args.push(match[1] ?? match[2] ?? match[3] ?? '');
  return args;
}

/**
 * `--user-code` options for the shim: the `reactorscope.userCode` setting's entries, then the launch
 * configuration's `userCode`, each once (packages or path globs that are the app's code; runtime/reactorscope/usercode.py).
 */
export function userCodeArgs(setting: readonly string[], launch: readonly string[] = []): string[] {
  const specs = [...new Set([...setting, ...launch].map((spec) => spec.trim()).filter(Boolean))];
  return specs.flatMap((spec) => ['--user-code', spec]);
}

/**
 * `--metrics` for the shim from a launch configuration's `metrics` (`tcp:127.0.0.1:PORT`, loopback only; the shim
 * checks the address: runtime/reactorscope/exposition.py). None when it is unset or blank.
 */
export function metricsArgs(address: string | undefined): string[] {
  const trimmed = address?.trim();
  return trimmed ? ['--metrics', trimmed] : [];
}
