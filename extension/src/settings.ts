import * as vscode from 'vscode';
import type { ServerSettings } from '../../protocol/lsp';
import { SETTINGS_SECTION, type Settings } from './ids';
import { recordingLimitMb } from './recordings';

/** The settings as typed values; defaults live in package.json only, which VS Code applies. */
export function readSettings(scope?: vscode.Uri): Settings {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  return {
    pythonPath: setting<string>(config, 'pythonPath'),
    slowThresholdMs: setting<number>(config, 'slowThresholdMs'),
    sampleIntervalMs: setting<number>(config, 'sampleIntervalMs'),
    historyMemoryMb: setting<number>(config, 'historyMemoryMb'),
    socketKind: setting<'tcp' | 'unix'>(config, 'socketKind'),
    recordingLimitMb: recordingLimitMb(config.get<unknown>('recordingLimitMb'), setting<number>(config, 'recordingLimitMb', 'default')),
    userCode: setting<string[]>(config, 'userCode').filter((spec) => typeof spec === 'string'),
  };
}

/** A setting's value (or its package.json default): every setting has one there, so none is written here. */
function setting<T>(config: vscode.WorkspaceConfiguration, key: string, which: 'value' | 'default' = 'value'): T {
  const value = which === 'default' ? config.inspect<T>(key)?.defaultValue : config.get<T>(key);
  if (value === undefined) throw new Error(`reactorscope.${key} has no default in package.json`);
  return value;
}

export function serverSettings(settings: Settings): ServerSettings {
  return { slowThresholdMs: settings.slowThresholdMs, historyMemoryMb: settings.historyMemoryMb, socketKind: settings.socketKind };
}
