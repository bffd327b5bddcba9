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
  <style nonce="${nonce}">
    body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); }
  </style>
</head>
<body>
  <main id="root" data-reactorscope-view="timeline"></main>
  <script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}
