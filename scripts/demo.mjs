// `npm run demo`: installs what is missing, builds, and opens a real VS Code with the extension on examples/.
//   - a desktop `code` on PATH: `code --extensionDevelopmentPath=<repo> examples/`
//   - otherwise: packages the .vsix, installs it into code-server on 127.0.0.1, checks in headless Chromium
//     that the extension is active (screenshot in .demo/workbench.png), prints the URL and serves until
//     Ctrl+C. With CI=true or --exit it stops after the check. REACTORSCOPE_DEMO_PORT picks the port.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const examples = join(root, 'examples');
const exitAfterCheck = process.argv.includes('--exit') || process.env.CI === 'true';

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function desktopCode() {
  const result = spawnSync('code', ['--version'], { encoding: 'utf8' });
  return result.status === 0 && /^\d+\.\d+\.\d+/.test(result.stdout) ? result.stdout.split('\n')[0] : undefined;
}

run('bash', ['scripts/setup.sh']);
const desktop = desktopCode();
if (desktop) {
  run(process.execPath, ['scripts/build.mjs']);
  run('code', [`--extensionDevelopmentPath=${root}`, examples]);
  console.log(`Reactor Scope demo: opened VS Code ${desktop} on ${examples} with the extension under development.`);
  process.exit(0);
}

run(process.execPath, ['scripts/package.mjs']);
const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(join(root, '.demo'), { recursive: true });
const args = [
  `--install-extension=${join(root, 'dist-vsix', `${name}-${version}.vsix`)}`,
  exitAfterCheck ? '--exit-after-check' : '--check',
  `--screenshot=${join(root, '.demo', 'workbench.png')}`,
  examples,
];
if (process.env.REACTORSCOPE_DEMO_PORT) args.unshift(`--port=${process.env.REACTORSCOPE_DEMO_PORT}`);
console.log('Reactor Scope demo: no desktop `code` found; starting code-server with the packaged extension.');
run(join(root, 'scripts/host/code'), args);
