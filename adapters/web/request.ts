/**
 * The neutral request of `createRouteHandler()` built from a web `Request`: headers as Node's lower-case record, the
 * body as a Node stream over `request.body` (never `request.formData()`, which buffers without a limit).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { discardBody, shouldCloseConnection } from '../../src/intake/drain.js';
import type { UploadRequest } from '../../src/intake/upload-request.js';
import type { RouteRequest } from '../shared/handle.js';

/**
 * Wraps `request` for the shared handler, or returns null when its path is outside `basePath` ('' for the root).
 *
 * When the body is not read to its end (a refusal), it is discarded as the drain says through the web stream: a
 * body declared within the upload limit is read to its end, any other one for the grace or up to the byte cap,
 * then the stream is cancelled. With `incoming` (the Node request under the web one, as `@hono/node-server` exposes
 * it) the socket gets the same lingering close as on Express, and the reply `Connection: close`.
 */
export function webRouteRequest(
  request: Request,
  basePath: string,
  incoming: IncomingMessage | undefined,
): RouteRequest<Request, Request> | null {
  const { pathname, search } = new URL(request.url);
  if (basePath && pathname !== basePath && !pathname.startsWith(`${basePath}/`)) return null;
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  let body: UploadRequest | undefined;
  const bodyOf = () => (body ??= Object.assign(bodyStream(request), { headers }));
  return {
    method: request.method,
    url: (pathname.slice(basePath.length) || '/') + search,
    originalUrl: pathname + search,
    headers,
    get body() {
      return bodyOf();
    },
    request,
    native: request,
    discardUnread(drain) {
      if (incoming) {
        // Never read through the web stream (401, 403): leave it alone, Node's own request is discarded instead.
        if (body && !body.readableEnded) discardBody(body, drain);
        if (!shouldCloseConnection(incoming)) return false;
        discardBody(incoming, drain);
        return true;
      }
      if (request.body === null || body?.readableEnded) return false;
      discardBody(bodyOf(), drain);
      // Without the socket, `Connection: close` would only make the server close it while the client still sends.
      return false;
    },
  };
}

/** A Node stream over the request body; an empty one when there is none or it was already taken. */
function bodyStream(request: Request): Readable {
  if (request.body === null || request.bodyUsed || request.body.locked) return Readable.from([]);
  return Readable.fromWeb(request.body as unknown as NodeReadableStream<Uint8Array>);
}
