// What the Node benchmarks share: the project's TypeScript bundled as the extension bundles it, and
// deterministic pseudo-random numbers so every run works on the same data.
import * as esbuild from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(fileURLToPath(import.meta.url), '../..');

/**
 * Bundles `exports` (`{ Name: 'path/from/root' }`) for Node with esbuild and loads the result.
 * REACTORSCOPE_VERSION is defined, as the build defines it. `from` is the folder the paths start from.
 */
export async function loadBundled(exports, from = root) {
  const outdir = mkdtempSync(join(tmpdir(), 'reactorscope-bench-'));
  try {
    const outfile = join(outdir, 'bundle.js');
    await esbuild.build({
      stdin: {
        contents: Object.entries(exports).map(([name, path]) => `export { ${name} } from './${path}';`).join('\n'),
        resolveDir: from,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'es2022',
      outfile,
      define: { REACTORSCOPE_VERSION: '"bench"' },
      logLevel: 'warning',
    });
    return createRequire(import.meta.url)(outfile);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** A browser bundle of `entry` (a path from the root), minified, as bytes. */
export async function browserBundle(entry) {
  const outdir = mkdtempSync(join(tmpdir(), 'reactorscope-bench-'));
  try {
    const outfile = join(outdir, 'bundle.js');
    await esbuild.build({ entryPoints: [join(root, entry)], bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outfile, minify: true, logLevel: 'warning' });
    return readFileSync(outfile);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
