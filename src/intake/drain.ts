/**
 * What happens to a request body that was refused before it was read to its end (401, 403, 429, 503 before reading;
 * 413, 408, 400 mid-stream).
 *
 * Closing a socket that still has unread bytes makes the kernel send a reset, which can destroy the error response
 * before the client reads it: the client sees "connection reset" (Node's `fetch`: `EPIPE`) instead of 401. Reading
 * every body to its end first (as multer does) lets any client cost us unbounded bandwidth. So the answer goes out at
 * once, and then:
 *
 * - a body whose declared `Content-Length` is within the upload limit (`limits.fileSize + ENVELOPE_ALLOWANCE`) is
 *   read and discarded to its end, for at most `limits.bodyTimeout` — what an accepted upload may cost, minus the
 *   memory — so every client reads the answer, also those that send their whole body before reading any response
 *   and those that trip over a reset arriving right behind the answer; at most {@link DRAIN_MAX_TO_END} such bodies
 *   per process at once;
 * - any other body (declared over the limit, chunked, or one too many) gets the lingering close nginx does: reading
 *   and discarding for a short grace or up to a byte cap, then the socket is destroyed.
 *
 * A stream without a socket (a web `Request` body with no Node request under it) has no connection to linger on:
 * unless it is read to its end as above, it is destroyed (a web stream cancelled) at the refusal.
 */
import type { Readable } from 'node:stream';
import { ENVELOPE_ALLOWANCE } from './content-type.js';

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

/**
 * Most refused bodies a process reads to their end at the same time (see {@link DrainOptions.toEnd}); refusals
 * beyond it get the lingering close. Each costs a socket and at most `limits.fileSize + ENVELOPE_ALLOWANCE` bytes of
 * bandwidth for at most `limits.bodyTimeout`, never memory (the bytes are dropped as they arrive); the cap keeps a
 * flood of refused requests from making the server read that many bodies in parallel.
 */
export const DRAIN_MAX_TO_END = 64;

/** How long and how much to discard; see {@link DRAIN_GRACE_MS} and {@link DRAIN_MAX_BYTES}. */
export interface DrainOptions {
  /** @default DRAIN_GRACE_MS (1000) */
  graceMs?: number;
  /** @default DRAIN_MAX_BYTES (1 MiB) */
  maxBytes?: number;
  /**
   * Reads a body whose declared `Content-Length` is at most `declaredUpTo` bytes to its end (all of its bytes, for
   * at most `timeoutMs` from the refusal, and never less than the grace after the response) instead of cutting it
   * after the grace, while fewer than {@link DRAIN_MAX_TO_END} bodies are read that way. Chunked bodies and longer
   * ones get the lingering close. See {@link refusalDrain}.
   */
  toEnd?: { declaredUpTo: number; timeoutMs: number };
}

/**
 * The drain for bodies refused under `limits`: one declared within `fileSize + ENVELOPE_ALLOWANCE` (an upload the
 * service would have accepted by size) is read to its end within `bodyTimeout`, as long as an accepted upload may
 * take; anything else gets the lingering close of `lingering` (by default {@link DRAIN_GRACE_MS}, {@link DRAIN_MAX_BYTES}).
 *
 * @example
 * ```ts
 * discardBody(req, refusalDrain(pictures.options.limits));
 * ```
 */
export function refusalDrain(
  limits: { fileSize: number; bodyTimeout: number },
  lingering: Omit<DrainOptions, 'toEnd'> = {},
): DrainOptions {
  return { ...lingering, toEnd: { declaredUpTo: limits.fileSize + ENVELOPE_ALLOWANCE, timeoutMs: limits.bodyTimeout } };
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
 * still not ended; with `options.toEnd`, a body declared within its bound is read to its end instead (see
 * {@link DrainOptions.toEnd}). Does nothing for a body that already ended, a request already destroyed, or a second
 * call for the same request. Call it before sending the error response.
 *
 * Node's HTTP server finishes a `Connection: close` response with `socket.destroySoon()`, which closes the socket as
 * soon as the response is flushed — with the client's bytes still arriving, that is exactly the reset this module
 * exists to avoid. For this one socket, `destroySoon` becomes a half-close (FIN after the response, reading goes
 * on), and from then on the grace (restarted when the response is out), the byte cap or the end of the body
 * decides when it is destroyed. Should a Node version stop calling `destroySoon` there, the socket simply closes at
 * once, as before. Without `Connection: close` the grace alone bounds the discarding; a body that ends within it
 * leaves the connection usable for the next request. A body read to its end is bounded by its deadline and its
 * declared length instead, and its socket is destroyed once both the body and the response are through. A stream
 * without a `socket` that is not read to its end is destroyed at once.
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
  const socket = (request as { socket?: LingeringSocket }).socket;
  const declared = declaredLength(request);
  const toEnd =
    options.toEnd !== undefined && declared !== undefined && declared <= options.toEnd.declaredUpTo && readingToEnd < DRAIN_MAX_TO_END;
  // A body read to its end may deliver its declared length (Node's parser stops there anyway); otherwise the cap
  // counts what arrives after the response.
  const maxBytes = toEnd ? declared! : (options.maxBytes ?? DRAIN_MAX_BYTES);
  // A stream without a socket (a web `Request` body) has no connection to linger on, and nothing tells when its
  // response is out: unless it is read to its end, it is cancelled at once, so reading stops at the refusal.
  if (!toEnd && socket === undefined) {
    request.destroy();
    return;
  }
  if (toEnd) readingToEnd++;
  let released = false;
  let discarded = 0;
  let halfClosed = false;

  // A body read to its end has its deadline from the refusal; every body has at least the grace once the response
  // is out.
  const deadline = toEnd ? Date.now() + Math.max(options.toEnd!.timeoutMs, graceMs) : 0;
  let timer = setTimeout(() => cutOff(), toEnd ? deadline - Date.now() : graceMs);
  const lingers = typeof socket?.destroySoon === 'function' && typeof socket.end === 'function';
  if (lingers) {
    socket!.destroySoon = () => {
      halfClosed = true;
      if (socket!.writable) socket!.end!();
      // The response is out: the grace now runs from here, so the client gets its full second to read it.
      clearTimeout(timer);
      timer = setTimeout(() => cutOff(), Math.max(graceMs, deadline - Date.now()));
    };
  }
  const stop = () => {
    clearTimeout(timer);
    request.off('data', onData);
    request.off('end', onEnd);
    request.off('close', stop);
    // The prototype's destroySoon shows through again for any later response on this socket.
    if (lingers) delete socket!.destroySoon;
    if (toEnd && !released) {
      released = true;
      readingToEnd--;
    }
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
    // Bytes count only once the response is out (cutting the socket before it is written would lose the response),
    // except for a body read to its end, which may never deliver more than it declared.
    if (!halfClosed && !toEnd && lingers) return;
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

/** Bodies of this process being read to their end right now (at most {@link DRAIN_MAX_TO_END}). */
let readingToEnd = 0;

/** The declared `Content-Length` of a request that has one and is not chunked, else undefined. */
function declaredLength(request: Readable): number | undefined {
  const headers = (request as { headers?: Record<string, string | string[] | undefined> }).headers;
  const declared = headers?.['content-length'];
  if (typeof declared !== 'string' || !/^\d+$/.test(declared) || headers!['transfer-encoding'] !== undefined) return undefined;
  return Number(declared);
}

function ignore(): void {}
