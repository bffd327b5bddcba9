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
    const runner = mocha.run((failures) => {
      const resultsFile = process.env.REACTORSCOPE_TEST_RESULTS;
      const { passes, failures: failed, pending } = runner.stats ?? { passes: 0, failures, pending: 0 };
      if (resultsFile) writeFileSync(resultsFile, JSON.stringify({ passed: passes, failed, skipped: pending }));
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
  });
}
