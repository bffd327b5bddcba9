/** protocol/appText.ts: names an app chose, as VS Code renders them in Markdown and in notification messages. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownText, notificationText } from '../../protocol/appText';
import { HOSTILE_NAMES, renderMarkdown, tagsOf, visibleText } from './markdown';

/** How VS Code finds links in a notification message (src/vs/base/common/linkedText.ts). */
const VSCODE_NOTIFICATION_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;

for (const name of HOSTILE_NAMES) {
  test(`Markdown shows ${JSON.stringify(name)} as it is, and makes no element of it`, () => {
    const html = renderMarkdown(markdownText(name));
    assert.deepEqual([...tagsOf(html)], ['p'], html);
    assert.equal(visibleText(html).trim(), name.replace(/\n/g, ' ').trim());
  });

  test(`a notification shows ${JSON.stringify(name)} with no link in it`, () => {
    const message = `Reactor Scope: could not open ${notificationText(name)}: ENOENT`;
    assert.deepEqual([...message.matchAll(VSCODE_NOTIFICATION_LINK)].map((m) => m[0]), []);
    assert.equal(message.replace(/\u2060/g, ''), `Reactor Scope: could not open ${name.replace(/\n/g, ' ')}: ENOENT`);
  });
}

test('left as they are, most hostile names do not show as they are, and some make links (the tests above can fail)', () => {
  const altered = HOSTILE_NAMES.filter((name) => {
    const html = renderMarkdown(name);
    return [...tagsOf(html)].some((tag) => tag !== 'p') || visibleText(html).trim() !== name.replace(/\n/g, ' ').trim();
  });
  assert.ok(altered.length > HOSTILE_NAMES.length / 2, `${altered.length} of ${HOSTILE_NAMES.length}`);
  assert.ok(HOSTILE_NAMES.some((name) => tagsOf(renderMarkdown(name)).has('a')));
  assert.ok(HOSTILE_NAMES.some((name) => [...name.matchAll(VSCODE_NOTIFICATION_LINK)].length > 0));
});
