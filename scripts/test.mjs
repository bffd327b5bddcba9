// `npm test`: installs what is missing, then runs every suite and ends with one line
// `N passed, N failed` summing them all; exits non-zero on any failure.
//   checks        eslint, tsc --noEmit, ruff and mypy over the runtime, the esbuild bundle (one check each)
//   unit          TypeScript unit tests on node:test
//   fuzz          a million frames of random, mutated, cut and oversized input through the server's socket
//                 and its recording reader (test/fuzz/campaign.ts): no crash, no hang, bounded memory
//   python        pytest on the newest Twisted (.venv) and on Debian's Twisted 22.4 (/usr/bin/python3)
//   trial         Twisted's own trial modules bare and under the shim, on both (scripts/trial-compare.py):
//                 one pass per test with the same outcome, one failure per test whose outcome differs
//   integration   Mocha inside a real VS Code extension host (code-server + headless Chromium)
//   viewers       the exports opened in speedscope's offline build in headless Chromium (test/viewers/)
//   demo          `npm run demo`'s code-server path, stopping after its check that the extension is active
// `npm test -- unit python` runs only the named groups (setup and build still run); `--grep PATTERN` runs only
// the host tests whose title matches.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const resultsDir = join(root, 'dist-test', 'results');
// `--grep PATTERN` (integration only): the host tests whose title matches; the filter comes from here only.
const argv = process.argv.slice(2);
const grepAt = argv.indexOf('--grep');
const grep = grepAt >= 0 ? argv[grepAt + 1] : undefined;
const groups = grepAt >= 0 ? [...argv.slice(0, grepAt), ...argv.slice(grepAt + 2)] : argv;
const GROUPS = ['checks', 'unit', 'fuzz', 'python', 'trial', 'integration', 'viewers', 'demo'];
const unknown = groups.filter((group) => !GROUPS.includes(group));
if (unknown.length) {
  console.error(`unknown test group ${unknown.join(', ')}: the groups are ${GROUPS.join(', ')}`);
  console.log('\n0 passed, 1 failed');
  process.exit(2);
}
const wanted = (group) => groups.length === 0 || groups.includes(group);

const results = [];

function run(command, args, options = {}) {
  console.log(`\n$ ${[command, ...args].join(' ')}`);
  return spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
}

/** A check counts one pass or one failure. */
function check(name, command, args, options) {
  const ok = run(command, args, options).status === 0;
  results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0 });
  return ok;
}

/** A suite's counts come from its runner's report; a runner that failed without reporting counts one failure. */
function suite(name, command, args, readCounts, options) {
  const status = run(command, args, options).status;
  let counts;
  try {
    counts = readCounts();
  } catch (error) {
    console.error(`${name}: no report (${error.message})`);
  }
  if (!counts) counts = { passed: 0, failed: 1, skipped: 0 };
  if (status !== 0 && counts.failed === 0) counts.failed = 1;
  if (counts.passed + counts.failed === 0) {
    console.error(`${name}: ran no test`);
    counts.failed = 1;
  }
  results.push({ name, ...counts });
}

function tapCounts(file) {
  const tap = readFileSync(file, 'utf8');
  const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap)?.[1] ?? NaN);
  const counts = { passed: count('pass'), failed: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') };
  if (Object.values(counts).some(Number.isNaN)) throw new Error(`${file} has no TAP summary`);
  return counts;
}

function junitCounts(file) {
  const xml = readFileSync(file, 'utf8');
  const suiteTag = /<testsuite\b[^>]*>/.exec(xml)?.[0];
  if (!suiteTag) throw new Error(`${file} has no <testsuite>`);
  const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suiteTag)?.[1] ?? 0);
  const failed = attr('failures') + attr('errors');
  const skipped = attr('skipped');
  return { passed: attr('tests') - failed - skipped, failed, skipped };
}

/** The host suite's counts; a run that did not finish (the host's timeout) counts every test it did not reach as failed. */
function hostCounts(file) {
  const { passed, failed, skipped, total, finished } = jsonCounts(file);
  const unfinished = finished ? 0 : Math.max(0, total - passed - failed - skipped);
  if (unfinished) console.error(`integration: the host stopped before ${unfinished} test(s) ran: counted as failed`);
  return { passed, failed: failed + unfinished, skipped };
}

