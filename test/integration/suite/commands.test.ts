import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activated, editorText, EXTENSION_ID, manifest, screenshot, waitFor } from './helpers';

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

describe('walkthrough', () => {
  it('opens "Find the callback that blocks your reactor" on the Welcome page', async () => {
    await activated();
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#firstRun`, false);
    const tab = await waitFor('the Welcome page', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Welcome'));
    assert.ok(tab.isActive);
    // Ours, as the browser shows it: its title and every step's, from package.json.
    const walkthrough = manifest().contributes.walkthroughs?.find((w) => w.id === 'firstRun');
    assert.ok(walkthrough && walkthrough.steps.length > 0);
    const expected = [walkthrough.title, ...walkthrough.steps.map((step) => step.title)];
    const shown = await waitFor('the walkthrough and its steps on the page', async () => {
      const text = await editorText();
      return expected.every((title) => text.includes(title)) ? text : undefined;
    });
    assert.ok(shown.includes(walkthrough.title));
    await new Promise((resolve) => setTimeout(resolve, 3000)); // let the step's media paint
    await screenshot('walkthrough');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
