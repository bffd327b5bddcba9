// `node test/viewers/speedscope.mjs [--shot FILE.png]`: the exports opened in speedscope's own offline build (the
// npm package `speedscope`, dist/release/index.html) in the headless Chromium the host tests use (playwright-core
// from the VS Code host folder, scripts/host/env.sh). The golden recording (test/fixtures/hotspots/) is exported
// with the real runtime as speedscope JSON and as Chrome trace JSON; each is loaded the way speedscope's own CLI
// loads a file (a script calling speedscope.loadFileFromBase64, passed as #localProfilePath=), and the frame
// names speedscope lists in its Sandwich view, over every profile it made, must be the frames the export
// holds: for both files the same set, the callbacks' frames; the speedscope file's stall samples profile lists
// every blocking line of test/fixtures/hotspots/expected.json. Exits 1 on a difference.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
// The host folder as scripts/host/env.sh (its one home) says.
const hostDir = process.env.RS_HOST_DIR ?? execFileSync('bash', ['-c', '. scripts/host/env.sh && printf %s "$RS_HOST_DIR"'], { cwd: root, encoding: 'utf8' });
const { chromium } = createRequire(join(hostDir, 'server/package.json'))('playwright-core');
const speedscopeHtml = join(root, 'node_modules/speedscope/dist/release/index.html');
const recording = join(root, 'test/fixtures/hotspots/recording.rsrec');
const shot = process.argv.includes('--shot') ? process.argv[process.argv.indexOf('--shot') + 1] : undefined;

const dir = mkdtempSync(join(tmpdir(), 'rs-speedscope-'));
// speedscope picks its importer by the name too: a name ending in .chrome.json means Chrome's CPU-profile format.
function exportAs(format) {
  const out = join(dir, format === 'speedscope' ? 'golden.speedscope.json' : 'golden-trace.json');
  execFileSync(join(root, '.venv/bin/python'), ['-m', 'reactorscope', 'export', recording, '--format', format, '-o', out], { cwd: join(root, 'runtime') });
  return out;
}

/** Opens one file in speedscope; returns the frame names its Sandwich view lists, profile by profile. */
async function framesShown(browser, file, screenshot) {
  const loader = join(dir, `${file.split('/').pop()}.js`);
  writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(file.split('/').pop())}, ${JSON.stringify(readFileSync(file).toString('base64'))})`);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`file://${speedscopeHtml}#localProfilePath=${loader}`);
  await page.getByText('Sandwich').waitFor({ timeout: 20_000 }).catch(async (error) => {
    await page.screenshot({ path: join(tmpdir(), 'rs-speedscope-failed.png') });
    throw new Error(`speedscope did not show ${file} (screenshot: ${join(tmpdir(), 'rs-speedscope-failed.png')}; ${errors.join('; ')}): ${error}`);
  });
  if (screenshot) await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: 1400, height: 230 } });
  await page.getByText('Sandwich').click();
  const byProfile = [];
  // The toolbar names the profile shown, with "(i/n)" when the file made several.
  const profileTitle = () => page.evaluate(() => document.body.innerText.split('\n').find((line) => /\(\d+\/\d+\)$/.test(line.trim())) ?? '');
  const count = Number((/\/(\d+)\)$/.exec((await profileTitle()).trim()) ?? [0, 1])[1]);
  for (let i = 0; i < count; i++) {
    await page.waitForTimeout(300);
    const title = (await profileTitle()).trim();
    // The Sandwich table's rows (total, self, symbol name): the symbol name is the last cell.
    const names = await page.$$eval('table tr', (rows) =>
      // (the profile selector's rows, index, name, weight, are titled with the profile's name: left out)
      rows.filter((r) => r.querySelectorAll('td').length >= 3 && r.getAttribute('title') !== r.children[1]?.textContent).map((r) => r.lastElementChild?.textContent?.trim() ?? '').filter(Boolean));
    byProfile.push({ title, names });
    await page.keyboard.press('n');
    await page.waitForTimeout(200);
  }
  await page.close();
  if (errors.length) throw new Error(`speedscope failed on ${file}: ${errors.join('; ')}`);
  return byProfile;
}

let failed = false;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage', '--allow-file-access-from-files'],
});
try {
  const speedscopeFile = exportAs('speedscope');
  const chromeFile = exportAs('chrome');
  const document = JSON.parse(readFileSync(speedscopeFile, 'utf8'));
  const callbackFrames = new Set(document.profiles[0].events.map((e) => document.shared.frames[e.frame].name));
  const shownS = await framesShown(browser, speedscopeFile, shot);
  const shownC = await framesShown(browser, chromeFile);
  const union = (profiles, pick) => new Set(profiles.filter(pick).flatMap((p) => p.names));
  const fromSpeedscope = union(shownS, (p) => !/stall samples/.test(p.title));
  const fromChrome = union(shownC, () => true);
  const report = (what, shown) => {
    const missing = [...callbackFrames].filter((n) => !shown.has(n));
    const extra = [...shown].filter((n) => !callbackFrames.has(n));
    console.log(`${what}: ${shown.size} frames shown, ${callbackFrames.size} expected; missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`);
    if (missing.length || extra.length) failed = true;
  };
  console.log('speedscope file profiles:', shownS.map((p) => `${p.title} (${p.names.length})`).join(', '));
  console.log('chrome file profiles:', shownC.map((p) => `${p.title} (${p.names.length})`).join(', '));
  report('speedscope export in speedscope', fromSpeedscope);
  report('chrome export in speedscope', fromChrome);
  // The stall samples profile lists every blocking line expected.json gives for the recording.
  const expected = JSON.parse(readFileSync(join(root, 'test/fixtures/hotspots/expected.json'), 'utf8'));
  const lines = new Set(expected.handlers.flatMap((h) => h.blockingLines.map((l) => `${l.name} ${l.file}:${l.line}`)));
  const sampled = union(shownS, (p) => /stall samples/.test(p.title));
  const missingLines = [...lines].filter((l) => !sampled.has(l));
  console.log(`stall samples in speedscope: ${lines.size} blocking lines expected, missing ${JSON.stringify(missingLines)}`);
  if (missingLines.length || lines.size === 0) failed = true;
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? 'FAIL' : 'ok');
process.exit(failed ? 1 : 0);
