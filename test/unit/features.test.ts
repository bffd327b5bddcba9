/** The LSP features derived from hotspots: diagnostics, CodeLens text, hover. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { HotspotInfo } from '../../protocol/lsp';
import { codeLenses, diagnosticsByUri, hover, lensTitle } from '../../server/src/features';
import { HOSTILE_NAMES, renderMarkdown, tagsOf, visibleText } from './markdown';

const file = '/srv/app/handlers.py';
const uri = pathToFileURL(file).href;

function hotspot(overrides: Partial<HotspotInfo>): HotspotInfo {
  return {
    sessionId: 1, file, line: 10, name: 'render_GET', count: 142, totalMs: 900, maxMs: 210, p50Ms: 0.3, p95Ms: 40, p99Ms: 87,
    slow: true, sampled: false, blockingLines: [{ file, line: 14, name: 'render_GET', samples: 30, heldMs: 150 }], ...overrides,
  };
}

test('a handler known from stall samples only says so instead of calls', () => {
  assert.equal(lensTitle(hotspot({ sampled: true, count: 3, p50Ms: 60, p99Ms: 61, maxMs: 61 })), 'sampled in 3 stalls · p50 60.0 ms · p99 61.0 ms · max 61.0 ms');
});

test('the lens reads like the issue asks', () => {
  assert.equal(lensTitle(hotspot({})), '142 calls · p50 0.30 ms · p99 87.0 ms · max 210 ms');
  assert.equal(lensTitle(hotspot({ count: 1, p50Ms: 201.4, p99Ms: 201.4, maxMs: 201.4 })), '1 call · p50 201 ms · p99 201 ms · max 201 ms');
});

test('a slow handler gets a warning, its blocking lines an information', () => {
  const diagnostics = diagnosticsByUri([hotspot({})], 50).get(uri) ?? [];
  assert.deepEqual(diagnostics.map((d) => [d.severity, d.range.start.line, d.code]), [[2, 9, 'slow-handler'], [3, 13, 'blocking-line']]);
  const message = diagnostics[0]?.message;
  assert.match(typeof message === 'string' ? message : (message?.value ?? ''), /^render_GET blocked the reactor: max 210 ms, p99 87.0 ms over 142 calls \(slow over 50.0 ms\)$/);
});

test('a handler that is not slow gets a lens but no diagnostic', () => {
  const fast = hotspot({ slow: false, name: 'fast' });
  assert.equal(diagnosticsByUri([fast], 50).size, 0);
  assert.deepEqual(codeLenses(uri, [fast]).map((lens) => lens.command?.title.replace(/^\d+ calls.*/, 'figures')), ['figures', 'Show in Timeline']);
});

test('"Show in Timeline" names the handler and the session its figures came from', () => {
  const [, show] = codeLenses(uri, [hotspot({ sessionId: 2 })]);
  assert.equal(show?.command?.command, 'reactorscope.showInTimeline');
  assert.deepEqual(show?.command?.arguments, [{ sessionId: 2, file, line: 10, name: 'render_GET' }]);
});

test('the newest session wins for the same handler', () => {
  const [lens] = codeLenses(uri, [hotspot({ sessionId: 2, count: 3 }), hotspot({ sessionId: 1, count: 142 })]);
  assert.match(lens?.command?.title ?? '', /^3 calls/);
});

test('hover shows the breakdown on the handler line only', () => {
  const text = (hover(uri, 9, [hotspot({})])?.contents as { value: string }).value;
  const html = renderMarkdown(text);
  assert.match(html, /<strong>render_GET<\/strong> on the reactor \(slow\)/);
  assert.match(text, /\| 142 \| 0.30 ms \| 40.0 ms \| 87.0 ms \| 210 ms \| 900 ms \|/);
  assert.match(visibleText(html), /line 14 \(render_GET\): about 150 ms/);
  assert.equal(hover(uri, 10, [hotspot({})]), undefined);
  assert.equal(hover('untitled:x', 9, [hotspot({})]), undefined);
});

test('names the app chose show in the hover as they are: no link, command link, image, HTML or emphasis', () => {
  for (const name of HOSTILE_NAMES) {
    const h = hotspot({ name, blockingLines: [{ file, line: 14, name, samples: 30, heldMs: 150 }] });
    const markdown = (hover(uri, 9, [h])?.contents as { value: string }).value;
    const html = renderMarkdown(markdown);
    const tags = [...tagsOf(html)].filter((tag) => !['p', 'strong', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li'].includes(tag));
    assert.deepEqual(tags, [], `${JSON.stringify(name)} made ${html}`);
    const shown = name.replace(/\n/g, ' ');
    const text = visibleText(html);
    assert.ok(text.includes(`${shown} on the reactor`), `${JSON.stringify(name)} shows as ${JSON.stringify(text)}`);
    assert.ok(text.includes(`line 14 (${shown}): about 150 ms`), `${JSON.stringify(name)} shows as ${JSON.stringify(text)}`);
  }
});
