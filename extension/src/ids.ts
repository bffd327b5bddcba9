/**
 * Command ids and setting names, kept free of the `vscode` module so plain-Node tests can check them against
 * package.json. package.json declares exactly these; the unit and integration tests hold the two in step.
 */
export const Commands = {
  runCurrentFile: 'reactorscope.runCurrentFile',
  run: 'reactorscope.run',
  attach: 'reactorscope.attach',
  stop: 'reactorscope.stop',
  openRecording: 'reactorscope.openRecording',
  exportRecording: 'reactorscope.exportRecording',
  clear: 'reactorscope.clear',
  goToSlowestHandler: 'reactorscope.goToSlowestHandler',
  showTimeline: 'reactorscope.showTimeline',
  showInTimeline: 'reactorscope.showInTimeline',
  restartServer: 'reactorscope.restartServer',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** Settings under `reactorscope.`, with their types. */
export interface Settings {
  pythonPath: string;
  slowThresholdMs: number;
  sampleIntervalMs: number;
  historyMemoryMb: number;
  socketKind: 'tcp' | 'unix';
  recordingLimitMb: number;
  userCode: string[];
}

export const SETTINGS_SECTION = 'reactorscope';

/** Every setting the extension reads, to check against package.json (trace.server is vscode-languageclient's). */
export const SETTING_NAMES = [
  'pythonPath',
  'slowThresholdMs',
  'sampleIntervalMs',
  'historyMemoryMb',
  'socketKind',
  'recordingLimitMb',
  'userCode',
] as const satisfies readonly (keyof Settings)[];

/** Every view the extension provides. */
export const Views = {
  hotspots: 'reactorscope.hotspots',
} as const;
