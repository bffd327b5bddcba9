/**
 * The handshake that opens every debug-socket connection (docs/protocol.md, "Handshake"): the proofs, and the
 * telemetry server's side of it (server/src/debugSocket.ts drives it on a socket).
 *
 * Twin of runtime/reactorscope/handshake.py (the shim's side): the same labels and proofs, held to the same
 * bytes by test/fixtures/wire/handshake.json. Each side proves it knows the per-session token without sending
 * it: proof = HMAC-SHA256(token, label || shim nonce || server nonce), a label per direction, so that a proof
 * is good for one direction of one connection only (no reflection, no replay). The shim sends a nonce and
 * nothing else until the server has proved a token; the server proves every token it accepts (one per launch
 * still running; one for an attach), learns from the shim's proof which one is the shim's, and only then reads
 * frames larger than PREAUTH_MAX_PAYLOAD. Node-only (node:crypto): the webview never imports it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeServerProof, encodeWelcome, type Frame, MAX_PROOFS, NONCE_BYTES } from './wire';

export const SERVER_LABEL = 'reactorscope/2 server proof';
export const SHIM_LABEL = 'reactorscope/2 shim proof';

/** HMAC-SHA256 keyed with the token (UTF-8) over the label and both nonces (fixed sizes, so unambiguous). */
export function prove(token: string, label: string, shimNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  return createHmac('sha256', Buffer.from(token, 'utf8')).update(label, 'utf8').update(shimNonce).update(serverNonce).digest();
}

/** The peer broke the handshake or did not prove a token; the message names no secret. */
export class HandshakeRefused extends Error {}

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

/**
 * One connection's handshake, on the server's side: `take` each frame until it returns `'done'`, writing what
 * it returns meanwhile. `tokens` is asked once, when the shim's nonce comes: the tokens this server accepts then.
 */
export class ServerHandshake {
  private shimNonce: Uint8Array | undefined;
  private serverNonce: Uint8Array | undefined;
  private candidates: readonly string[] = [];
  /** The token the shim proved, once it has. */
  token: string | undefined;

  /** Where it stands: waiting for the shim's nonce, for its proof (this side's sent), or done. */
  get stage(): 'challenge' | 'proof' | 'done' {
    return this.token !== undefined ? 'done' : this.shimNonce ? 'proof' : 'challenge';
  }

  constructor(private readonly tokens: () => readonly string[]) {}

  /** Bytes to send back, or 'done' once the shim's proof checked (WELCOME is then the bytes to send last). */
  take(frame: Frame): { reply: Uint8Array; done: boolean } {
    if (!this.shimNonce) {
      if (frame.type !== 'challenge') throw new HandshakeRefused(`the first frame was ${name(frame)}, not CHALLENGE`);
      this.shimNonce = hex(frame.nonce);
      this.serverNonce = randomBytes(NONCE_BYTES);
      // The newest launches when there are more than one frame carries (a limit no editor window comes near).
      this.candidates = this.tokens().slice(-MAX_PROOFS);
      const proofs = this.candidates.map((token) => prove(token, SERVER_LABEL, this.shimNonce!, this.serverNonce!));
      return { reply: encodeServerProof(this.serverNonce, proofs), done: false };
    }
    if (frame.type !== 'shimProof') throw new HandshakeRefused(`the frame after CHALLENGE was ${name(frame)}, not SHIM_PROOF`);
    const proof = hex(frame.proof);
    // Every candidate is compared, in constant time each: which one matched is no secret.
    let token: string | undefined;
    for (const candidate of this.candidates) {
      if (timingSafeEqual(prove(candidate, SHIM_LABEL, this.shimNonce, this.serverNonce!), proof) && token === undefined) token = candidate;
    }
    if (token === undefined) throw new HandshakeRefused('wrong token');
    this.token = token;
    return { reply: encodeWelcome(), done: true };
  }
}

function name(frame: Frame): string {
  return frame.type.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}
