import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { metricsArgs, splitArgs, userCodeArgs } from '../../extension/src/args';

test('arguments split on spaces, quotes group', () => {
  assert.deepEqual(splitArgs('web --listen tcp:8080'), ['web', '--listen', 'tcp:8080']);
  assert.deepEqual(splitArgs(`  -n "my app.tac" 'x y' `), ['-n', 'my app.tac', 'x y']);
  assert.deepEqual(splitArgs(''), []);
});

test('the userCode setting and a launch\'s userCode become --user-code options, each once', () => {
  assert.deepEqual(userCodeArgs([]), []);
  assert.deepEqual(userCodeArgs(['myservice', ' '], ['myservice', '*/vendored/*']), ['--user-code', 'myservice', '--user-code', '*/vendored/*']);
});

test('a launch configuration\'s metrics becomes --metrics, and the manifest offers it', () => {
  assert.deepEqual(metricsArgs(undefined), []);
  assert.deepEqual(metricsArgs('  '), []);
  assert.deepEqual(metricsArgs(' tcp:127.0.0.1:9464 '), ['--metrics', 'tcp:127.0.0.1:9464']);
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { debuggers: { type: string; configurationAttributes: { launch: { properties: Record<string, unknown> } } }[] };
  };
  const debuggerEntry = manifest.contributes.debuggers.find((d) => d.type === 'reactorscope');
  assert.ok(debuggerEntry?.configurationAttributes.launch.properties.metrics);
});
