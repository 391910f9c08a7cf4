/**
 * What happens to a request body the intake stopped reading early (413, 408, 400 mid-stream, 503 before reading).
 *
 * Closing a socket that still has unread bytes makes the kernel send a reset, which can destroy the error response
 * before the client reads it: the client sees "connection reset" instead of 413. Reading the whole body first (as
 * multer does) lets any client cost us unbounded bandwidth. The middle way, as nginx's lingering close: answer at
 * once, keep reading and discarding what arrives for a short grace or up to a byte cap, then destroy the socket if
 * the body still has not ended.
 */
import type { Readable } from 'node:stream';

/**
 * Milliseconds an early-rejected request body keeps being read and discarded (so the client can receive the error
 * response) before its socket is destroyed: counted from the refusal, and again from the moment a
 * `Connection: close` response is out. Answer within it.
 */
export const DRAIN_GRACE_MS = 1_000;

/**
 * Default bytes an early-rejected request body may still deliver, discarded, after a `Connection: close` response
 * went out, before its socket is destroyed. `uploadRequest()` allows
 * `max(DRAIN_MAX_BYTES, 2 × (limits.fileSize + ENVELOPE_ALLOWANCE))`.
 */
export const DRAIN_MAX_BYTES = 1024 * 1024;

/** How long and how much to discard; see {@link DRAIN_GRACE_MS} and {@link DRAIN_MAX_BYTES}. */
export interface DrainOptions {
  /** @default DRAIN_GRACE_MS (1000) */
  graceMs?: number;
  /** @default DRAIN_MAX_BYTES (1 MiB) */
  maxBytes?: number;
}

/**
 * True when the request body was not read to its end, so the response to it must close the connection:
 * adapters then send `Connection: close`, because the rest of the body cannot be parsed as a next request.
 *
 * @example
 * ```ts
 * if (shouldCloseConnection(req)) res.setHeader('Connection', 'close');
 * ```
 */
export function shouldCloseConnection(request: Readable & { complete?: boolean }): boolean {
  if (typeof request.complete === 'boolean') return !request.complete;
  return !request.readableEnded;
}

/**
 * Discards the rest of `request`'s body for a bounded grace, then destroys its socket (or the stream) if the body has
 * still not ended. Does nothing for a body that already ended, a request already destroyed, or a second call for the
 * same request. Call it before sending the error response.
 *
 * Node's HTTP server finishes a `Connection: close` response with `socket.destroySoon()`, which closes the socket as
 * soon as the response is flushed — with the client's bytes still arriving, that is exactly the reset this module
 * exists to avoid. For this one socket, `destroySoon` becomes a half-close (FIN after the response, reading goes
 * on), and from then on the grace (restarted when the response is out), the byte cap or the end of the body
 * decides when it is destroyed. Should a Node version stop calling `destroySoon` there, the socket simply closes at
 * once, as before. Without `Connection: close` the grace alone bounds the discarding; a body that ends within it
 * leaves the connection usable for the next request.
 *
 * @example
 * ```ts
 * discardBody(req); // then send the error response right away
 * ```
 */
export function discardBody(request: Readable, options: DrainOptions = {}): void {
  if (draining.has(request) || request.readableEnded || request.destroyed) return;
  draining.add(request);
  // A late 'error' (client reset while discarding) must not crash a process; IncomingMessage emits it only to listeners.
  request.on('error', ignore);
  const graceMs = options.graceMs ?? DRAIN_GRACE_MS;
  const maxBytes = options.maxBytes ?? DRAIN_MAX_BYTES;
  const socket = (request as { socket?: LingeringSocket }).socket;
  let discarded = 0;
  let halfClosed = false;

  let timer = setTimeout(() => cutOff(), graceMs);
  const lingers = typeof socket?.destroySoon === 'function' && typeof socket.end === 'function';
  if (lingers) {
    socket!.destroySoon = () => {
      halfClosed = true;
      if (socket!.writable) socket!.end!();
      // The response is out: the grace now runs from here, so the client gets its full second to read it.
      clearTimeout(timer);
      timer = setTimeout(() => cutOff(), graceMs);
    };
  }
  const stop = () => {
    clearTimeout(timer);
    request.off('data', onData);
    request.off('end', onEnd);
    request.off('close', stop);
    // The prototype's destroySoon shows through again for any later response on this socket.
    if (lingers) delete socket!.destroySoon;
  };
  const destroy = () => {
    if (typeof socket?.destroy === 'function') socket.destroy();
    else request.destroy();
  };
  const onEnd = () => {
    stop();
    // The response is out and the body fully read: closing now sends no reset.
    if (halfClosed) destroy();
  };
  const cutOff = () => {
    stop();
    if (!request.readableEnded) destroy();
  };
  const onData = (chunk: Buffer | string) => {
    // Bytes count only once the response is out: cutting the socket before it is written would lose the response.
    if (!halfClosed) return;
    discarded += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (discarded > maxBytes) cutOff();
  };

  request.on('data', onData);
  request.once('end', onEnd);
  request.once('close', stop);
  request.resume();
}

/** The parts of a `net.Socket` the lingering close uses. */
interface LingeringSocket {
  writable?: boolean;
  destroy?: () => void;
  end?: () => void;
  destroySoon?: () => void;
}

/** Requests already being discarded: a second call must not add a second timer. */
const draining = new WeakSet<Readable>();

function ignore(): void {}
