/** Which handler "Go to Slowest Handler" opens; free of `vscode`, so plain-Node tests run it. */
import type { HotspotInfo } from '../../protocol/lsp';

/** Installed packages and the standard library: `.../lib/pythonX.Y/...`, `site-packages`, `dist-packages`. */
const LIBRARY_PATH = /[\\/](?:lib[\\/]python\d+(?:\.\d+)?|site-packages|dist-packages)[\\/]/;

export function isLibraryFile(file: string): boolean {
  return LIBRARY_PATH.test(file);
}

/**
 * The handler that held the reactor longest in one call, over every session (newest first on ties). The
 * user's own code comes first: a twisted.web request is both Twisted's HTTP read and, inside it, the user's
 * render_GET, and the user wants the second.
 */
export function slowest(hotspots: HotspotInfo[]): HotspotInfo | undefined {
  const own = hotspots.filter((h) => !isLibraryFile(h.file));
  return (own.length ? own : hotspots).reduce<HotspotInfo | undefined>((best, h) => (!best || h.maxMs > best.maxMs ? h : best), undefined);
}
