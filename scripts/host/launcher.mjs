// A VS Code "executable" built from code-server and headless Chromium, run on the host's Node 24 by
// scripts/host/code. It accepts the arguments @vscode/test-electron's runTests passes to a desktop VS Code
// (--extensionDevelopmentPath=, --extensionTestsPath=, a folder), so the standard runTests entry point
// works unchanged, and exits with the tests' exit code.
//
// Modes:
//   tests  (--extensionTestsPath given): load the extension under development, run its Mocha suite in the
//          real extension host, forward the host's console, exit 0/1 as the suite did.
//   serve  (no tests path): install --install-extension=<vsix> (or load --extensionDevelopmentPath), serve the
//          folder on 127.0.0.1 and print the URL; --check waits in a headless browser until the
//          extension's status bar item shows, saves --screenshot=<png>, and --exit-after-check stops there.
//
// While a browser runs, a loopback "browser probe" answers GET /webviews with the [data-testid] texts of
// every webview frame, so tests inside the extension host can read what a panel really rendered,
// GET /sidebar-tree the rows of the side bar's tree (GET /click-sidebar-row?index= clicks one), GET /editor-text
// the text of the editor area, GET /click and
// /press click or press keys in a webview,
// and GET /screenshot?name= saves a picture. It evaluates no code it receives. Its URL
// reaches the extension host as REACTORSCOPE_BROWSER_PROBE.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';

const hostDir = process.env.RS_HOST_DIR;
if (!hostDir) fail('RS_HOST_DIR is not set; start this through scripts/host/code');
const codeServerEntry = join(hostDir, 'server/node_modules/code-server/out/node/entry.js');
const { chromium } = createRequire(join(hostDir, 'server/'))('playwright-core');
const CHROMIUM = process.env.REACTORSCOPE_CHROMIUM ?? '/usr/bin/chromium';
// A backstop for a host that hangs: each test has its own timeout (Mocha's, test/integration/suite/index.ts).
const TIMEOUT_S = Number(process.env.REACTORSCOPE_HOST_TIMEOUT ?? 1200);
// Noise from code-server's extension gallery, which this offline machine cannot reach.
const NOISE = /ENOTFOUND|open-vsx|marketplace|Failed to load resource|getaddrinfo|^\[AgentHost\]|^\[ChatModelSelection\]/i;

