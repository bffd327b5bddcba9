import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeServerStatus } from '../../protocol/serverStatus';

test('describes each server state', () => {
  assert.equal(describeServerStatus({ state: 'starting' }), 'Telemetry server starting');
  assert.equal(describeServerStatus({ state: 'running', pid: 42 }), 'Telemetry server running (pid 42)');
  assert.equal(describeServerStatus({ state: 'stopped' }), 'Telemetry server stopped');
  assert.equal(describeServerStatus({ state: 'stopped', reason: 'it crashed' }), 'Telemetry server stopped: it crashed');
});
