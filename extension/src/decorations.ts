import * as vscode from 'vscode';
import type { HotspotInfo } from '../../protocol/lsp';
import { SEVERITY_FACTORS, severityLevel } from '../../protocol/severity';
import type { TelemetryModel } from './model';
import { readSettings } from './settings';

function tints(rgb: string): vscode.TextEditorDecorationType[] {
  return SEVERITY_FACTORS.map((_, i) =>
    vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: `rgba(${rgb}, ${0.08 + 0.08 * i})`,
      overviewRulerColor: `rgba(${rgb}, ${0.5 + 0.25 * i})`,
      overviewRulerLane: vscode.OverviewRulerLane.Right,
      borderStyle: 'solid',
      borderColor: `rgba(${rgb}, ${0.5 + 0.25 * i})`,
      borderWidth: '0 0 0 3px',
    }),
  );
}


/** Tints slow handlers (orange) and the lines they blocked on (red), in every visible editor. */
export function registerDecorations(context: vscode.ExtensionContext, model: TelemetryModel): void {
  const handlerTints = tints('255, 140, 0');
  const lineTints = tints('240, 60, 60');
  const paint = (editor: vscode.TextEditor): void => {
    const file = editor.document.uri.fsPath;
    const threshold = readSettings(editor.document.uri).slowThresholdMs;
    const handlers: vscode.DecorationOptions[][] = SEVERITY_FACTORS.map(() => []);
    const lines: vscode.DecorationOptions[][] = SEVERITY_FACTORS.map(() => []);
    const seen = new Set<string>();
    const add = (bucket: vscode.DecorationOptions[][], line: number, ms: number, what: string): void => {
      const at = severityLevel(ms, threshold);
      if (at < 0 || seen.has(`${what}:${line}`)) return;
      seen.add(`${what}:${line}`);
      const range = editor.document.lineAt(Math.min(Math.max(0, line - 1), editor.document.lineCount - 1)).range;
      bucket[at]?.push({ range });
    };
    const inFile = (h: HotspotInfo): boolean => h.file === file;
    for (const h of model.hotspots) {
      if (inFile(h)) add(handlers, h.line, Math.max(h.maxMs, h.p99Ms), 'handler');
      for (const b of h.blockingLines) if (b.file === file) add(lines, b.line, b.heldMs, 'line');
    }
    // Only what changed: telemetry changes several times a second, and setting decorations re-renders the
    // editor each time (seen to keep a Reactor Timeline opened meanwhile from ever loading).
    const wanted = [...handlers, ...lines];
    const before = painted.get(editor) ?? [];
    const now = wanted.map((ranges) => ranges.map((d) => d.range.start.line).join(','));
    [...handlerTints, ...lineTints].forEach((type, i) => {
      if (before[i] !== now[i]) editor.setDecorations(type, wanted[i] ?? []);
    });
    painted.set(editor, now);
  };
  /** Per editor, the lines each tint was last set on. */
  const painted = new WeakMap<vscode.TextEditor, string[]>();
  const paintAll = (): void => vscode.window.visibleTextEditors.forEach(paint);
  context.subscriptions.push(
    ...handlerTints,
    ...lineTints,
    model.onDidChange(paintAll),
    vscode.window.onDidChangeVisibleTextEditors(paintAll),
  );
}
