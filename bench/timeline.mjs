// `node bench/timeline.mjs [--minutes N]`: the timeline panel following a synthetic live session of 50,000
// callbacks a second, in real time (10 minutes by default). The real webview bundle (dist/webview/main.js) runs
// in headless Chromium; its queries are answered by the real telemetry code (server/src/telemetry.ts) fed with
// frames shaped like the shim's. Prints, per minute: redraws, the panel's time per redraw (p50, p95, max), its JS
// heap after a collection, and the server's stored and dropped events; then last minute / first minute ratios.
// Figures only, no pass/fail. Needs the VS Code host's playwright-core (scripts/host/install.sh) and Chromium.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { browserBundle, loadBundled, random } from './lib.mjs';

const minutesArg = process.argv.indexOf('--minutes');
const MINUTES = minutesArg > 0 ? Number(process.argv[minutesArg + 1]) : 10;
const RATE = 50_000; // callbacks a second
const TICK_MS = 100; // the shim flushes every 50 ms; the server announces at most every 150 ms
const SITES = 300;

const hostDir = process.env.REACTORSCOPE_HOST_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'reactorscope/host-4.139.1');
const { chromium } = createRequire(join(hostDir, 'server/'))('playwright-core');

// The server's code, the panel's HTML and the webview, bundled as the extension bundles them.
const { Telemetry, timelineHtml } = await loadBundled({ Telemetry: 'server/src/telemetry', timelineHtml: 'extension/src/timeline/html' });
const mainJs = await browserBundle('webview/src/main.ts');

// -- the synthetic session: the real Telemetry, fed frames as the debug socket would ----------------------
const telemetry = new Telemetry({ slowThresholdMs: 50, historyMemoryMb: 256, socketKind: 'tcp' }, () => undefined);
const ticket = await telemetry.prepareLaunch('synthetic.py');
const connection = { id: 1, token: ticket.token, hello: { type: 'hello', pid: 4242, originWallNs: Date.now() * 1e6, metadata: {} } };
telemetry.onHello(connection);
telemetry.onFrame(connection, {
  type: 'sites',
  sites: Array.from({ length: SITES }, (_, i) => ({ id: i + 1, line: 10 + i, file: `/srv/app/handlers${i % 7}.py`, name: `handler_${i}` })),
});
const sessionId = ticket.launchId;
const next = random(7);
const origin = performance.now();
let cursorNs = 0;
let nextStallNs = 10e9;
let eventsSent = 0;

/** Callbacks one after another from the cursor up to `nowNs`: 50k a second, a 200 ms stall every 10 s. */
function feed(nowNs) {
  const count = Math.max(0, Math.round(((nowNs - cursorNs) / 1e9) * RATE));
  if (count === 0) return;
  const gap = (nowNs - cursorNs) / count;
  const start = new Float64Array(count);
  const duration = new Float64Array(count);
  const site = new Uint32Array(count);
  const kind = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const stall = cursorNs >= nextStallNs;
    const length = stall ? 200e6 : Math.min(gap * 0.9, 2_000 + Math.floor(-Math.log(1 - next()) * 12_000));
    if (stall) nextStallNs += 10e9;
    start[i] = Math.floor(cursorNs);
    duration[i] = Math.floor(length);
    site[i] = 1 + Math.floor(SITES * next() ** 3);
    kind[i] = 1 + Math.floor(next() * 4);
    cursorNs += Math.max(gap, length);
  }
  telemetry.onFrame(connection, { type: 'events', start, duration, site, kind });
  const t = Math.floor(nowNs);
  telemetry.onFrame(connection, {
    type: 'loop', start: t - TICK_MS * 1e6, end: t, iterations: count, busyNs: 0.6 * TICK_MS * 1e6, idleNs: 0.4 * TICK_MS * 1e6,
    lagTimes: Float64Array.of(t), lags: Float64Array.of(1e6 + next() * 4e6),
  });
  telemetry.onFrame(connection, { type: 'gauges', t, values: [[1, 40 + Math.floor(next() * 10)], [2, 12], [3, 1], [8, t / 2e9], [9, t / 1e10], [10, 80e6]] });
  eventsSent += count;
}

