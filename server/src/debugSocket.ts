/**
 * The debug socket: where shims stream their frames (docs/protocol.md). Loopback TCP (IP literals only) or a
 * Unix socket in a folder only this user can enter. Every connection opens with the handshake of
 * protocol/handshake.ts: the shim's nonce, this server's proof of each token it accepts, the shim's proof of
 * its own, a welcome; the token itself never travels, and until the shim has proved it no frame may carry more
 * than PREAUTH_MAX_PAYLOAD. A connection that breaks a rule is closed with the reason; the others go on.
 * Nothing received is executed: frames are decoded into data and handed on.
 */
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HandshakeRefused, ServerHandshake } from '../../protocol/handshake';
import { encodePreamble, type Frame, MAX_PAYLOAD, PREAUTH_MAX_PAYLOAD, ProtocolError, StreamDecoder, StreamError } from '../../protocol/wire';

/** How long a new connection has to finish the handshake and send HELLO. */
export const HELLO_TIMEOUT_MS = 5000;

export interface ShimConnection {
  /** Unique per server run. */
  readonly id: number;
  /** The token the shim proved in the handshake (kept in memory only). */
  token?: string;
  /** Set once HELLO came, after the handshake. */
  hello?: Extract<Frame, { type: 'hello' }>;
}

export interface DebugSocketHandler {
  /** A connection proved its token and sent HELLO; frames follow. */
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

/** The tokens a connection may prove now (asked at each handshake): those of the sessions still accepting one. */
export type Tokens = () => readonly string[];

/** `Tokens` for exactly one token (an attach). */
export function onlyToken(token: string): Tokens {
  return () => [token];
}

/** Why a connection that closed before HELLO ended, by where its handshake stood. */
const EARLY_CLOSE = {
  challenge: 'the peer closed the connection before the handshake',
  proof: "the peer closed the connection after this server's proof: its token is not one this server accepts",
  done: 'the peer closed the connection before HELLO',
} as const;

const HANDSHAKE_FRAMES = new Set<Frame['type']>(['challenge', 'serverProof', 'shimProof', 'welcome']);

/**
 * Reads one shim stream from `socket`: the handshake (this side's preamble at once, or when `socket` connects),
 * then HELLO, then frames. Either side may have connected: a shim in attach mode listens, and this server
 * connects to it.
 */
function serveStream(socket: net.Socket, tokens: Tokens, handler: DebugSocketHandler): void {
  const connection: ShimConnection = { id: nextConnectionId++ };
  const decoder = new StreamDecoder();
  decoder.maxPayloadBytes = PREAUTH_MAX_PAYLOAD;
  const handshake = new ServerHandshake(tokens);
  let welcomed = false;
  let closedReason: string | undefined;
  let ended = false;
  const fail = (reason: string): void => {
    if (closedReason === undefined) closedReason = reason;
    socket.destroy();
  };
  const timer = setTimeout(() => {
    if (!connection.hello) fail(`no handshake and HELLO within ${HELLO_TIMEOUT_MS} ms`);
  }, HELLO_TIMEOUT_MS);
  const greet = (): void => void socket.write(encodePreamble());
  if (socket.connecting) socket.once('connect', greet);
  else greet();
  /** Takes decoded frames in order; stops at the first that breaks a rule (the connection is then closed). */
  const take = (frames: readonly Frame[]): void => {
    for (const frame of frames) {
      if (socket.destroyed) return;
      if (!welcomed) {
        let step: { reply: Uint8Array; done: boolean };
        try {
          step = handshake.take(frame);
        } catch (error) {
          return fail(error instanceof HandshakeRefused ? error.message : String(error));
        }
        if (step.done) {
          // Proved: what follows may be as large as any frame. A legitimate shim sends nothing more before WELCOME.
          welcomed = true;
          connection.token = handshake.token;
          decoder.maxPayloadBytes = MAX_PAYLOAD;
        }
        socket.write(step.reply);
      } else if (!connection.hello) {
        if (frame.type !== 'hello') return fail(`the first frame after the handshake was ${frame.type.toUpperCase()}, not HELLO`);
        connection.hello = frame;
        clearTimeout(timer);
        handler.onHello(connection);
      } else if (frame.type === 'hello' || HANDSHAKE_FRAMES.has(frame.type)) {
        return fail(`a ${frame.type === 'hello' ? 'second HELLO' : 'handshake frame'} on one connection`);
      } else {
        handler.onFrame(connection, frame);
      }
    }
  };
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.feed(chunk);
    } catch (error) {
      // The whole frames the chunk held before the damage count, as they do in a damaged recording.
      if (error instanceof StreamError) take(error.framesBefore);
      fail(error instanceof ProtocolError ? `protocol error: ${error.message}` : String(error));
      return;
    }
    take(frames);
  });
  socket.on('error', (error) => {
    if (closedReason === undefined) closedReason = error.message;
  });
  socket.on('close', () => {
    clearTimeout(timer);
    if (ended) return;
    ended = true;
    const cut = decoder.pendingBytes > 0 && closedReason === undefined ? 'the stream ended inside a frame' : undefined;
    handler.onClose(connection, closedReason ?? cut ?? (connection.hello ? undefined : EARLY_CLOSE[handshake.stage]));
  });
}

