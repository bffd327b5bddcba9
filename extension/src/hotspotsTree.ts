import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HotspotInfo, SessionInfo } from '../../protocol/lsp';
import { formatMs } from '../../protocol/format';
import { describeExit } from './exitStatus';
import { Views } from './ids';
import type { TelemetryModel } from './model';

type Node =
  | { type: 'session'; session: SessionInfo }
  | { type: 'handler'; hotspot: HotspotInfo }
  | { type: 'line'; hotspot: HotspotInfo; line: HotspotInfo['blockingLines'][number] };

function openCommand(file: string, line: number): vscode.Command {
  const position = new vscode.Position(Math.max(0, line - 1), 0);
  return { title: 'Open', command: 'vscode.open', arguments: [vscode.Uri.file(file), { selection: new vscode.Range(position, position) }] };
}

function sessionDescription(s: SessionInfo): string {
  const state = s.state === 'ended' ? (s.exitCode === undefined ? 'ended' : describeExit(s.exitCode)) : s.state;
  return [s.pid ? `pid ${s.pid}` : undefined, s.reactor, state, s.problem, s.note].filter(Boolean).join(' · ');
}

/** Sessions, then their handlers by time blocked, then the lines where each was sampled blocking. */
class HotspotsProvider implements vscode.TreeDataProvider<Node> {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly model: TelemetryModel) {}

  refresh(): void {
    this.emitter.fire();
  }

  getChildren(node?: Node): Node[] {
    if (!node) return [...this.model.sessions].reverse().filter((s) => s.state !== 'waiting').map((session) => ({ type: 'session', session }));
    if (node.type === 'session') {
      return this.model.hotspots.filter((h) => h.sessionId === node.session.id).map((hotspot) => ({ type: 'handler', hotspot }));
    }
    if (node.type === 'handler') return node.hotspot.blockingLines.map((line) => ({ type: 'line', hotspot: node.hotspot, line }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.type === 'session') {
      const item = new vscode.TreeItem(node.session.label, vscode.TreeItemCollapsibleState.Expanded);
      item.description = sessionDescription(node.session);
      item.iconPath = new vscode.ThemeIcon(node.session.state === 'live' ? 'pulse' : 'debug-stop');
      item.tooltip = [node.session.label, sessionDescription(node.session)].join('\n');
      item.contextValue = 'session';
      return item;
    }
    if (node.type === 'handler') {
      const h = node.hotspot;
      const state = h.blockingLines.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
      const item = new vscode.TreeItem(h.name, state);
      item.description = `${formatMs(h.totalMs)} blocked · max ${formatMs(h.maxMs)} · ${h.sampled ? `sampled in ${h.count} stalls` : `${h.count} calls`}`;
      item.tooltip = `${h.file}:${h.line}`;
      item.iconPath = new vscode.ThemeIcon(h.slow ? 'warning' : 'symbol-method');
      item.command = openCommand(h.file, h.line);
      item.contextValue = 'handler';
      return item;
    }
    const item = new vscode.TreeItem(`${path.basename(node.line.file)}:${node.line.line}`);
    item.description = `about ${formatMs(node.line.heldMs)} held · ${node.line.samples} samples`;
    item.tooltip = `${node.line.file}:${node.line.line} in ${node.line.name}`;
    item.iconPath = new vscode.ThemeIcon('debug-breakpoint-function');
    item.command = openCommand(node.line.file, node.line.line);
    return item;
  }
}

/** Registers the tree; returns an event for the handler the user selects in it (the timeline highlights it). */
export function registerHotspotsTree(context: vscode.ExtensionContext, model: TelemetryModel): vscode.Event<HotspotInfo> {
  const provider = new HotspotsProvider(model);
  const selected = new vscode.EventEmitter<HotspotInfo>();
  const tree = vscode.window.createTreeView(Views.hotspots, { treeDataProvider: provider, showCollapseAll: true });
  context.subscriptions.push(
    tree,
    selected,
    tree.onDidChangeSelection(({ selection }) => {
      const node = selection[0];
      if (node?.type === 'handler') selected.fire(node.hotspot);
    }),
    model.onDidChange(() => provider.refresh()),
  );
  return selected.event;
}
