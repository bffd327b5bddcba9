import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activated, manifest, waitFor } from './helpers';

describe('activation', () => {
  it('activates on a Python workspace without being asked', async () => {
    assert.ok(vscode.workspace.workspaceFolders?.[0], 'the examples workspace is open');
    const pythonFiles = await vscode.workspace.findFiles('**/*.py', undefined, 1);
    assert.equal(pythonFiles.length, 1, 'the workspace holds Python files');
    // workspaceContains:**/*.py activates it; activated() waits for that before it asks for the API.
    await activated();
  });

  it('starts the telemetry server in a process of its own', async () => {
    const api = await activated();
    const status = await waitFor('the server to run', () => {
      const s = api.serverStatus();
      return s.state === 'running' ? s : undefined;
    });
    const info = await api.serverInfo();
    assert.equal(info.pid, status.pid);
    assert.notEqual(info.pid, process.pid, 'the server is not the extension host');
    assert.equal(info.version, manifest().version);
  });

  it('restarts the telemetry server on command', async () => {
    const api = await activated();
    const before = (await api.serverInfo()).pid;
    await vscode.commands.executeCommand('reactorscope.restartServer');
    const after = await api.serverInfo();
    assert.notEqual(after.pid, before, 'a new server process');
    assert.deepEqual(api.serverStatus(), { state: 'running', pid: after.pid });
  });
});
