// Colours and fonts come from VS Code's theme variables, so the panel follows the user's theme.
const STYLE = `
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family);
    font-size: var(--vscode-font-size); padding: 0 12px 12px; }
  header { display: flex; align-items: baseline; gap: 1em; }
  h1 { font-size: 1.2em; margin: 0.6em 0; }
  h2 { font-size: 0.95em; font-weight: normal; margin: 0.4em 0 0; opacity: 0.8; }
  header p, .summary { margin: 0.3em 0; opacity: 0.85; }
  .toolbar { display: flex; gap: 6px; flex-wrap: wrap; }
  button { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground);
    border: 1px solid var(--vscode-button-border, transparent); padding: 2px 10px; cursor: pointer; font: inherit; }
  button:hover { background: var(--vscode-button-secondaryHoverBackground); }
  button[aria-pressed="true"] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
  button:focus-visible, canvas:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
  fieldset { border: 1px solid var(--vscode-panel-border, rgba(128,128,128,0.35)); margin: 6px 0; padding: 2px 8px; }
  fieldset label { margin-right: 1.2em; }
  .canvas-holder { position: relative; height: 90px; }
  ol { margin: 0.3em 0; padding-left: 1.5em; }
  li button { background: none; color: var(--vscode-textLink-foreground); border: none; padding: 1px 0; text-align: left; }
  [hidden] { display: none !important; }
`;

/** The timeline panel's HTML: a strict CSP (`default-src 'none'`), and only the nonce'd bundle may run. */
export function timelineHtml(options: { cspSource: string; scriptUri: string; nonce: string }): string {
  const { cspSource, scriptUri, nonce } = options;
  const csp = [
    "default-src 'none'",
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>Reactor Timeline</title>
  <style nonce="${nonce}">${STYLE}</style>
</head>
<body>
  <main id="root" data-reactorscope-view="timeline"></main>
  <script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}
