import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { timelineHtml } from '../../extension/src/timeline/html';

const html = timelineHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/dist/webview/main.js', nonce: 'N0nce' });
const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';

test('the CSP denies everything by default and lets only the nonce run scripts', () => {
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...v]) => [name, v]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'nonce-N0nce'"]);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
});

test('every script and style element carries the nonce', () => {
  const tags = html.match(/<(script|style)\b[^>]*>/g) ?? [];
  assert.equal(tags.length, 2);
  for (const tag of tags) assert.match(tag, /nonce="N0nce"/);
  assert.match(html, /<script nonce="N0nce" src="vscode-resource:\/dist\/webview\/main.js">/);
});
