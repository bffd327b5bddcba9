/**
 * Who is on the other end (issue 11, item 5), the server's side: a peer that does not know the token learns
 * nothing usable from the server and is closed; a captured connection replayed is refused; in attach mode, an
 * impostor listening where the server attaches gets a proof that the real shim refuses; before the handshake no
 * frame may carry more than 4 KiB. The shim's side: runtime/tests/test_handshake.py.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prove, SHIM_LABEL } from '../../protocol/handshake';
import {
  encodeFrame,
  encodePreamble,
  encodeServerProof,
  encodeShimProof,
  FrameType,
  HEADER_SIZE,
  PREAMBLE_SIZE,
  PREAUTH_MAX_PAYLOAD,
  PROOF_BYTES,
} from '../../protocol/wire';
import { attachToShim, DebugSocket, onlyToken, parseTcpAddress } from '../../server/src/debugSocket';
import { blockingApp, Collector, listenRaw, python, RawPeer, root, runShim, tickingApp } from './shimPeers';

const TOKEN = 'handshake-test-token';

/** A version 2 stream's HELLO and META frames, built by hand as the shim encodes them (wire.py). */
function str(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.byteLength);
  return Buffer.concat([length, bytes]);
}
function hello(pid: number): Uint8Array {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(pid, 0);
  return encodeFrame(FrameType.hello, Buffer.concat([head, str('{}')]));
}

test('a peer that connects with a wrong proof is closed; it got a nonce and a proof bound to its own nonce, never the token', async () => {
  const collector = new Collector();
  const socket = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  try {
    const { port } = parseTcpAddress(socket.address);
    for (const attempt of ['random bytes', "the server's own proof, reflected"] as const) {
      const impostor = RawPeer.connect(port);
      impostor.challenge();
      const serverProof = await impostor.frame('serverProof');
      assert.equal(serverProof.proofs.length, 1);
      const proof = attempt === 'random bytes' ? randomBytes(PROOF_BYTES) : Buffer.from(serverProof.proofs[0] ?? '', 'hex');
      impostor.socket.write(encodeShimProof(proof));
      await impostor.closed;
      assert.deepEqual(impostor.frames.map((f) => f.type), ['serverProof'], `${attempt}: a proof, then closed, no WELCOME`);
      assert.ok(!impostor.bytes.includes(Buffer.from(TOKEN)), 'no token bytes');
    }
    await collector.until(() => collector.closed.size === 2);
    assert.deepEqual([...collector.closed.values()], ['wrong token', 'wrong token']);
    assert.equal(collector.hellos.length, 0);
  } finally {
    await socket.close();
  }
});

test('a real connection captured and replayed on a new connection is refused', async () => {
  const collector = new Collector();
  const socket = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  const { port } = parseTcpAddress(socket.address);
  // A relay between the real shim and the real server keeps what the shim sent.
  const captured: Buffer[] = [];
  const relay = await listenRaw((from) => {
    const to = net.connect(port, '127.0.0.1');
    from.on('data', (chunk: Buffer) => captured.push(chunk));
    from.pipe(to).pipe(from);
    from.on('error', () => to.destroy());
    to.on('error', () => from.destroy());
  });
  try {
    assert.equal((await runShim(relay.address, TOKEN, blockingApp)).code, 0);
    await collector.until(() => collector.closed.size === 1);
    assert.equal(collector.hellos.length, 1, 'the real shim went through the relay');
    const whole = Buffer.concat(captured);
    assert.ok(!whole.includes(Buffer.from(TOKEN)), 'the token never travelled');
    const replay = RawPeer.connect(port);
    replay.socket.write(whole);
    await replay.closed;
    await collector.until(() => collector.closed.size === 2);
    assert.equal(collector.hellos.length, 1, 'no second session from the replay');
    assert.equal([...collector.closed.values()][1], 'wrong token');
  } finally {
    relay.server.close();
    await socket.close();
  }
});

