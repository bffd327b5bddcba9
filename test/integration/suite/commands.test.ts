import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activated, manifest } from './helpers';

describe('commands', () => {
  it('registers exactly the commands package.json declares', async () => {
    await activated();
    const declared = manifest().contributes.commands.map((c) => c.command).sort();
    // VS Code itself registers `<view id>.focus`, `.open`... for each contributed view: not ours to declare.
    const views = Object.values(manifest().contributes.views ?? {}).flat().map((v) => `${v.id}.`);
    const registered = (await vscode.commands.getCommands(true))
      .filter((id) => id.startsWith('reactorscope.') && !views.some((view) => id.startsWith(view)))
      .sort();
    assert.ok(declared.length > 0);
    assert.deepEqual(registered, declared);
  });
});
