/** extension/src/slowest.ts: Go to Slowest Handler prefers the user's code. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HotspotInfo } from '../../protocol/lsp';
import { slowest } from '../../extension/src/slowest';

function hotspot(file: string, name: string, maxMs: number): HotspotInfo {
  return { sessionId: 1, file, line: 1, name, count: 1, totalMs: maxMs, maxMs, p50Ms: maxMs, p95Ms: maxMs, p99Ms: maxMs, slow: true, sampled: false, blockingLines: [] };
}

test('the slowest handler in the user\'s code wins over a slower library one that ran it', () => {
  const http = hotspot('/venv/lib/python3.11/site-packages/twisted/web/http.py', 'HTTPChannel.dataReceived', 220);
  const render = hotspot('/app/site.py', 'Page.render_GET', 210);
  const tick = hotspot('/app/site.py', 'tick', 30);
  assert.equal(slowest([http, tick, render])?.name, 'Page.render_GET');
  assert.equal(slowest([http])?.name, 'HTTPChannel.dataReceived', 'only library code: still somewhere to go');
  assert.equal(slowest([]), undefined);
});

test('each session\'s rule says what is the user\'s code: a package named with --user-code counts', () => {
  const venv = '/venv/lib/python3.11/site-packages/';
  const http = hotspot(`${venv}twisted/web/http.py`, 'HTTPChannel.dataReceived', 220);
  const service = hotspot(`${venv}myservice/api.py`, 'Api.render_GET', 210);
  assert.equal(slowest([http, service])?.name, 'HTTPChannel.dataReceived', 'no rule: both are installed packages');
  const userCode = { include: [`${venv}myservice/`], globs: [], library: [venv] };
  assert.equal(slowest([http, service], [{ id: 1, userCode }])?.name, 'Api.render_GET');
});