test('before the handshake a frame over 4 KiB is refused as soon as its header arrives; after it, any size', async () => {
  const collector = new Collector();
  const socket = await DebugSocket.listen('tcp', onlyToken(TOKEN), collector);
  const { port } = parseTcpAddress(socket.address);
  try {
    const big = RawPeer.connect(port);
    const header = Buffer.alloc(HEADER_SIZE);
    header.writeUInt32LE(PREAUTH_MAX_PAYLOAD + 1, 0);
    header.writeUInt8(FrameType.challenge, 4);
    big.socket.write(Buffer.concat([encodePreamble(), header])); // no payload follows, and the socket stays open
    await big.closed;
    await collector.until(() => collector.closed.size === 1);
    assert.equal([...collector.closed.values()][0], `protocol error: frame of ${PREAUTH_MAX_PAYLOAD + 1} bytes is over the ${PREAUTH_MAX_PAYLOAD}-byte limit`);

    // A peer that proves the token may then send frames of any size.
    const shim = RawPeer.connect(port);
    const nonce = shim.challenge();
    const serverProof = await shim.frame('serverProof');
    shim.socket.write(encodeShimProof(prove(TOKEN, SHIM_LABEL, nonce, Buffer.from(serverProof.nonce, 'hex'))));
    await shim.frame('welcome');
    const metadata = JSON.stringify({ padding: 'x'.repeat(64 * 1024) });
    shim.socket.write(Buffer.concat([hello(4242), encodeFrame(FrameType.meta, str(metadata))]));
    await collector.until(() => (collector.frames.get(collector.hellos[0]?.id ?? -1) ?? []).length === 1);
    assert.equal(collector.hellos[0]?.hello?.pid, 4242);
    assert.equal(collector.frames.get(collector.hellos[0]?.id ?? -1)?.[0]?.type, 'meta');
    shim.socket.end();
  } finally {
    await socket.close();
  }
});

test('attach mode: an impostor listening where the server attaches gets no token, and the proof it got fails at the real shim', async () => {
  // The impostor: a listener that opens as a shim does, and keeps what the server sends.
  let impostor: RawPeer | undefined;
  const fake = await listenRaw((socket) => {
    impostor = new RawPeer(socket);
    impostor.challenge();
  });
  const collector = new Collector();
  const runtimeDir = mkdtempSync(join(tmpdir(), 'rs-impostor-'));
  const child = spawn(python, ['-m', 'reactorscope', 'run', '--listen', tickingApp, '6'], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime'), XDG_RUNTIME_DIR: runtimeDir, REACTORSCOPE_TOKEN: TOKEN },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    attachToShim(fake.address, TOKEN, collector);
    await collector.until(() => impostor !== undefined);
    assert.ok(impostor);
    const serverProof = await impostor.frame('serverProof');
    impostor.socket.write(encodeShimProof(randomBytes(PROOF_BYTES))); // the best it can do
    await collector.until(() => collector.closed.size === 1);
    assert.equal([...collector.closed.values()][0], 'wrong token');
    assert.ok(!impostor.bytes.includes(Buffer.from(TOKEN)), 'the server sent no token');
    assert.deepEqual(impostor.frames.map((f) => f.type), ['serverProof'], 'a proof bound to the nonce the impostor chose, then closed');

    // The same proof, replayed to the real shim (same token) on a connection of its own: refused, nothing sent.
    const folder = join(runtimeDir, `reactorscope-${process.getuid?.() ?? 0}`);
    await collector.until(() => existsSync(folder) && readdirSync(folder).length > 0);
    const info = JSON.parse(readFileSync(join(folder, readdirSync(folder)[0] ?? ''), 'utf8')) as { address: string; token: string };
    assert.equal(info.token, TOKEN);
    const replay = RawPeer.connect(parseTcpAddress(info.address).port);
    const hex = (text: string): Buffer => Buffer.from(text, 'hex');
    replay.socket.write(Buffer.concat([encodePreamble(), encodeServerProof(hex(serverProof.nonce), serverProof.proofs.map(hex))]));
    await replay.closed;
    assert.equal(replay.bytes.byteLength, PREAMBLE_SIZE + HEADER_SIZE + 32, 'the real shim sent its preamble and nonce, nothing more');
    assert.deepEqual(replay.frames.map((f) => f.type), ['challenge']);

    // The real server still attaches.
    const real = new Collector();
    attachToShim(info.address, TOKEN, real);
    await real.until(() => real.hellos.length === 1);
  } finally {
    fake.server.close();
    await exited;
  }
});
