/** protocol/userCode.ts against test/fixtures/usercode.json, the cases runtime/tests/test_usercode.py checks too. */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserCode } from '../../protocol/userCode';

interface Case {
  name: string;
  rule: unknown;
  files: Record<string, boolean>;
}
const { cases } = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/usercode.json'), 'utf8')) as { cases: Case[] };

for (const { name, rule, files } of cases) {
  test(`user code: ${name}`, () => {
    const userCode = UserCode.fromDescription(rule);
    const decided = Object.fromEntries(Object.keys(files).map((file) => [file, userCode.isUserFile(file)]));
    assert.deepEqual(decided, files);
  });
}

test('a session\'s metadata without userCode gets the fallback rule', () => {
  const rule = UserCode.ofMetadata({ reactor: 'EPollReactor' });
  assert.equal(rule.isUserFile('/venv/lib/python3.11/site-packages/twisted/web/http.py'), false);
  assert.equal(rule.isUserFile('/work/app/site.py'), true);
});
