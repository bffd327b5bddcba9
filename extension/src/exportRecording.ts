/**
 * *Reactor Scope: Export Recording...*: runs the runtime's exporter, `python -m reactorscope export REC --format F
 * -o FILE` (runtime/reactorscope/export/, whose FORMATS this list mirrors; docs/runtime.md, "Export"), with the
 * interpreter launches use and the shipped runtime on PYTHONPATH. One implementation of the formats, in Python;
 * this side only asks what to export where. Free of the `vscode` module so plain-Node tests run it for real.
 */
import { execFile } from 'node:child_process';

export interface ExportFormat {
  id: 'perfetto' | 'chrome' | 'speedscope';
  label: string;
  detail: string;
  /** The file name's ending the save dialog proposes. */
  extension: string;
}

export const EXPORT_FORMATS: readonly ExportFormat[] = [
  { id: 'perfetto', label: 'Perfetto', detail: 'protobuf trace: ui.perfetto.dev, trace_processor', extension: 'perfetto-trace' },
  { id: 'chrome', label: 'Chrome trace (JSON)', detail: 'Trace Event Format: Perfetto, chrome://tracing, speedscope', extension: 'json' },
  { id: 'speedscope', label: 'speedscope', detail: 'evented profile and stall samples: speedscope.app', extension: 'speedscope.json' },
];

/** What the exporter reports on stdout (runtime/reactorscope/cli.py, export_command). */
export interface ExportResult {
  output: string;
  format: string;
  slices: number;
  samples: number;
  counters?: number;
  damage?: string;
  truncatedBytes?: number;
}

export function exportArgs(recording: string, format: ExportFormat['id'], output: string): string[] {
  return ['-m', 'reactorscope', 'export', recording, '--format', format, '-o', output];
}

/** Runs the export; rejects with the exporter's own words (its stderr) when it fails. */
export function runExport(python: string, runtimeDir: string, recording: string, format: ExportFormat['id'], output: string): Promise<ExportResult> {
  return new Promise((resolve, reject) => {
    execFile(python, exportArgs(recording, format, output), { env: { ...process.env, PYTHONPATH: runtimeDir } }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        reject(new Error(code === 'ENOENT' ? `Python not found: "${python}"` : (stderr.trim() || error.message)));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as ExportResult);
      } catch {
        reject(new Error(`the exporter said something unexpected: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** What the user is told when it worked. */
export function exportSummary(result: ExportResult): string {
  const parts = [`${result.slices} callbacks`, `${result.samples} stall samples`];
  if (result.counters !== undefined) parts.push(`${result.counters} counter points`);
  const cut = result.damage ? ` The recording is damaged (${result.damage}); what came before is exported.` : '';
  return `Exported ${parts.join(', ')} to ${result.output}.${cut}`;
}
