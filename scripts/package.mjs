// `npm run package`: a production build, then a .vsix with @vscode/vsce. The bundles hold every dependency
// (--no-dependencies), and .vscodeignore keeps only dist/ and the Python runtime, so a user needs no pip install.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, 'dist-vsix', `${name}-${version}.vsix`);

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(process.execPath, ['scripts/build.mjs', '--production']);
mkdirSync(join(root, 'dist-vsix'), { recursive: true });
run(join(root, 'node_modules/.bin/vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--out', out]);
console.log(out);
