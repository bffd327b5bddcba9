import * as vscode from 'vscode';
import { readSettings } from './settings';

/** The part of the Python extension's API (ms-python.python) this extension reads. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(path: string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

/**
 * The interpreter that runs an app: the `reactorscope.pythonPath` setting, else the Python extension's active
 * environment when that extension is installed, else `python3` from PATH.
 */
export async function resolveInterpreter(resource?: vscode.Uri): Promise<{ path: string; from: string }> {
  const configured = readSettings(resource).pythonPath.trim();
  if (configured) return { path: configured, from: 'the reactorscope.pythonPath setting' };
  const python = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (python) {
    try {
      const api = python.isActive ? python.exports : await python.activate();
      const active = api.environments?.getActiveEnvironmentPath(resource);
      const resolved = active ? await api.environments?.resolveEnvironment(active.path) : undefined;
      const executable = resolved?.executable.uri?.fsPath;
      if (executable) return { path: executable, from: "the Python extension's active environment" };
    } catch {
      // fall through to python3: the Python extension is optional
    }
  }
  return { path: 'python3', from: 'PATH' };
}
