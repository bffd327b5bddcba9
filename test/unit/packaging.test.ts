/** What the .vsix carries: the bundles and the Python runtime, never sources, tests or tooling. */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '../..');
// `vsce ls` applies the same .vscodeignore rules as `vsce package`, without writing a file.
const files = execFileSync(join(root, 'node_modules/.bin/vsce'), ['ls', '--no-dependencies'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .map((line) => line.trim())
  .filter(Boolean)
  .sort();

test('the package carries every bundle and the Python runtime', () => {
  for (const file of ['package.json', 'README.md', 'LICENSE', 'dist/extension.js', 'dist/server.js', 'dist/webview/main.js',
    'media/reactorscope.svg', 'runtime/pyproject.toml', 'runtime/reactorscope/__init__.py', 'runtime/reactorscope/__main__.py',
    'runtime/reactorscope/_bootstrap/sitecustomize.py']) {
    assert.ok(files.includes(file), `${file} is packaged (got ${files.join(', ')})`);
  }
});

test('the package leaves sources, tests and tooling out', () => {
  const unwanted = files.filter((f) =>
    /\.ts$|\.map$|^(extension|server|webview|protocol|test|scripts|examples|bench|node_modules)\/|^docs\/(?!images\/)|^runtime\/tests\/|__pycache__/.test(f));
  assert.deepEqual(unwanted, []);
});
