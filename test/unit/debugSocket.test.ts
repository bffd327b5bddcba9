/** The server's debug socket against the real Python shim over real sockets, and against bad peers. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  attachToShim,
  DebugSocket,
  type DebugSocketHandler,
  onlyToken,
  parseTcpAddress,
  type ShimConnection,
} from '../../server/src/debugSocket';
import type { Frame } from '../../protocol/wire';

const root = join(__dirname, '../..');
const python = join(root, '.venv/bin/python');
const TOKEN = 'unit-test-token';

class Collector implements DebugSocketHandler {
  readonly frames = new Map<number, Frame[]>();
  readonly closed = new Map<number, string | undefined>();
  readonly hellos: ShimConnection[] = [];
  private waiters: (() => void)[] = [];
  onHello(connection: ShimConnection): void {
    this.hellos.push(connection);
    this.frames.set(connection.id, []);
    this.wake();
  }
  onFrame(connection: ShimConnection, frame: Frame): void {
    this.frames.get(connection.id)?.push(frame);
  }
  onClose(connection: ShimConnection, reason?: string): void {
    this.closed.set(connection.id, reason);
    this.wake();
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

function runShim(address: string, token: string, app: string, args: string[] = []): Promise<number | null> {
  assert.ok(existsSync(python), `${python} is missing: run bash scripts/python-env.sh`);
  const child = spawn(python, ['-m', 'reactorscope', 'run', '--connect', address, app, ...args], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime'), REACTORSCOPE_TOKEN: token },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

const blockingApp = join(root, 'runtime/tests/apps/blocking_app.py');

for (const kind of ['tcp', 'unix'] as const) {
  test(`a real shim streams to the ${kind} debug socket`, async () => {
    const collector = new Collector();
    const socket = await DebugSocket.listen(kind, onlyToken(TOKEN), collector);
    try {
      assert.equal(await runShim(socket.address, TOKEN, blockingApp), 0);
      await collector.until(() => collector.closed.size === 1);
      const [connection] = collector.hellos;
      assert.ok(connection?.hello);
      assert.equal(collector.closed.get(connection.id), undefined, 'a clean end');
      const frames = collector.frames.get(connection.id) ?? [];
      const names = frames.flatMap((f) => (f.type === 'sites' ? f.sites.map((s) => s.name) : []));
      assert.ok(names.includes('sleepy_handler') && names.includes('busy_handler'));
      assert.ok(frames.some((f) => f.type === 'stall'));
      assert.deepEqual(frames.at(-1), { type: 'goodbye', exitCode: 0, reason: 'exit' });
    } finally {
      await socket.close();
    }
  });
}

test('a wrong token is refused, and the app still runs to its end', async () => {
  const collector = new Collector();
  const socket = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  try {
    assert.equal(await runShim(socket.address, 'not-the-token', blockingApp), 0);
    await collector.until(() => collector.closed.size >= 1);
    assert.equal(collector.hellos.length, 0);
    assert.ok([...collector.closed.values()].every((reason) => reason === 'wrong token'));
  } finally {
    await socket.close();
  }
});

test('malformed frames close that connection only, with the rule they broke', async () => {
  const collector = new Collector();
  const socket = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  const { port } = parseTcpAddress(socket.address);
  try {
    const good = runShim(socket.address, TOKEN, blockingApp);
    const fixture = (name: string): Buffer => readFileSync(join(root, 'test/fixtures/wire', `${name}.bin`));
    const attempts: [Buffer, string][] = [
      [fixture('bad-magic'), 'protocol error: stream does not start with the RSCOPE magic'],
      [fixture('oversized-frame'), 'protocol error: frame of 16777217 bytes is over the 16777216-byte limit'],
      [fixture('attach'), 'the first frame was ATTACH, not HELLO'],
    ];
    for (const [bytes] of attempts) {
      const raw = net.connect(port, '127.0.0.1');
      raw.on('error', () => undefined);
      raw.end(bytes);
    }
    assert.equal(await good, 0);
    await collector.until(() => collector.closed.size === attempts.length + 1);
    const reasons = [...collector.closed.values()].filter((r) => r !== undefined).sort();
    assert.deepEqual(reasons, attempts.map(([, reason]) => reason).sort());
    const [connection] = collector.hellos;
    assert.ok(connection);
    assert.equal(collector.frames.get(connection.id)?.at(-1)?.type, 'goodbye', 'the good shim was not disturbed');
  } finally {
    await socket.close();
  }
});

test('only loopback TCP addresses are accepted', () => {
  assert.deepEqual(parseTcpAddress('tcp:127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseTcpAddress('tcp:[::1]:9'), { host: '::1', port: 9 });
  assert.throws(() => parseTcpAddress('tcp:10.0.0.1:80'), /loopback only/);
  assert.throws(() => parseTcpAddress('tcp:example.com:80'), /loopback only/);
  assert.throws(() => parseTcpAddress('udp:1'), /expected tcp/);
});

test('attach mode: the server proves the token to a listening shim and reads its stream', async () => {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'rs-attach-'));
  const child = spawn(python, ['-m', 'reactorscope', 'run', '--listen', join(root, 'runtime/tests/apps/ticking_app.py'), '2'], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime'), XDG_RUNTIME_DIR: runtimeDir },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const collector = new Collector();
  try {
    const folder = join(runtimeDir, `reactorscope-${process.getuid?.() ?? 0}`);
    await collector.until(() => existsSync(folder) && readdirSync(folder).length > 0);
    const info = JSON.parse(readFileSync(join(folder, readdirSync(folder)[0] ?? ''), 'utf8')) as { address: string; token: string; pid: number };
    assert.equal(info.pid, child.pid);
    attachToShim(info.address, info.token, collector);
    await collector.until(() => collector.hellos.length === 1 && (collector.frames.get(collector.hellos[0]?.id ?? 0) ?? []).some((f) => f.type === 'events'));
    assert.equal(collector.hellos[0]?.hello?.pid, child.pid);
  } finally {
    await exited;
  }
});

test('a restarted server takes over its predecessor\'s address, a Unix socket left behind by a killed one included', async () => {
  // What a SIGKILLed server leaves: its private folder, with the socket file still in it.
  const dir = mkdtempSync(join(tmpdir(), 'reactorscope-'));
  const path = join(dir, 'debug.sock');
  writeFileSync(path, '');
  chmodSync(dir, 0o755);

  const collector = new Collector();
  const socket = await DebugSocket.listen('unix', onlyToken(TOKEN), collector, `unix:${path}`);
  try {
    assert.equal(socket.address, `unix:${path}`);
    assert.equal(statSync(dir).mode & 0o777, 0o700, 'the folder is private again');
    assert.equal(await runShim(socket.address, TOKEN, blockingApp), 0);
    await collector.until(() => collector.closed.size === 1);
    assert.equal(collector.hellos.length, 1);
  } finally {
    await socket.close();
  }

  const first = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  const address = first.address;
  await first.close();
  const again = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector, address);
  assert.equal(again.address, address, 'the same loopback port');
  await again.close();
});
