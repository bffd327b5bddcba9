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
// No public repository URL yet: README's relative links (the screenshot) stay relative, and the image ships in
// the package (docs/images in .vscodeignore) so a local install shows it.
run(join(root, 'node_modules/.bin/vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out]);
console.log(out);