function jsonCounts(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const setup = run('bash', ['scripts/setup.sh']);
if (setup.status !== 0) {
  console.error('setup failed: see above');
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}

rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });
const eslint = join(root, 'node_modules/.bin/eslint');
const tsc = join(root, 'node_modules/.bin/tsc');

if (wanted('checks')) {
  check('eslint', eslint, ['.']);
  check('tsc --noEmit', tsc, ['--noEmit', '-p', '.']);
  // The runtime, as the TypeScript is: ruff (errors and likely bugs) and mypy, configured in runtime/pyproject.toml.
  const venvPython = join(root, '.venv/bin/python');
  check('ruff (runtime)', venvPython, ['-m', 'ruff', 'check', '.'], { cwd: join(root, 'runtime') });
  check('mypy (runtime)', venvPython, ['-m', 'mypy'], { cwd: join(root, 'runtime') });
}
const built = check('build', process.execPath, ['scripts/build.mjs']);

if (built && wanted('unit')) {
  const unitDir = join(root, 'dist-test/unit');
  const files = readdirSync(unitDir).filter((f) => f.endsWith('.test.js')).map((f) => join(unitDir, f));
  const tap = join(resultsDir, 'unit.tap');
  suite('unit', process.execPath,
    ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    () => tapCounts(tap));
}

if (built && wanted('fuzz')) {
  const json = join(resultsDir, 'fuzz.json');
  suite('fuzz campaign (a million frames)', process.execPath,
    ['--enable-source-maps', 'dist-test/fuzz/campaign.js', '--frames', '1000000', '--json', json], () => jsonCounts(json));
}

if (wanted('python')) {
  const pythons = [
    ['python (newest Twisted, .venv)', join(root, '.venv/bin/python'), 'newest'],
    ["python (Debian's Twisted, /usr/bin/python3)", '/usr/bin/python3', 'debian'],
  ];
  for (const [name, python, tag] of pythons) {
    const xml = join(resultsDir, `pytest-${tag}.xml`);
    // The run says which Twisted it means to test; runtime/tests/test_environment.py checks it is that one.
    suite(name, python, ['-m', 'pytest', `--junitxml=${xml}`], () => junitCounts(xml),
      { cwd: join(root, 'runtime'), env: { ...process.env, REACTORSCOPE_EXPECT_TWISTED: tag } });
  }
}

// The shim must be invisible to the app: Twisted's own trial suite, bare and under the shim, test by test.
if (wanted('trial')) {
  const pythons = [
    ['trial bare vs shim (newest Twisted, .venv)', join(root, '.venv/bin/python'), 'newest'],
    ["trial bare vs shim (Debian's Twisted, /usr/bin/python3)", '/usr/bin/python3', 'debian'],
  ];
  for (const [name, python, tag] of pythons) {
    const json = join(resultsDir, `trial-${tag}.json`);
    suite(name, python, ['scripts/trial-compare.py', '--python', python, '--json', json], () => jsonCounts(json));
  }
}

if (built && wanted('integration')) {
  const json = join(resultsDir, 'integration.json');
  suite('integration (VS Code host)', process.execPath, ['dist-test/integration/runTest.js', json, ...(grep ? ['--grep', grep] : [])], () =>
    existsSync(json) ? hostCounts(json) : undefined);
}

if (wanted('viewers')) check('viewers (speedscope and Chrome exports in speedscope, headless Chromium)', process.execPath, ['test/viewers/speedscope.mjs']);

// Last, because packaging makes a production build over dist/: the .vsix a user would install, installed
// into code-server and checked in a browser to activate (the path `npm run demo` takes without a desktop code).
if (wanted('demo')) check('demo (packaged .vsix activates in code-server)', process.execPath, ['scripts/demo.mjs', '--exit']);

console.log('\nSuites:');
for (const r of results) console.log(`  ${r.failed ? 'FAIL' : 'ok  '} ${r.name}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`);
const sum = (key) => results.reduce((n, r) => n + r[key], 0);
const skipped = sum('skipped');
console.log(`\n${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(sum('failed') > 0 ? 1 : 0);
