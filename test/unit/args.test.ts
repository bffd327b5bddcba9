import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { splitArgs, userCodeArgs } from '../../extension/src/args';

test('arguments split on spaces, quotes group', () => {
  assert.deepEqual(splitArgs('web --listen tcp:8080'), ['web', '--listen', 'tcp:8080']);
  assert.deepEqual(splitArgs(`  -n "my app.tac" 'x y' `), ['-n', 'my app.tac', 'x y']);
  assert.deepEqual(splitArgs(''), []);
});

test('the userCode setting and a launch\'s userCode become --user-code options, each once', () => {
  assert.deepEqual(userCodeArgs([]), []);
  assert.deepEqual(userCodeArgs(['myservice', ' '], ['myservice', '*/vendored/*']), ['--user-code', 'myservice', '--user-code', '*/vendored/*']);
});
