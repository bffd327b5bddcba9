/**
 * The debug socket: where shims stream their frames (docs/protocol.md). Loopback TCP or a Unix socket in a
 * folder only this user can enter; every connection proves the session's token in its first frame (HELLO),
 * compared in constant time. A connection that breaks a rule is closed with the reason; the others go on.
 * Nothing received is executed: frames are decoded into data and handed on.
 */
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeAttach, type Frame, ProtocolError, StreamDecoder } from '../../protocol/wire';

/** How long a new connection has to prove the token. */
export const HELLO_TIMEOUT_MS = 5000;

export interface ShimConnection {
  /** Unique per server run. */
  readonly id: number;
  /** Set once HELLO proved the token. */
  hello?: Extract<Frame, { type: 'hello' }>;
}

export interface DebugSocketHandler {
  /** A connection proved the token; frames follow. */
  onHello(connection: ShimConnection): void;
  /** One frame of an authenticated connection (HELLO excluded). */
  onFrame(connection: ShimConnection, frame: Frame): void;
  /** The connection ended: `reason` is undefined for a clean end, else what went wrong. */
  onClose(connection: ShimConnection, reason?: string): void;
}

export type SocketKind = 'tcp' | 'unix';

let nextConnectionId = 1;

/** Constant-time comparison, so a wrong token's timing says nothing about the right one. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Says whether a token is one this server handed out (for a launch, or an attach). */
export type Authorize = (token: string) => boolean;

/** An `Authorize` for exactly one token, compared in constant time. */
export function onlyToken(token: string): Authorize {
  return (candidate) => sameToken(candidate, token);
}

/** Reads one shim stream from `socket`, enforcing the HELLO-first and token rules. */
function serveStream(socket: net.Socket, authorize: Authorize, handler: DebugSocketHandler): void {
  const connection: ShimConnection = { id: nextConnectionId++ };
  const decoder = new StreamDecoder();
  let closedReason: string | undefined;
  let ended = false;
  const fail = (reason: string): void => {
    if (closedReason === undefined) closedReason = reason;
    socket.destroy();
  };
  const timer = setTimeout(() => {
    if (!connection.hello) fail(`no HELLO within ${HELLO_TIMEOUT_MS} ms`);
  }, HELLO_TIMEOUT_MS);
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.feed(chunk);
    } catch (error) {
      fail(error instanceof ProtocolError ? `protocol error: ${error.message}` : String(error));
      return;
    }
    for (const frame of frames) {
      if (!connection.hello) {
        if (frame.type !== 'hello') return fail(`the first frame was ${frame.type.toUpperCase()}, not HELLO`);
        if (!authorize(frame.token)) return fail('wrong token');
        connection.hello = frame;
        clearTimeout(timer);
        handler.onHello(connection);
      } else if (frame.type === 'hello') {
        return fail('a second HELLO on one connection');
      } else {
        handler.onFrame(connection, frame);
      }
    }
  });
  socket.on('error', (error) => {
    if (closedReason === undefined) closedReason = error.message;
  });
  socket.on('close', () => {
    clearTimeout(timer);
    if (ended) return;
    ended = true;
    const cut = decoder.pendingBytes > 0 && closedReason === undefined ? 'the stream ended inside a frame' : undefined;
    handler.onClose(connection, closedReason ?? cut);
  });
}

/** Listens for shims (connect mode). */
export class DebugSocket {
  private constructor(
    private readonly server: net.Server,
    /** The address to give a shim: `tcp:127.0.0.1:PORT` or `unix:PATH`. */
    readonly address: string,
    private readonly privateDir: string | undefined,
  ) {}

  /**
   * Listens on a new address of `kind`, or on `address` again: a restarted server takes over its predecessor's
   * address, so that the apps still running reconnect to it.
   */
  static async listen(kind: SocketKind, authorize: Authorize, handler: DebugSocketHandler, address?: string): Promise<DebugSocket> {
    const server = net.createServer((socket) => serveStream(socket, authorize, handler));
    const listening = (...args: unknown[]): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        (server.listen as (...a: unknown[]) => void)(...args, resolve);
      });
    if (kind === 'unix') {
      let path: string;
      if (address) {
        path = address.slice('unix:'.length);
        // The folder a killed predecessor made may still be there with its socket file: reuse it, 0700 again.
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        chmodSync(dirname(path), 0o700);
        rmSync(path, { force: true });
      } else {
        // mkdtemp makes the folder 0700: only this user can reach the socket inside it.
        path = join(mkdtempSync(join(tmpdir(), 'reactorscope-')), 'debug.sock');
      }
      await listening(path);
      return new DebugSocket(server, `unix:${path}`, dirname(path));
    }
    const port = address ? parseTcpAddress(address).port : 0;
    await listening(port, '127.0.0.1');
    return new DebugSocket(server, `tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`, undefined);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.privateDir) rmSync(this.privateDir, { recursive: true, force: true });
  }
}

/** Attach mode: connects to a listening shim, proves the token with ATTACH, then reads its stream. */
export function attachToShim(address: string, token: string, handler: DebugSocketHandler): net.Socket {
  const socket = address.startsWith('unix:')
    ? net.connect(address.slice('unix:'.length))
    : net.connect(parseTcpAddress(address));
  socket.on('connect', () => socket.write(encodeAttach(token)));
  serveStream(socket, onlyToken(token), handler);
  return socket;
}

/** `tcp:HOST:PORT` with a loopback host only. */
export function parseTcpAddress(address: string): { host: string; port: number } {
  const match = /^tcp:\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) throw new Error(`bad address ${address}: expected tcp:HOST:PORT or unix:PATH`);
  const host = match[1] ?? '';
  const port = Number(match[2]);
  if (!['127.0.0.1', 'localhost', '::1'].includes(host) && !host.startsWith('127.')) {
    throw new Error(`refusing ${address}: the debug socket is loopback only`);
  }
  if (port < 1 || port > 65535) throw new Error(`bad port in ${address}`);
  return { host, port };
}
