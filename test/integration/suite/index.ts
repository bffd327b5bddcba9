/**
 * Runs inside the real extension host: the Mocha suite in this folder. Writes the counts to the file named by
 * REACTORSCOPE_TEST_RESULTS (the host shares this machine's filesystem) for scripts/test.mjs to sum.
 */
import Mocha from 'mocha';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function run(): Promise<void> {
  // Only the tests whose title matches, while working on them: runTest.js's --grep sets it (empty: all of them).
  const grep = process.env.REACTORSCOPE_TEST_GREP;
  if (grep) console.log(`running only the tests whose title matches ${JSON.stringify(grep)}`);
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  for (const file of readdirSync(__dirname)) if (file.endsWith('.test.js')) mocha.addFile(join(__dirname, file));
  return new Promise((resolve, reject) => {
    const resultsFile = process.env.REACTORSCOPE_TEST_RESULTS;
    /** The counts so far, written after every test: a run stopped by the host's timeout still says what it did. */
    const write = (counts: { passed: number; failed: number; skipped: number }, finished: boolean): void => {
      if (resultsFile) writeFileSync(resultsFile, JSON.stringify({ ...counts, total: runner.total, finished }));
    };
    const soFar = (): { passed: number; failed: number; skipped: number } => {
      const stats = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      return { passed: stats.passes, failed: stats.failures, skipped: stats.pending };
    };
    const runner = mocha.run((failures) => {
      const { passed, failed: failedHooksAndTests, skipped } = runner.stats ? soFar() : { passed: 0, failed: failures, skipped: 0 };
      // A failing `before` hook skips its tests without failing them: every test that did not run counts as failed.
      const notRun = Math.max(0, runner.total - passed - skipped - failedHooksAndTests);
      if (notRun > 0) console.error(`${notRun} integration test(s) did not run (a hook before them failed): counted as failed`);
      const failed = failedHooksAndTests + notRun;
      write({ passed, failed, skipped }, true);
      if (failed > 0) reject(new Error(`${failed} integration test(s) failed or did not run`));
      else resolve();
    });
    runner.on('test end', () => write(soFar(), false));
  });
}
