// Bundles every entry point for its platform with esbuild:
//   extension  node/cjs, `vscode` external        -> dist/extension.js
//   server     node/cjs (the telemetry server)     -> dist/server.js
//   webview    browser/iife (the timeline panel)   -> dist/webview/main.js
//   tests      node/cjs, unit and integration      -> dist-test/
// `--watch` rebuilds on change and prints esbuild's problem-matcher lines for .vscode/tasks.json.
import * as esbuild from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const testEntries = (dir) =>
  readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const common = {
  define: { REACTORSCOPE_VERSION: JSON.stringify(version) },
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  target: 'es2022',
};
const node = { ...common, platform: 'node', format: 'cjs', external: ['vscode'] };

const builds = [
  { ...node, entryPoints: { extension: 'extension/src/extension.ts', server: 'server/src/server.ts' }, outdir: 'dist' },
  { ...common, platform: 'browser', format: 'iife', entryPoints: { main: 'webview/src/main.ts' }, outdir: 'dist/webview' },
  {
    ...node,
    entryPoints: [...testEntries('test/unit'), ...testEntries('test/integration'), ...testEntries('test/fuzz')],
    outbase: 'test',
    outdir: 'dist-test',
    // mocha is loaded from node_modules at run time: bundling it breaks its own dynamic requires.
    external: ['vscode', 'mocha', '@vscode/test-electron'],
  },
];

// esbuild's watch log does not say when a rebuild starts or ends, which the background problem matcher in
// .vscode/tasks.json needs; this plugin prints both, once for all entry points building together.
let building = 0;
const problemMatcherMarks = {
  name: 'problem-matcher-marks',
  setup(build) {
    build.onStart(() => {
      if (building++ === 0) console.log('[watch] build started');
    });
    build.onEnd((result) => {
      const report = (mark, messages) => {
        for (const { text, location } of messages) {
          console.error(`${mark} ${text}`);
          if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
        }
      };
      report('✘ [ERROR]', result.errors);
      report('▲ [WARNING]', result.warnings);
      if (--building === 0) console.log('[watch] build finished');
    });
  },
};

if (watch) {
  for (const options of builds) {
    const ctx = await esbuild.context({ ...options, logLevel: 'silent', plugins: [problemMatcherMarks] });
    await ctx.watch();
  }
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