/** Listens for shims (connect mode). */
export class DebugSocket {
  private constructor(
    private readonly server: net.Server,
    /** The address to give a shim: `tcp:127.0.0.1:PORT` or `unix:PATH`. */
    readonly address: string,
    private readonly privateDir: string | undefined,
    /** The connections open now. */
    private readonly open: Set<net.Socket>,
  ) {}

  /**
   * Listens on a new address of `kind`, or on `address` again: a restarted server takes over its predecessor's
   * address, so that the apps still running reconnect to it.
   */
  static async listen(kind: SocketKind, tokens: Tokens, handler: DebugSocketHandler, address?: string): Promise<DebugSocket> {
    const server = net.createServer((socket) => serveStream(socket, tokens, handler));
    const open = new Set<net.Socket>();
    server.on('connection', (socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
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
      return new DebugSocket(server, `unix:${path}`, dirname(path), open);
    }
    const port = address ? parseTcpAddress(address).port : 0;
    // Always the IPv4 literal: a predecessor's address names the same port, and apps reconnect to 127.0.0.1.
    await listening(port, '127.0.0.1');
    return new DebugSocket(server, `tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`, undefined, open);
  }

  /** Stops listening and ends every connection, as a server that goes away does (the shims reconnect later). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.open) socket.destroy();
    await closed;
    if (this.privateDir) rmSync(this.privateDir, { recursive: true, force: true });
  }
}

/** Attach mode: connects to a listening shim, proves the token in the handshake, then reads its stream. */
export function attachToShim(address: string, token: string, handler: DebugSocketHandler): net.Socket {
  const socket = address.startsWith('unix:')
    ? net.connect(address.slice('unix:'.length))
    : net.connect(parseTcpAddress(address));
  serveStream(socket, onlyToken(token), handler);
  return socket;
}

/** A loopback IPv4 literal: four decimal parts, no leading zeros (they read as octal elsewhere), the first 127. */
const IPV4_LOOPBACK = /^127(?:\.(?:0|[1-9][0-9]{0,2})){3}$/;

/**
 * The IP literal to connect to when `host` is a loopback one (127.0.0.0/8, `::1` however written, or `localhost`,
 * taken as 127.0.0.1 and never resolved); undefined for anything else, names included. The same rule as
 * `loopback_host` in runtime/reactorscope/transport.py; cases in test/fixtures/addresses.json.
 */
export function loopbackHost(host: string): string | undefined {
  if (host === 'localhost') return '127.0.0.1';
  if (IPV4_LOOPBACK.test(host) && host.split('.').every((part) => Number(part) <= 255)) return host;
  if (host.includes(':') && net.isIPv6(host)) {
    try {
      if (new URL(`http://[${host}]/`).hostname === '[::1]') return '::1';
    } catch {
      // a zone id, or what the URL parser does not take: not the loopback literal
    }
  }
  return undefined;
}

/** `tcp:HOST:PORT` with a loopback host only; `host` is the literal to connect to. */
export function parseTcpAddress(address: string): { host: string; port: number } {
  const bad = (): Error => new Error(`bad address ${address}: expected tcp:HOST:PORT or unix:PATH`);
  if (!address.startsWith('tcp:')) throw bad();
  const rest = address.slice('tcp:'.length);
  const colon = rest.lastIndexOf(':');
  let host = rest.slice(0, Math.max(0, colon));
  const portText = rest.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (colon < 0 || !host || !/^[0-9]{1,5}$/.test(portText)) throw bad();
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad();
  const literal = loopbackHost(host);
  if (literal === undefined) throw new Error(`refusing ${address}: the debug socket is loopback only (127.x.y.z, ::1 or localhost)`);
  return { host: literal, port };
}
