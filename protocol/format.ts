/** Figures for people, one way everywhere: diagnostics, lenses, hovers, the tree, the status bar, the timeline. */

/** Milliseconds: "0.30 ms", "87.0 ms", "210 ms". */
export function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A count with thousands separators: "5,757". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The callbacks an app counted as dropped (its gauge 14, docs/protocol.md), "at least 5,757 callbacks": a lower
 * bound, since the app cannot know whether the server ever read what its kernel took (runtime/reactorscope/
 * inflight.py says what is counted).
 */
export function droppedAtLeast(n: number): string {
  return `at least ${formatCount(n)} callback${n === 1 ? '' : 's'}`;
}