function fail(message) {
  console.error(`vscode-host: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { folder: undefined, check: false, exitAfterCheck: false };
  for (const arg of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (!m) options.folder = resolve(arg);
    else if (m[1] === 'extensionDevelopmentPath') options.devPath = resolve(m[2]);
    else if (m[1] === 'extensionTestsPath') options.testsPath = resolve(m[2]);
    else if (m[1] === 'install-extension') options.vsix = resolve(m[2]);
    else if (m[1] === 'port') options.port = Number(m[2]);
    else if (m[1] === 'screenshot') options.screenshot = resolve(m[2]);
    else if (m[1] === 'check') options.check = true;
    else if (m[1] === 'exit-after-check') options.exitAfterCheck = options.check = true;
    // Anything else is a desktop-VS Code flag from runTests (--no-sandbox, --user-data-dir, ...): the host
    // keeps its own profile in a temporary folder instead.
  }
  return options;
}

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** A temporary profile so code-server writes nothing under $HOME and never prompts. */
function makeProfile(root) {
  const dirs = {
    data: join(root, 'data'),
    extensions: join(root, 'extensions'),
    xdg: join(root, 'xdg'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  mkdirSync(join(dirs.data, 'User'), { recursive: true });
  writeFileSync(
    join(dirs.data, 'User', 'settings.json'),
    JSON.stringify({
      'telemetry.telemetryLevel': 'off',
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'update.mode': 'none',
      'workbench.tips.enabled': false,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'chat.disableAIFeatures': true,
    }),
  );
  writeFileSync(join(root, 'config.yaml'), 'auth: none\ncert: false\n');
  return dirs;
}

function codeServerEnv(root) {
  return {
    ...process.env,
    XDG_DATA_HOME: join(root, 'xdg/data'),
    XDG_CONFIG_HOME: join(root, 'xdg/config'),
    XDG_CACHE_HOME: join(root, 'xdg/cache'),
  };
}

function installExtension(root, dirs, vsix) {
  const result = spawnSync(
    process.execPath,
    [codeServerEntry, '--config', join(root, 'config.yaml'), '--user-data-dir', dirs.data,
      '--extensions-dir', dirs.extensions, '--install-extension', vsix],
    { env: codeServerEnv(root), encoding: 'utf8' },
  );
  if (result.status !== 0) fail(`installing ${vsix} failed:\n${result.stdout}${result.stderr}`);
}

async function startCodeServer(root, dirs, port) {
  const child = spawn(
    process.execPath,
    [codeServerEntry, '--config', join(root, 'config.yaml'), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
      '--user-data-dir', dirs.data, '--extensions-dir', dirs.extensions, '--disable-telemetry',
      '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
      '--ignore-last-opened', '--vscode-option', 'enable-smoke-test-driver'],
    // Its own process group, so a lingering file-watcher child goes down with it.
    { env: codeServerEnv(root), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Kept for the failure message only: code-server's own log is noise when all goes well.
  let log = '';
  const keep = (chunk) => {
    log += chunk;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail(`code-server exited with ${child.exitCode} before it was ready:\n${log}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  fail(`code-server did not answer /healthz within 60 s:\n${log}`);
}

function stopProcessGroup(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Reads every webview frame's [data-testid] elements: fixed queries only, nothing received is evaluated. */
async function readWebviews(page) {
  const views = [];
  for (const frame of page.frames()) {
    try {
      const view = await frame.evaluate(() => {
        const root = document.querySelector('[data-reactorscope-view]');
        if (!root) return undefined;
        const testids = {};
        for (const el of document.querySelectorAll('[data-testid]')) {
          testids[el.getAttribute('data-testid')] = { text: el.textContent ?? '', data: { ...el.dataset } };
        }
        return { view: root.getAttribute('data-reactorscope-view'), testids };
      });
      if (view) views.push(view);
    } catch {
      // a frame that is navigating or detached: skip it this time
    }
  }
  return views;
}

/**
 * GET /screenshot?name=NAME saves the workbench as NAME.png in REACTORSCOPE_TEST_SCREENSHOTS, when that folder
 * is set (pictures for the docs, and for people checking what a test saw); the name is reduced to [\w-].
 */
async function screenshot(page, url) {
  const folder = process.env.REACTORSCOPE_TEST_SCREENSHOTS;
  if (!folder) return { saved: null };
  const name = (new URL(url, 'http://probe').searchParams.get('name') ?? 'screenshot').replace(/[^\w-]/g, '_');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name}.png`);
  await page.screenshot({ path });
  return { saved: path };
}

/**
 * GET /sidebar-tree: the rows of the tree in the side bar, as the user sees them (text and indent level).
 * A fixed query: nothing received is evaluated.
 */
function readSidebarTree(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.part.sidebar .monaco-list-row')].map((row) => ({
      text: (row.textContent ?? '').replace(/\s+/g, ' ').trim(),
      level: Number(row.getAttribute('aria-level') ?? 0),
    })),
  );
}

/**
 * GET /editor-text: the text the editor area shows now (the active editor group's, whitespace collapsed), as the
 * user reads it: a walkthrough's titles, say. A fixed query: nothing received is evaluated.
 */
function readEditorText(page) {
  return page.evaluate(() => {
    const group = document.querySelector('.part.editor .editor-group-container.active') ?? document.querySelector('.part.editor');
    return { text: (group?.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 50_000) };
  });
}

/** The frame holding a webview's `[data-testid=TESTID]` element, and that element's box on the page. */
async function webviewElement(page, testid) {
  for (const frame of page.frames()) {
    try {
      const locator = frame.locator(`[data-reactorscope-view] [data-testid="${testid}"]`).first();
      if ((await locator.count()) === 0) continue;
      const box = await locator.boundingBox();
      if (box) return { locator, box };
    } catch {
      // a frame that is navigating or detached
    }
  }
  throw new Error(`no webview element [data-testid="${testid}"]`);
}

const TESTID = /^[\w-]{1,64}$/;
const KEYS = new Set(['ArrowLeft', 'ArrowRight', '+', '-', 'Home', 'Enter', 'f', 'Tab']);

/**
 * GET /click?testid=ID&x=X&y=Y clicks with the mouse at (X, Y) CSS pixels inside that webview element (its
 * canvas, when it holds one); GET /press?testid=ID&key=KEY focuses it and presses KEY, one of a fixed few.
 * The test id must be a plain word: it is put in a fixed selector, and nothing received is evaluated.
 */
async function clickOrPress(page, url) {
  const query = new URL(url, 'http://probe').searchParams;
  const testid = query.get('testid') ?? '';
  if (!TESTID.test(testid)) throw new Error(`bad test id ${JSON.stringify(testid)}`);
  let { locator, box } = await webviewElement(page, testid);
  const canvas = locator.locator('canvas').first();
  if ((await canvas.count()) > 0) {
    locator = canvas;
    box = (await canvas.boundingBox()) ?? box;
  }
  if (url.startsWith('/press')) {
    const key = query.get('key') ?? '';
    if (!KEYS.has(key)) throw new Error(`key ${JSON.stringify(key)} is not one the probe presses`);
    await locator.focus();
    await locator.press(key);
    return { pressed: key };
  }
  const x = Number(query.get('x'));
  const y = Number(query.get('y'));
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error('x and y must be numbers');
  await page.mouse.move(box.x + x, box.y + y);
  await page.mouse.click(box.x + x, box.y + y);
  return { clicked: [box.x + x, box.y + y] };
}

/** GET /click-sidebar-row?index=N clicks the N-th row (0-based) of the side bar's tree, as /sidebar-tree lists them. */
async function clickSidebarRow(page, url) {
  const index = Number(new URL(url, 'http://probe').searchParams.get('index'));
  if (!Number.isInteger(index) || index < 0) throw new Error('index must be a row number');
  await page.locator('.part.sidebar .monaco-list-row').nth(index).click();
  return { clicked: index };
}

async function startBrowserProbe(page) {
  const server = createServer((request, response) => {
    const json = (promise) =>
      promise.then(
        (value) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value)),
        (error) => response.writeHead(500).end(String(error)),
      );
    if (request.method === 'GET' && request.url?.startsWith('/screenshot')) {
      json(screenshot(page, request.url));
      return;
    }
    if (request.method === 'GET' && (request.url?.startsWith('/click?') || request.url?.startsWith('/press?'))) {
      json(clickOrPress(page, request.url));
      return;
    }
    if (request.method === 'GET' && request.url?.startsWith('/click-sidebar-row?')) {
      json(clickSidebarRow(page, request.url));
      return;
    }
    if (request.method === 'GET' && request.url === '/sidebar-tree') {
      json(readSidebarTree(page));
      return;
    }
    if (request.method === 'GET' && request.url === '/editor-text') {
      json(readEditorText(page));
      return;
    }
    if (request.method !== 'GET' || request.url !== '/webviews') {
      response.writeHead(404).end();
      return;
    }
    readWebviews(page).then(
      (views) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(views)),
      (error) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/** The extension host's console reaches the page as ('%c LEVEL', 'color: …', fmt, ...args). */
async function forwardConsole(message) {
  let args;
  try {
    args = await Promise.all(message.args().map((a) => a.jsonValue()));
  } catch {
    args = [message.text()];
  }
  if (typeof args[0] === 'string' && args[0].startsWith('%c')) args = args.slice(2);
  const text = format(...args);
  if (NOISE.test(text)) return;
  if (message.type() === 'error') console.error(text);
  else console.log(text);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!options.folder) fail('no workspace folder given');
  if (!options.devPath && !options.vsix) fail('give --extensionDevelopmentPath= or --install-extension=');
  const testMode = Boolean(options.testsPath);

  const root = mkdtempSync(join(tmpdir(), 'reactorscope-host-'));
  const dirs = makeProfile(root);
  if (options.vsix) installExtension(root, dirs, options.vsix);
  const port = options.port ?? (await freePort());
  const codeServer = await startCodeServer(root, dirs, port);
  let browser;
  let probe;
  const cleanup = async () => {
    await browser?.close().catch(() => undefined);
    probe?.server.close();
    stopProcessGroup(codeServer);
    rmSync(root, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  const remote = (path) => `vscode-remote://127.0.0.1:${port}${path}`;
  const payload = [];
  if (options.devPath) payload.push(['extensionDevelopmentPath', remote(options.devPath)]);
  if (options.testsPath) payload.push(['extensionTestsPath', remote(options.testsPath)]);
  const base = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.folder)}`;
  const urlWith = (extra) => {
    const all = [...payload, ...extra];
    return all.length ? `${base}&payload=${encodeURIComponent(JSON.stringify(all))}` : base;
  };

  if (!testMode && !options.check) {
    console.log(`Reactor Scope demo: VS Code is serving ${options.folder} at ${urlWith([])}`);
    console.log('Open that URL in a browser on this machine. Press Ctrl+C to stop.');
    return;
  }

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  probe = await startBrowserProbe(page);
  const environment = { REACTORSCOPE_BROWSER_PROBE: probe.url };
  for (const [key, value] of Object.entries(process.env)) if (key.startsWith('REACTORSCOPE_TEST_')) environment[key] = value;
  const url = urlWith([['extensionEnvironment', JSON.stringify(environment)]]);

  if (testMode) {
    const exitCode = new Promise((ok) => {
      void page.exposeFunction('codeAutomationExit', (code) => ok(Number(code)));
      setTimeout(() => {
        console.error(`vscode-host: the tests did not finish within ${TIMEOUT_S} s`);
        ok(1);
      }, TIMEOUT_S * 1000).unref();
    });
    page.on('console', (message) => void forwardConsole(message));
    page.on('pageerror', (error) => console.error(`vscode-host: page error: ${error.message}`));
    await page.goto(url);
    const code = await exitCode;
    await cleanup();
    process.exit(code);
  }

  // serve + check: the extension is active, and its telemetry server runs, once its status bar item shows
  // the running icon (extension/src/statusBar.ts).
  await page.goto(url);
  const item = page.locator('.statusbar-item', { hasText: 'Reactor Scope' }).first();
  await item.locator('.codicon-pulse').waitFor({ timeout: 90_000 });
  if (options.screenshot) await page.screenshot({ path: options.screenshot });
  console.log(`Reactor Scope demo: extension active (status bar: "${(await item.innerText()).trim()}")`);
  if (options.screenshot) console.log(`Reactor Scope demo: screenshot saved to ${options.screenshot}`);
  if (options.exitAfterCheck) {
    await cleanup();
    process.exit(0);
  }
  await browser.close();
  browser = undefined;
  probe.server.close();
  probe = undefined;
  console.log(`Reactor Scope demo: VS Code is serving ${options.folder} at ${urlWith([])}`);
  console.log('Open that URL in a browser on this machine. Press Ctrl+C to stop.');
}

main().catch((error) => fail(error?.stack ?? String(error)));
