/** The server's debug socket against the real Python shim over real sockets, and against bad peers. Impostors and
 * replays (what a peer that does not know the token gets): handshake.test.ts. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { attachToShim, DebugSocket, onlyToken, parseTcpAddress } from '../../server/src/debugSocket';
import { encodePreamble, encodeWelcome } from '../../protocol/wire';
import { blockingApp, Collector, python, root, runShim } from './shimPeers';

const TOKEN = 'unit-test-token';
for (const kind of ['tcp', 'unix'] as const) {
  test(`a real shim streams to the ${kind} debug socket`, async () => {
    const collector = new Collector();
    const socket = await DebugSocket.listen(kind, onlyToken(TOKEN), collector);
    try {
      assert.equal((await runShim(socket.address, TOKEN, blockingApp)).code, 0);
      await collector.until(() => collector.closed.size === 1);
      const [connection] = collector.hellos;
      assert.ok(connection?.hello);
      assert.equal(connection.token, TOKEN, 'proved in the handshake');
      assert.ok(!('token' in connection.hello), 'HELLO carries no token');
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
    const { code, stderr } = await runShim(socket.address, 'not-the-token', blockingApp);
    assert.equal(code, 0);
    await collector.until(() => collector.closed.size >= 1);
    assert.equal(collector.hellos.length, 0);
    // The shim found this server's proof was not for its token, and closed without proving its own.
    assert.ok([...collector.closed.values()].every((reason) => reason === "the peer closed the connection after this server's proof: its token is not one this server accepts"));
    const lines = stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0] ?? '', /^reactorscope: the telemetry server at tcp:127\.0\.0\.1:\d+ did not prove it knows this session's token \(its proof does not match this session's token\)/);
  } finally {
    await socket.close();
  }
});

test('malformed or out-of-order frames close that connection only, with the rule they broke', async () => {
  const collector = new Collector();
  const socket = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  const { port } = parseTcpAddress(socket.address);
  try {
    const good = runShim(socket.address, TOKEN, blockingApp);
    const fixture = (name: string): Buffer => readFileSync(join(root, 'test/fixtures/wire', `${name}.bin`));
    const attempts: [Buffer, string][] = [
      [fixture('bad-magic'), 'protocol error: stream does not start with the RSCOPE magic'],
      // Before the handshake a frame may carry 4 KiB at most.
      [fixture('oversized-frame'), 'protocol error: frame of 16777217 bytes is over the 4096-byte limit'],
      // A version 1 shim: HELLO, with its token, first.
      [fixture('old-version'), 'protocol error: unsupported protocol version 1 (this reader speaks 2; the shim and the extension must come from the same Reactor Scope release)'],
      // HELLO before the handshake.
      [fixture('session'), 'the first frame was HELLO, not CHALLENGE'],
      // The server's own last word, sent to it first.
      [Buffer.concat([encodePreamble(), encodeWelcome()]), 'the first frame was WELCOME, not CHALLENGE'],
    ];
    for (const [bytes] of attempts) {
      const raw = net.connect(port, '127.0.0.1');
      raw.on('error', () => undefined);
      raw.end(bytes);
    }
    assert.equal((await good).code, 0);
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

test('the loopback rule holds every address of the shared fixture (runtime/tests/test_units.py reads it too)', () => {
  const cases = JSON.parse(readFileSync(join(root, 'test/fixtures/addresses.json'), 'utf8')) as {
    accepted: { address: string; host: string; port: number }[];
    refused: { address: string; error: string }[];
  };
  assert.ok(cases.accepted.length > 3 && cases.refused.length > 10);
  for (const { address, host, port } of cases.accepted) assert.deepEqual(parseTcpAddress(address), { host, port }, address);
  for (const { address, error } of cases.refused) {
    assert.throws(() => parseTcpAddress(address), (e: unknown) => e instanceof Error && e.message.includes(error), address);
  }
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
    assert.equal(collector.hellos[0]?.token, info.token);
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
    assert.equal((await runShim(socket.address, TOKEN, blockingApp)).code, 0);
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
