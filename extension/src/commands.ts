import * as vscode from 'vscode';
import type { CommandId } from './ids';

export { Commands } from './ids';

export function registerCommand(context: vscode.ExtensionContext, id: CommandId, run: (...args: never[]) => unknown): void {
  context.subscriptions.push(vscode.commands.registerCommand(id, run));
}
