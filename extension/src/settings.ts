import * as vscode from 'vscode';
import type { ServerSettings } from '../../protocol/lsp';
import { SETTINGS_SECTION, type Settings } from './ids';
import { recordingLimitMb } from './recordings';

/** The settings as typed values; defaults live in package.json, which VS Code applies. */
export function readSettings(scope?: vscode.Uri): Settings {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  return {
    pythonPath: config.get<string>('pythonPath', ''),
    slowThresholdMs: config.get<number>('slowThresholdMs', 50),
    sampleIntervalMs: config.get<number>('sampleIntervalMs', 5),
    historyMemoryMb: config.get<number>('historyMemoryMb', 256),
    socketKind: config.get<'tcp' | 'unix'>('socketKind', 'tcp'),
    recordingLimitMb: recordingLimitMb(config.get<unknown>('recordingLimitMb'), config.inspect<number>('recordingLimitMb')?.defaultValue ?? 0),
    userCode: config.get<string[]>('userCode', []).filter((spec) => typeof spec === 'string'),
  };
}

export function serverSettings(settings: Settings): ServerSettings {
  return { slowThresholdMs: settings.slowThresholdMs, historyMemoryMb: settings.historyMemoryMb, socketKind: settings.socketKind };
}
