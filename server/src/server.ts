/**
 * The Reactor Scope telemetry server: a language server in its own Node process, started by the
 * extension over IPC. Later it owns the debug socket, decodes and aggregates the shim's frames, and
 * answers the timeline's queries; the contract with the extension is protocol/lsp.ts.
 */
import { createConnection, ProposedFeatures, TextDocumentSyncKind } from 'vscode-languageserver/node';
import { ServerInfoRequest, type ServerInfo } from '../../protocol/lsp';

const connection = createConnection(ProposedFeatures.all);
const info: ServerInfo = { pid: process.pid, node: process.version, version: REACTORSCOPE_VERSION, startedAt: Date.now() };

connection.onInitialize(() => ({
  capabilities: { textDocumentSync: TextDocumentSyncKind.None },
  serverInfo: { name: 'Reactor Scope telemetry server', version: REACTORSCOPE_VERSION },
}));
connection.onRequest(ServerInfoRequest.type, () => info);
connection.listen();
