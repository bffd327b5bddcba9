import * as vscode from 'vscode';

/** Opens `file` at a 1-based `line`, selecting the line. */
export async function openAt(file: string, line: number, viewColumn?: vscode.ViewColumn): Promise<vscode.TextEditor> {
  const position = new vscode.Position(Math.max(0, line - 1), 0);
  return vscode.window.showTextDocument(vscode.Uri.file(file), { selection: new vscode.Range(position, position), viewColumn });
}
