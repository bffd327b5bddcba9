/**
 * What any LSP editor gets from the telemetry: diagnostics on slow handlers and on the lines where they
 * blocked, CodeLens over each measured handler, and a hover with the breakdown. All derived from the
 * hotspots, newest session first: a handler measured in several sessions shows its latest figures. The app's
 * names go into the hover's Markdown through protocol/appText.ts.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type CodeLens,
  type Diagnostic,
  DiagnosticSeverity,
  type Hover,
  MarkupKind,
  type Range,
} from 'vscode-languageserver/node';
import { markdownText } from '../../protocol/appText';
import { formatMs } from '../../protocol/format';
import { type HotspotInfo, ShowInTimelineCommand } from '../../protocol/lsp';

export const DIAGNOSTIC_SOURCE = 'Reactor Scope';

function lineRange(line: number): Range {
  const zeroBased = Math.max(0, line - 1);
  return { start: { line: zeroBased, character: 0 }, end: { line: zeroBased, character: Number.MAX_SAFE_INTEGER } };
}

/** One line, as the CodeLens shows it: "142 calls · p50 0.30 ms · p99 87 ms · max 210 ms". */
export function lensTitle(h: HotspotInfo): string {
  const calls = h.sampled ? `sampled in ${h.count} stall${h.count === 1 ? '' : 's'}` : `${h.count} call${h.count === 1 ? '' : 's'}`;
  return `${calls} · p50 ${formatMs(h.p50Ms)} · p99 ${formatMs(h.p99Ms)} · max ${formatMs(h.maxMs)}`;
}

/** The newest figures per handler (file, line): hotspots arrive newest session first. */
export function latestPerHandler(hotspots: HotspotInfo[]): HotspotInfo[] {
  const seen = new Set<string>();
  return hotspots.filter((h) => {
    const key = `${h.file}:${h.line}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Diagnostics per file URI. */
export function diagnosticsByUri(hotspots: HotspotInfo[], thresholdMs: number): Map<string, Diagnostic[]> {
  const out = new Map<string, Diagnostic[]>();
  const add = (file: string, diagnostic: Diagnostic): void => {
    const uri = pathToFileURL(file).href;
    const list = out.get(uri) ?? [];
    list.push(diagnostic);
    out.set(uri, list);
  };
  for (const h of latestPerHandler(hotspots)) {
    if (!h.slow) continue;
    add(h.file, {
      range: lineRange(h.line),
      severity: DiagnosticSeverity.Warning,
      source: DIAGNOSTIC_SOURCE,
      code: 'slow-handler',
      message: `${h.name} blocked the reactor: max ${formatMs(h.maxMs)}, p99 ${formatMs(h.p99Ms)} over ${h.count} calls (slow over ${formatMs(thresholdMs)})`,
    });
    for (const b of h.blockingLines) {
      add(b.file, {
        range: lineRange(b.line),
        severity: DiagnosticSeverity.Information,
        source: DIAGNOSTIC_SOURCE,
        code: 'blocking-line',
        message: `The reactor was held here for about ${formatMs(b.heldMs)} (${b.samples} stack samples) in ${h.name}`,
      });
    }
  }
  return out;
}

function inDocument(uri: string, hotspots: HotspotInfo[]): HotspotInfo[] {
  let file: string;
  try {
    file = fileURLToPath(uri);
  } catch {
    return [];
  }
  return latestPerHandler(hotspots).filter((h) => h.file === file);
}

/** Over each measured handler: its figures, and "Show in Timeline", which highlights its calls in the panel. */
export function codeLenses(uri: string, hotspots: HotspotInfo[]): CodeLens[] {
  return inDocument(uri, hotspots).flatMap((h) => {
    const argument: ShowInTimelineCommand.Argument = { sessionId: h.sessionId, file: h.file, line: h.line, name: h.name };
    return [
      { range: lineRange(h.line), command: { title: lensTitle(h), command: '' } },
      { range: lineRange(h.line), command: { title: 'Show in Timeline', command: ShowInTimelineCommand.command, arguments: [argument] } },
    ];
  });
}

export function hover(uri: string, line: number, hotspots: HotspotInfo[]): Hover | undefined {
  const h = inDocument(uri, hotspots).find((candidate) => candidate.line - 1 === line);
  if (!h) return undefined;
  const rows = [
    `**${markdownText(h.name)}** on the reactor${h.slow ? ' (slow)' : ''}`,
    '',
    '| calls | p50 | p95 | p99 | max | total |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${h.count} | ${formatMs(h.p50Ms)} | ${formatMs(h.p95Ms)} | ${formatMs(h.p99Ms)} | ${formatMs(h.maxMs)} | ${formatMs(h.totalMs)} |`,
  ];
  if (h.blockingLines.length) {
    rows.push('', 'Blocked at:');
    for (const b of h.blockingLines.slice(0, 5)) rows.push(`- line ${b.line} (${markdownText(b.name)}): about ${formatMs(b.heldMs)}`);
  }
  return { contents: { kind: MarkupKind.Markdown, value: rows.join('\n') } };
}
