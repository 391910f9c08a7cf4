/**
 * `profile-picture/web`: the profile-picture routes as one web-standard handler, `Request` in, `Response` out —
 * for Hono, Next.js App Router route handlers and any framework built on `Request`/`Response`.
 *
 * Node.js runtime only: sharp is a native module. In an edge runtime the module does not load (it imports Node
 * built-ins); where those load but `EdgeRuntime` is set, loading it throws an Error naming the runtime problem.
 *
 * Thin by design: every decision (routing, CSRF, auth order, negotiation, error mapping) is in the framework-free
 * handler shared with the Express and Koa adapters; this file turns a `Request` into its neutral request and the
 * reply into a `Response`. Errors that are not ours reject the returned promise, so the framework's error handling
 * sees them.
 */
import type { IncomingMessage } from 'node:http';
import type { ProfilePictures } from '../../src/index.js';
import { invalidOption, isPlainObject } from '../../src/validate.js';
import { createRouteHandler, type HttpReply } from '../shared/handle.js';
import type { ProfilePictureRouterOptions } from '../shared/options.js';
import { webRouteRequest } from './request.js';
import { assertNodeRuntime } from './runtime.js';
import { storageBodyStream } from './storage-body.js';

export type { CsrfOptions, RouterPaths, RouterResultEvent, RouterUser, ServerErrorHook } from '../shared/options.js';

assertNodeRuntime();

/**
 * Options of {@link createRequestHandler}: those of `profilePictureRouter()`, with `getUser` and `onResult` receiving
 * the `Request`, plus `basePath`.
 */
export interface RequestHandlerOptions extends ProfilePictureRouterOptions<Request, Request> {
  /**
   * Where the routes live, from the site's root: the handler's mount point. `paths` are relative to it and requests
   * outside it resolve to null. The media route follows the service's `publicPath` (from the site's root) as with
   * the routers: under `basePath: '/account'`, set `publicPath: '/account/media/'`.
   * @default '' (the site's root)
   */
  basePath?: string;
}

/** Optional second argument of the handler. */
export interface RequestHandlerContext {
  /**
   * Node's own request under the `Request`, when the server exposes it (`@hono/node-server`: `c.env.incoming`).
   * With it, a refused upload's socket is closed as on Express (its body discarded first, `Connection: close`), so
   * every client reads the refusal; without it the body is discarded through `request.body` and the server decides
   * what happens to the connection.
   */
  incoming?: IncomingMessage;
}

/**
 * Answers one request, or resolves null when it is not for one of the routes (let the framework carry on). Rejects
 * only with errors that are not ours (a throwing `getUser`).
 */
export type RequestHandler = (request: Request, context?: RequestHandlerContext) => Promise<Response | null>;

/**
 * Creates the web-standard handler of the upload, remove, media and avatar routes.
 *
 * | Method | Path (default, under `basePath`) | Does |
 * |---|---|---|
 * | POST | `/upload-profile-picture/` | multipart upload → JSON `{ picture }` or 303 to `redirectTo` |
 * | POST | `/remove-profile-picture/` | remove → JSON `{ removed }` or 303 to `redirectTo` |
 * | GET, HEAD | `<publicPath><key>` | serves a stored object (ETag, 304, immutable caching) |
 * | GET, HEAD | `/avatar/<userId>?variant=md` | 302 to the picture, or the placeholder SVG |
 *
 * The upload body is streamed from `request.body` under the service's limits (never `request.formData()`). Without
 * `incoming`, reading stops at `limits.fileSize` plus the envelope (and the chunk in flight) and the stream is
 * cancelled; a body refused before it is read is cancelled at once, unless its declared `Content-Length` is within
 * that limit (then it is read to its end, so the client reads the answer). With `incoming`, a refused body gets the
 * lingering close of the Express adapter.
 *
 * @example
 * ```ts
 * import { createRequestHandler } from 'profile-picture/web';
 * const handle = createRequestHandler(pictures, { getUser: (request) => sessionUser(request) });
 * // Hono on @hono/node-server
 * app.use((c, next) => handle(c.req.raw, { incoming: c.env.incoming }).then((response) => response ?? next()));
 * ```
 * @throws TypeError at construction for invalid options (e.g. a missing `getUser`, a `basePath` not starting
 *   with "/"); Error when Node's built-ins load but the runtime is not Node's (`EdgeRuntime` set).
 */
export function createRequestHandler(pictures: ProfilePictures, options: RequestHandlerOptions): RequestHandler {
  assertNodeRuntime();
  // Anything but an object goes on as it is, for the routers' own message ("Expected an object with `getUser` …").
  let routerOptions: ProfilePictureRouterOptions<Request, Request> = options;
  let basePath: unknown;
  if (isPlainObject(options)) ({ basePath, ...routerOptions } = options);
  const base = resolveBasePath(basePath);
  // No framework channel to rely on (Hono, Next.js…): a 5xx goes to stderr by default, as on Express.
  const handle = createRouteHandler<Request, Request>(pictures, routerOptions, (error) => console.error(error));
  return async (request, context) => {
    const routeRequest = webRouteRequest(request, base, context?.incoming);
    const reply = routeRequest && (await handle(routeRequest));
    return reply && toResponse(reply);
  };
}

// --- internal ---

function toResponse(reply: HttpReply): Response {
  const body = reply.body === null || typeof reply.body === 'string' ? reply.body : storageBodyStream(reply.body, reply.bodyFailed);
  return new Response(body, { status: reply.status, headers: reply.headers });
}

/** '' for the root; otherwise the path without its trailing slash. */
function resolveBasePath(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string' || !/^\/[^?#\s]*$/.test(value)) {
    throw invalidOption('basePath', 'a path starting with "/" (no query or fragment)', value);
  }
  return value.replace(/\/+$/, '');
}
