/**
 * Command ids, kept free of the `vscode` module so plain-Node tests can check them against package.json.
 * package.json declares exactly this set; the unit and integration tests both hold the two in step.
 */
export const Commands = {
  showTimeline: 'reactorscope.showTimeline',
  restartServer: 'reactorscope.restartServer',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];
