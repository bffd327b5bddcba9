/**
 * Text the app chose (function and file names, argv, labels made from them) inside what VS Code renders as
 * markup, so that it shows as it is and never becomes a link, a command link, an image or HTML. An app can name a
 * function or a file anything (`compile(source, "[x](command:...)", "exec")`), and its names reach the editor
 * through the shim's SITES and HELLO frames. Every place that builds markup from them goes through here:
 *
 * - markdownText, for Markdown (the hover, server/src/features.ts);
 * - notificationText, for notification messages (vscode.window.show*Message), which VS Code scans for
 *   `[text](https://...)`, `(command:...)` and `(file:...)` links and makes them clickable.
 *
 * Plain-text places (diagnostic messages, CodeLens titles, tree items and their string tooltips, the timeline's
 * DOM text) need nothing. test/unit/appText.test.ts renders hostile names with marked, VS Code's Markdown renderer.
 */

/** Line breaks and other control characters: a name is one line, and a break could start a Markdown block. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;
/** Every ASCII punctuation character; CommonMark lets a backslash escape any of them, and makes it literal. */
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/g;

/** `text` as literal Markdown inline text: no emphasis, code, link, autolink, image, HTML, entity or table cell. */
export function markdownText(text: string): string {
  return text.replace(CONTROL, ' ').replace(ASCII_PUNCTUATION, (c) => `\\${c}`);
}

/** The word joiner (U+2060): invisible, and it breaks the `](` of a link so that no `[text](target)` in `text` matches. */
const JOINER = '\u2060';

/** `text` in a notification message, with no link VS Code would make clickable. */
export function notificationText(text: string): string {
  return text.replace(CONTROL, ' ').replace(/\]\(/g, `]${JOINER}(`);
}
