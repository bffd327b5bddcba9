/**
 * Entry point of the integration suite: @vscode/test-electron's runTests, with vscodeExecutablePath set to
 * the project's own VS Code (scripts/host/code: code-server + headless Chromium), so nothing is downloaded.
 * Usage: node dist-test/integration/runTest.js <results.json> [--grep PATTERN]
 * The filter comes from this command line only: a REACTORSCOPE_TEST_GREP left in the environment is overridden.
 */
import { runTests } from '@vscode/test-electron';
import { resolve } from 'node:path';

async function main(): Promise<void> {
  const root = resolve(__dirname, '../..');
  const [resultsFile, ...rest] = process.argv.slice(2);
  const at = rest.indexOf('--grep');
  const grep = at >= 0 ? rest[at + 1] : undefined;
  if (!resultsFile || (at >= 0 && !grep) || rest.length !== (at >= 0 ? 2 : 0)) throw new Error('usage: runTest.js <results.json> [--grep PATTERN]');
  await runTests({
    vscodeExecutablePath: resolve(root, 'scripts/host/code'),
    extensionDevelopmentPath: root,
    extensionTestsPath: resolve(__dirname, 'suite/index.js'),
    launchArgs: [resolve(root, 'examples')],
    extensionTestsEnv: {
      REACTORSCOPE_TEST_RESULTS: resolve(resultsFile),
      // Always set, so that a value inherited from the environment never filters the suite unasked.
      REACTORSCOPE_TEST_GREP: grep ?? '',
      // Pictures of what the tests saw, for people and for the docs (scripts/host/launcher.mjs).
      REACTORSCOPE_TEST_SCREENSHOTS: process.env.REACTORSCOPE_TEST_SCREENSHOTS ?? resolve(root, 'dist-test/screenshots'),
    },
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
