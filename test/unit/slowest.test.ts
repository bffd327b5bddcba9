/** extension/src/slowest.ts: Go to Slowest Handler prefers the user's code. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HotspotInfo } from '../../protocol/lsp';
import { isLibraryFile } from '../../protocol/libraryCode';
import { slowest } from '../../extension/src/slowest';

function hotspot(file: string, name: string, maxMs: number): HotspotInfo {
  return { sessionId: 1, file, line: 1, name, count: 1, totalMs: maxMs, maxMs, p50Ms: maxMs, p95Ms: maxMs, p99Ms: maxMs, slow: true, blockingLines: [] };
}

test('library files: the standard library, site-packages and dist-packages, in a venv or not', () => {
  assert.ok(isLibraryFile('/work/app/.venv/lib/python3.11/site-packages/twisted/web/http.py'));
  assert.ok(isLibraryFile('/usr/lib/python3/dist-packages/twisted/internet/base.py'));
  assert.ok(isLibraryFile('/usr/lib/python3.11/asyncio/events.py'));
  assert.ok(isLibraryFile('C:\\Python311\\Lib\\site-packages\\twisted\\web\\http.py'));
  assert.ok(!isLibraryFile('/work/app/site.py'));
  assert.ok(!isLibraryFile('/work/app/lib/handlers.py'));
});

test('the slowest handler in the user\'s code wins over a slower library one that ran it', () => {
  const http = hotspot('/venv/lib/python3.11/site-packages/twisted/web/http.py', 'HTTPChannel.dataReceived', 220);
  const render = hotspot('/app/site.py', 'Page.render_GET', 210);
  const tick = hotspot('/app/site.py', 'tick', 30);
  assert.equal(slowest([http, tick, render])?.name, 'Page.render_GET');
  assert.equal(slowest([http])?.name, 'HTTPChannel.dataReceived', 'only library code: still somewhere to go');
  assert.equal(slowest([]), undefined);
});
