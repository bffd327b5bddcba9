/**
 * The Reactor Timeline webview. It renders what the extension sends (protocol/webview.ts) and keeps
 * only view state; it announces itself with `ready` so the extension knows when to send data.
 */
import type { ExtensionToWebview, WebviewToExtension } from '../../protocol/webview';
import { renderServerStatus } from './view';

interface VsCodeApi {
  postMessage(message: WebviewToExtension): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root');
if (!root) throw new Error('timeline: #root is missing from the panel HTML');

window.addEventListener('message', (event: MessageEvent<ExtensionToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'serverStatus':
      renderServerStatus(root, message.status);
      break;
  }
});
vscode.postMessage({ type: 'ready' });
