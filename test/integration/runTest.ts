/**
 * Entry point of the integration suite: @vscode/test-electron's runTests, with vscodeExecutablePath set to
 * the project's own VS Code (scripts/host/code: code-server + headless Chromium), so nothing is downloaded.
 * Usage: node dist-test/integration/runTest.js <results.json>
 */
import { runTests } from '@vscode/test-electron';
import { resolve } from 'node:path';

async function main(): Promise<void> {
  const root = resolve(__dirname, '../..');
  const resultsFile = process.argv[2];
  if (!resultsFile) throw new Error('usage: runTest.js <results.json>');
  await runTests({
    vscodeExecutablePath: resolve(root, 'scripts/host/code'),
    extensionDevelopmentPath: root,
    extensionTestsPath: resolve(__dirname, 'suite/index.js'),
    launchArgs: [resolve(root, 'examples')],
    extensionTestsEnv: {
      REACTORSCOPE_TEST_RESULTS: resolve(resultsFile),
      // Pictures of what the tests saw, for people and for the docs (scripts/host/launcher.mjs).
      REACTORSCOPE_TEST_SCREENSHOTS: process.env.REACTORSCOPE_TEST_SCREENSHOTS ?? resolve(root, 'dist-test/screenshots'),
    },
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
