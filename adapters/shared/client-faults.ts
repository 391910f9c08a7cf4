/**
 * Telling the client's faults from the app's. A client that hangs up mid-body, or sends a `Content-Length` that
 * lies, breaks its own connection; frameworks that watch the socket (Koa, through on-finished) report that as an
 * error of the app. Passing those to the app's error log would let any client flood it, so adapters drop them —
 * and only them: anything else still reaches the framework's error handling.
 */
import type { IncomingMessage } from 'node:http';

/**
 * True when `err` is the request's own connection failing: an HTTP parser error (`HPE_*`, which only the client's
 * bytes can cause) or the very error the client's socket was destroyed with (a reset, a broken pipe).
 */
export function isClientConnectionFault(err: unknown, req: IncomingMessage): boolean {
  if (err === null || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('HPE_')) return true;
  return req.socket?.errored === err;
}
