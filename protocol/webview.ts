/**
 * Messages between the extension and the timeline webview (webview/src/main.ts), unions keyed on `type`.
 * The extension owns the data; the webview keeps only view state.
 */
import type { ServerStatus } from './serverStatus';

/** Webview -> extension. The webview sends `ready` first, once its script has loaded. */
export type WebviewToExtension = { type: 'ready' };

/** Extension -> webview. */
export type ExtensionToWebview = { type: 'serverStatus'; status: ServerStatus };
