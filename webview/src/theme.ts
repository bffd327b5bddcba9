/**
 * Chart colours from VS Code's theme (its CSS variables on <html> and <body>), with fallbacks for a browser
 * outside VS Code (the benchmark page). Read again when the theme changes (VS Code swaps the body's class).
 */
export interface Theme {
  foreground: string;
  grid: string;
  background: string;
  focus: string;
  font: string;
  fontSize: number;
  /** Bars under the slow threshold, and at 1x, 4x, 10x it. */
  severity: { normal: string; levels: [string, string, string] };
  /** Line colours in order, for series of one chart. */
  series: string[];
}

function variable(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

export function readTheme(element: Element = document.body): Theme {
  const style = getComputedStyle(element);
  const v = (name: string, fallback: string): string => variable(style, `--vscode-${name}`, fallback);
  const blue = v('charts-blue', '#3794ff');
  const green = v('charts-green', '#89d185');
  const purple = v('charts-purple', '#b180d7');
  const yellow = v('charts-yellow', '#cca700');
  const orange = v('charts-orange', '#d18616');
  const red = v('charts-red', '#f14c4c');
  return {
    foreground: v('charts-foreground', v('foreground', '#cccccc')),
    grid: v('charts-lines', 'rgba(128, 128, 128, 0.3)'),
    background: v('editor-background', '#1e1e1e'),
    focus: v('focusBorder', '#007fd4'),
    font: v('font-family', 'sans-serif'),
    fontSize: Number.parseFloat(v('font-size', '13')) || 13,
    severity: { normal: blue, levels: [yellow, orange, red] },
    series: [blue, orange, green, purple, yellow, red],
  };
}

/** Calls `onChange` when VS Code switches theme. */
export function watchTheme(onChange: () => void): void {
  new MutationObserver(onChange).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
