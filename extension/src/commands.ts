import * as vscode from 'vscode';
import type { CommandId } from './ids';

export { Commands } from './ids';

export function registerCommand(context: vscode.ExtensionContext, id: CommandId, run: () => unknown): void {
  context.subscriptions.push(vscode.commands.registerCommand(id, run));
}
