/**
 * Real peers for the debug-socket tests: a collecting handler, the real Python shim run as a child process, and
 * raw sockets that speak (or misspeak) the handshake of protocol/handshake.ts as an impostor would.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import type { DebugSocketHandler, ShimConnection } from '../../server/src/debugSocket';
import { prove, SERVER_LABEL, SHIM_LABEL } from '../../protocol/handshake';
import { encodeChallenge, encodePreamble, encodeShimProof, type Frame, NONCE_BYTES, StreamDecoder } from '../../protocol/wire';

export const root = join(__dirname, '../..');
export const python = join(root, '.venv/bin/python');
export const blockingApp = join(root, 'runtime/tests/apps/blocking_app.py');
export const tickingApp = join(root, 'runtime/tests/apps/ticking_app.py');

export class Collector implements DebugSocketHandler {
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

/** Runs the real shim with `--connect address` and `token` in REACTORSCOPE_TOKEN; resolves its status and stderr. */
export function runShim(address: string, token: string, app: string, args: string[] = [], options: string[] = []): Promise<{ code: number | null; stderr: string }> {
  assert.ok(existsSync(python), `${python} is missing: run bash scripts/python-env.sh`);
  const child = spawn(python, ['-m', 'reactorscope', 'run', '--connect', address, ...options, app, ...args], {
    env: { ...process.env, PYTHONPATH: join(root, 'runtime'), REACTORSCOPE_TOKEN: token },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** A raw connection that keeps every byte the other side sent, and the frames they decode to. */
export class RawPeer {
  readonly received: Buffer[] = [];
  readonly decoder = new StreamDecoder();
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      try {
        this.frames.push(...this.decoder.feed(chunk));
      } catch {
        // what an impostor is sent need not decode for the tests: they look at the bytes too
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(port: number): RawPeer {
    return new RawPeer(net.connect(port, '127.0.0.1'));
  }

  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  async frame<T extends Frame['type']>(type: T, timeoutMs = 10_000): Promise<Extract<Frame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f) => f.type === type);
      if (found) return found as Extract<Frame, { type: T }>;
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`no ${type} frame came`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  static connectUnix(path: string): RawPeer {
    return new RawPeer(net.connect(path));
  }

  /** The shim's whole side of the handshake with `token`: resolves once welcomed (HELLO may follow). */
  async authenticate(token: string): Promise<void> {
    const nonce = this.challenge();
    const { nonce: serverNonce, proofs } = await this.frame('serverProof');
    const server = Buffer.from(serverNonce, 'hex');
    assert.ok(proofs.includes(Buffer.from(prove(token, SERVER_LABEL, nonce, server)).toString('hex')), 'the server proved the token');
    this.socket.write(encodeShimProof(prove(token, SHIM_LABEL, nonce, server)));
    await this.frame('welcome');
  }

  /** Opens as a shim does: preamble and a fresh nonce (returned). */
  challenge(): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    this.socket.write(Buffer.concat([encodePreamble(), encodeChallenge(nonce)]));
    return nonce;
  }
}

/** Listens on a free loopback port with `onConnection`; resolves its `tcp:` address. */
export async function listenRaw(onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; address: string; port: number }> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { server, address: `tcp:127.0.0.1:${port}`, port };
}
