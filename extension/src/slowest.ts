/** Which handler "Go to Slowest Handler" opens; free of `vscode`, so plain-Node tests run it. */
import type { HotspotInfo, SessionInfo } from '../../protocol/lsp';
import { UserCode } from '../../protocol/userCode';

/**
 * The handler that held the reactor longest in one call, over every session (newest first on ties). The
 * user's own code comes first, by each session's rule for it (protocol/userCode.ts): a twisted.web request is
 * both Twisted's HTTP read and, inside it, the user's render_GET, and the user wants the second.
 */
export function slowest(hotspots: HotspotInfo[], sessions: readonly Pick<SessionInfo, 'id' | 'userCode'>[] = []): HotspotInfo | undefined {
  const rules = new Map(sessions.map((s) => [s.id, UserCode.fromDescription(s.userCode)]));
  const fallback = new UserCode();
  const own = hotspots.filter((h) => (rules.get(h.sessionId) ?? fallback).isUserFile(h.file));
  return (own.length ? own : hotspots).reduce<HotspotInfo | undefined>((best, h) => (!best || h.maxMs > best.maxMs ? h : best), undefined);
}
