/**
 * `profile-picture/express`: the profile-picture routes as an Express `Router` (Express 4 and 5).
 *
 * Thin by design: every decision (routing, CSRF, auth order, negotiation, error mapping) is in the framework-free
 * handler shared with the Koa adapter; this file copies its replies onto `res` and passes foreign errors to
 * `next(err)`, so the app's own error middleware sees them.
 */
import { Router, type Request, type Response } from 'express';
import type { ProfilePictures } from '../../src/index.js';
import { createRouteHandler, type HttpReply } from '../shared/handle.js';
import { nodeRouteRequest } from '../shared/node-request.js';
import { watchStorageBody } from '../shared/storage-body.js';
import type { ProfilePictureRouterOptions as SharedRouterOptions } from '../shared/options.js';

export type {
  CsrfOptions,
  RouterPaths,
  RouterResultEvent,
  RouterUser,
  ServerErrorHook,
} from '../shared/options.js';

/** Options of the Express {@link profilePictureRouter}; `getUser` and `onResult` receive the Express `req`. */
export type ProfilePictureRouterOptions = SharedRouterOptions<Request>;

/**
 * Creates an Express router with the upload, remove, media and avatar routes.
 *
 * | Method | Path (default) | Does |
 * |---|---|---|
 * | POST | `/upload-profile-picture/` | multipart upload → JSON `{ picture }` or 303 to `redirectTo` |
 * | POST | `/remove-profile-picture/` | remove → JSON `{ removed }` or 303 to `redirectTo` |
 * | GET, HEAD | `/media/<key>` | serves a stored object (ETag, 304, immutable caching) |
 * | GET, HEAD | `/avatar/<userId>?variant=md` | 302 to the picture, or the placeholder SVG |
 *
 * Other requests fall through to the next middleware.
 *
 * @example
 * ```ts
 * import { profilePictureRouter } from 'profile-picture/express';
 * app.use(profilePictureRouter(pictures, { getUser: (req) => req.user ?? null }));
 * ```
 * @throws TypeError at construction for invalid options (e.g. a missing `getUser`).
 */
export function profilePictureRouter(pictures: ProfilePictures, options: ProfilePictureRouterOptions): Router {
  // By default a 5xx goes to stderr, as Express's final handler logs the errors it answers.
  const handle = createRouteHandler(pictures, options, (error) => console.error(error));
  const router = Router();
  router.use((req, res, next) => {
    // `.catch(next)` after `.then`: a throw while sending (headers already sent by another middleware) must reach
    // Express, not become an unhandled rejection that ends the process.
    handle(nodeRouteRequest(req, req.url, req.originalUrl, req))
      .then((reply) => (reply ? send(res, reply) : next()))
      .catch(next);
  });
  return router;
}

// --- internal ---

/** Writes through Node's own response API: `res.send()` would add an ETag and rewrite headers we already set. */
function send(res: Response, reply: HttpReply): void {
  if (res.headersSent) {
    // Someone else answered (e.g. a timeout middleware): drop our body instead of throwing ERR_HTTP_HEADERS_SENT.
    if (reply.body !== null && typeof reply.body !== 'string') reply.body.destroy();
    return;
  }
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.body === null || typeof reply.body === 'string') {
    res.end(reply.body ?? undefined);
    return;
  }
  // pipe() rather than stream.pipeline(): pipeline allocates (and aborts) an AbortController per request, a
  // measurable cost on the hot GET path. A storage stream failing mid-body (an error, or a close without one, which
  // pipe() would not pass on, leaving the response open) cuts the response and is reported; a client that goes away
  // must release the file handle.
  const body = reply.body;
  watchStorageBody(body, res, reply.bodyFailed);
  res.once('close', () => body.destroy());
  body.pipe(res);
}
