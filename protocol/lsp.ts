/**
 * The contract between the extension (LSP client) and the telemetry server (LSP server).
 * Each custom method is a `{ method, type }` namespace; its doc comment says which way it travels.
 * Both sides import this file and nothing else for their custom methods.
 */
import { RequestType0 } from 'vscode-languageserver-protocol';

/** What the telemetry server says about itself: it runs in its own Node process, off the extension host. */
export interface ServerInfo {
  /** The server's process id. */
  pid: number;
  /** The server's Node version, e.g. `v20.20.2`. */
  node: string;
  /** Reactor Scope version the server was built from. */
  version: string;
  /** When the server started, in milliseconds since the Unix epoch. */
  startedAt: number;
}

/** Client -> server request: who the telemetry server is. */
export namespace ServerInfoRequest {
  export const method = 'reactorscope/serverInfo';
  export const type = new RequestType0<ServerInfo, void>(method);
}
