import * as vscode from 'vscode';
import { splitArgs } from './args';
import type { LaunchSpec } from './run';

/** "Run...": a script of the workspace or a module (`python -m`), then its arguments. */
export async function askLaunchSpec(): Promise<LaunchSpec | undefined> {
  const scripts = await vscode.workspace.findFiles('**/*.{py,tac}', '{**/.venv/**,**/venv/**,**/node_modules/**,**/site-packages/**}', 500);
  type Item = vscode.QuickPickItem & { uri?: vscode.Uri };
  const moduleItem: Item = { label: '$(symbol-module) A module (python -m)...', description: 'e.g. twisted for twist' };
  const picked = await vscode.window.showQuickPick<Item>(
    [moduleItem, ...scripts.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }))],
    { title: 'Reactor Scope: run what?', placeHolder: 'A script, or a module' },
  );
  if (!picked) return undefined;
  let spec: LaunchSpec;
  if (picked.uri) {
    spec = { program: picked.uri.fsPath };
  } else {
    const module = await vscode.window.showInputBox({ title: 'Module to run as python -m', placeHolder: 'twisted' });
    if (!module) return undefined;
    spec = { module };
  }
  const args = await vscode.window.showInputBox({ title: 'Arguments', placeHolder: 'e.g. web --listen tcp:8080 (empty for none)' });
  if (args === undefined) return undefined;
  return { ...spec, args: splitArgs(args) };
}
