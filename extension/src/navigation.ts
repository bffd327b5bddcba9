import * as vscode from 'vscode';

/**
 * Opens `file` at a 1-based `line`, selecting the line: in the editor group that already has the file open, if
 * one has (revealed, not a second copy beside it), else in `viewColumn` (default: the active group). `avoid`: a
 * group not to use even so (the timeline's, which the file would cover).
 */
export async function openAt(file: string, line: number, viewColumn?: vscode.ViewColumn, avoid?: vscode.ViewColumn): Promise<vscode.TextEditor> {
  const uri = vscode.Uri.file(file);
  const position = new vscode.Position(Math.max(0, line - 1), 0);
  const holding = vscode.window.tabGroups.all.find(
    (group) => group.viewColumn !== avoid && group.tabs.some((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.fsPath === uri.fsPath),
  );
  return vscode.window.showTextDocument(uri, { selection: new vscode.Range(position, position), viewColumn: holding?.viewColumn ?? viewColumn });
}
