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
 * When the body is not read to its end (a refusal) and there is no `incoming`, a body declared within the upload
 * limit is read to its end through the web stream (so the client reads the answer); any other one is cancelled at
 * once, so reading stops at the limit. With `incoming` (the Node request under the web one, as `@hono/node-server`
 * exposes it) the socket gets the same lingering close as on Express, and the reply `Connection: close`.
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
  // With `incoming`, the body stream carries its socket: a refused body read through the web stream gets the socket's
  // lingering close (see `discardBody`), once; without one it is cancelled at the refusal unless read to its end.
  const bodyOf = () => (body ??= Object.assign(bodyStream(request), { headers }, incoming && { socket: incoming.socket }));
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
        if (!shouldCloseConnection(incoming)) return false;
        // Read through the web stream (the intake's refusals): already discarded there. Never read (401, 403) or
        // empty (the app took it): the web stream is left alone, Node's own request is discarded instead.
        if (body && !body.readableEnded) discardBody(body, drain);
        else discardBody(incoming, drain);
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
