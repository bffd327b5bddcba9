/** Which handler "Go to Slowest Handler" opens; free of `vscode`, so plain-Node tests run it. */
import { isLibraryFile } from '../../protocol/libraryCode';
import type { HotspotInfo } from '../../protocol/lsp';

/**
 * The handler that held the reactor longest in one call, over every session (newest first on ties). The
 * user's own code comes first: a twisted.web request is both Twisted's HTTP read and, inside it, the user's
 * render_GET, and the user wants the second.
 */
export function slowest(hotspots: HotspotInfo[]): HotspotInfo | undefined {
  const own = hotspots.filter((h) => !isLibraryFile(h.file));
  return (own.length ? own : hotspots).reduce<HotspotInfo | undefined>((best, h) => (!best || h.maxMs > best.maxMs ? h : best), undefined);
}