// -- the panel, in a real browser ---------------------------------------------------------------------------
const nonce = 'bench';
const html = timelineHtml({ cspSource: "'self'", scriptUri: '/main.js', nonce });
const http = createServer((request, response) => {
  if (request.url === '/main.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(mainJs);
  else response.writeHead(200, { 'content-type': 'text/html' }).end(html);
});
await new Promise((ok) => http.listen(0, '127.0.0.1', ok));

const browser = await chromium.launch({
  executablePath: process.env.REACTORSCOPE_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');

let sessionsMessage = () => ({ type: 'sessions', sessions: telemetry.sessionInfos(), slowThresholdMs: 50 });
const post = (message) => page.evaluate((m) => window.postMessage(m, '*'), message);
// The extension's part (extension/src/timeline/panel.ts): answer `ready` and `query` from the telemetry.
await page.exposeFunction('benchPost', async (message) => {
  if (message.type === 'ready') {
    await post({ type: 'serverStatus', status: { state: 'running', pid: process.pid } });
    await post(sessionsMessage());
  } else if (message.type === 'query') {
    const ranges = message.queries.map((q) => telemetry.timeline({ ...q, maxPoints: message.maxPoints })).filter(Boolean);
    await post({ type: 'ranges', requestId: message.requestId, ranges });
  }
});
await page.addInitScript(() => {
  window.acquireVsCodeApi = () => ({ postMessage: (m) => void window.benchPost(m), getState: () => undefined, setState: () => undefined });
});
await page.goto(`http://127.0.0.1:${http.address().port}/`);

async function summary() {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="summary"]');
    return { draws: Number(el?.dataset.draws ?? 0), drawMs: Number(el?.dataset.drawMs ?? 0), points: Number(el?.dataset.points ?? 0) };
  });
}
async function heapMb() {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1024 / 1024;
}
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
};

console.log(`Timeline panel following a live session: ${RATE} callbacks/s for ${MINUTES} min, real time, ${TICK_MS} ms ticks`);
console.log('minute  redraws  draw p50 ms  draw p95 ms  draw max ms  points  heap MB  events stored  dropped from history');
const rows = [];
let lastDraws = 0;
for (let minute = 1; minute <= MINUTES; minute++) {
  const drawTimes = [];
  let redraws = 0;
  let points = 0;
  const end = origin + minute * 60_000;
  while (performance.now() < end) {
    const tickEnd = performance.now() + TICK_MS;
    feed((performance.now() - origin) * 1e6);
    await post(sessionsMessage());
    const now = await summary();
    if (now.draws > lastDraws) {
      // The last redraw's time; more than one may have happened since the previous look: all are counted.
      drawTimes.push(now.drawMs);
      redraws += now.draws - lastDraws;
      points = now.points;
      lastDraws = now.draws;
    }
    const wait = tickEnd - performance.now();
    if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
  }
  const heap = await heapMb();
  const info = telemetry.sessionInfos().find((s) => s.id === sessionId);
  const row = { minute, redraws, p50: percentile(drawTimes, 0.5), p95: percentile(drawTimes, 0.95), max: Math.max(...drawTimes), points, heap, stored: info.eventsStored, dropped: info.droppedEvents };
  rows.push(row);
  console.log(
    `${String(minute).padStart(6)}  ${String(row.redraws).padStart(7)}  ${row.p50.toFixed(1).padStart(11)}  ${row.p95.toFixed(1).padStart(11)}  ${row.max.toFixed(1).padStart(11)}  ${String(points).padStart(6)}  ${row.heap.toFixed(1).padStart(7)}  ${String(row.stored).padStart(13)}  ${row.dropped}`,
  );
}
const first = rows[0];
const last = rows.at(-1);
console.log(`callbacks generated: ${eventsSent} (${(eventsSent / ((performance.now() - origin) / 1000)).toFixed(0)}/s)`);
console.log(`last minute / first minute: draw p50 ${(last.p50 / first.p50).toFixed(2)}, draw p95 ${(last.p95 / first.p95).toFixed(2)}, heap ${(last.heap / first.heap).toFixed(2)}`);

await browser.close();
http.close();
await telemetry.dispose();
