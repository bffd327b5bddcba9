/**
 * Markdown as VS Code shows it, for the tests of text the app chose (protocol/appText.ts): rendered with marked
 * (the renderer VS Code's hovers use, GitHub-flavoured), then read back as the tags it made and the text a reader
 * sees. And the names a hostile app could give its functions and files.
 */
import { marked } from 'marked';

export function renderMarkdown(markdown: string): string {
  return marked.parse(markdown, { gfm: true, async: false });
}

/** The names of the HTML elements in `html`, once each. */
export function tagsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => m[1].toLowerCase()));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** What a reader sees: the text between the tags, entities decoded. */
export function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[\da-f]+|#\d+|\w+);/gi, (entity, name: string) =>
      name.startsWith('#x') || name.startsWith('#X')
        ? String.fromCodePoint(parseInt(name.slice(2), 16))
        : name.startsWith('#')
          ? String.fromCodePoint(Number(name.slice(1)))
          : (ENTITIES[name] ?? entity),
    );
}

/** Function and file names an app can choose (Python takes any string as a code object's name or file). */
export const HOSTILE_NAMES: readonly string[] = [
  'x](command:workbench.action.terminal.new)',
  '[run me](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%20-rf%20~%22%7D)',
  '![pixel](https://tracker.example/p.png)',
  '<img src=x onerror=alert(1)>',
  '<a href="command:workbench.action.openSettings">settings</a>',
  '*',
  '**bold** and _em_ and `code` and ~~gone~~',
  'https://evil.example/login',
  'www.evil.example',
  'someone@evil.example',
  '# heading',
  'line one\n- an item\n\n| a | b |\n|---|---|',
  '&lt;b&gt; &amp; &#x41;',
  '\\*not emphasis\\*',
  '$(zap) render_GET',
  '[ref]: https://evil.example',
  'a | table | cell',
];
