/** extension/src/exitStatus.ts */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeExit } from '../../extension/src/exitStatus';

test('exit statuses read as people say them', () => {
  assert.deepEqual([0, 1, 3, 130, 137, 143, 255].map(describeExit), [
    'exited 0', 'exited 1', 'exited 3', 'killed by SIGINT', 'killed by SIGKILL', 'killed by SIGTERM', 'exited 255',
  ]);
});
