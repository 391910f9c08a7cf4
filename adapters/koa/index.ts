/**
 * `profile-picture/koa`: the profile-picture routes as Koa middleware (Koa 2 and 3).
 *
 * Thin by design: every decision (routing, CSRF, auth order, negotiation, error mapping) is in the framework-free
 * handler shared with the Express adapter; this file copies its replies onto `ctx` and lets foreign errors
 * propagate, so Koa's `onerror` (and any error middleware upstream) handles them.
 */
import type { Readable } from 'node:stream';
import type { Context, Middleware, Next } from 'koa';
import type { ProfilePictures } from '../../src/index.js';
import { isClientConnectionFault } from '../shared/client-faults.js';
import { createRouteHandler } from '../shared/handle.js';
import { nodeRouteRequest } from '../shared/node-request.js';
import { watchStorageBody } from '../shared/storage-body.js';
import { emitOnApp } from './report.js';
import type { ProfilePictureRouterOptions as SharedRouterOptions } from '../shared/options.js';

export type {
  CsrfOptions,
  RouterPaths,
  RouterResultEvent,
  RouterUser,
  ServerErrorHook,
} from '../shared/options.js';

/** Options of the Koa {@link profilePictureRouter}; `getUser` and `onResult` receive the Koa `ctx`. */
export type ProfilePictureRouterOptions = SharedRouterOptions<Context>;

/**
 * Creates Koa middleware with the upload, remove, media and avatar routes.
 *
 * | Method | Path (default) | Does |
 * |---|---|---|
 * | POST | `/upload-profile-picture/` | multipart upload → JSON `{ picture }` or 303 to `redirectTo` |
 * | POST | `/remove-profile-picture/` | remove → JSON `{ removed }` or 303 to `redirectTo` |
 * | GET, HEAD | `/media/<key>` | serves a stored object (ETag, 304, immutable caching) |
 * | GET, HEAD | `/avatar/<userId>?variant=md` | 302 to the picture, or the placeholder SVG |
 *
 * Other requests fall through to `next()`.
 *
 * @example
 * ```ts
 * import { profilePictureRouter } from 'profile-picture/koa';
 * app.use(profilePictureRouter(pictures, { getUser: (ctx) => ctx.state.user ?? null }));
 * ```
 * @throws TypeError at construction for invalid options (e.g. a missing `getUser`).
 */
export function profilePictureRouter(pictures: ProfilePictures, options: ProfilePictureRouterOptions): Middleware {
  // Koa's convention for errors the app answered itself: the app's 'error' event (with the cause made visible to
  // Koa's default printer, which shows only the stack: see report.ts).
  const handle = createRouteHandler(pictures, options, emitOnApp);
  return async (ctx: Context, next: Next) => {
    // Koa reports a broken client connection (an abort mid-body, a lying Content-Length) through `ctx.onerror` and
    // the app's 'error' event; on our routes those are the client's doing, not the app's, so they are dropped. So is
    // what our storage stream reports when it fails: that is `onServerError`'s (see `watchStorageBody`), or again the
    // client's when it hung up first.
    const onerror = ctx.onerror;
    let body: Readable | undefined;
    // Koa 3 pipes a stream body with stream.pipeline, which reports a client hanging up mid-download as "Premature
    // close": the response is gone (and a storage stream that stopped short, already reported, had it cut). One
    // while the response stands is the app's (its getUsername's own stream, say): Koa answers 500.
    const isHangUp = (err: unknown) => isPrematureClose(err) && ctx.res.destroyed;
    ctx.onerror = (err) =>
      isClientConnectionFault(err, ctx.req) || isHangUp(err) || (body !== undefined && err === body.errored)
        ? undefined
        : onerror.call(ctx, err);
    const reply = await handle(nodeRouteRequest(ctx.req, ctx.url, ctx.originalUrl, ctx));
    if (!reply) {
      ctx.onerror = onerror;
      return next();
    }
    if (reply.body !== null && typeof reply.body !== 'string') {
      const stream = reply.body;
      body = stream;
      // A storage stream failing mid-body is reported and cuts the response (Koa 2 would leave the client waiting for
      // the rest of one that stops short). Not when middleware upstream answered with a body of its own (Koa 3
      // destroys ours then, Koa 2 once the response finished): that response stands. A stream it pipes ours into
      // (koa-compress) would never end, so that one is cut.
      const replaced = () => ctx.body !== stream && typeof (ctx.body as { pipe?: unknown } | null)?.pipe !== 'function';
      watchStorageBody(stream, ctx.res, reply.bodyFailed, replaced);
    }
    ctx.status = reply.status;
    ctx.set(reply.headers);
    // Leave the body unset rather than null: Koa turns an explicit null body into 204 / strips our Content-Length.
    if (reply.body !== null) ctx.body = reply.body;
  };
}

// --- internal ---

function isPrematureClose(err: unknown): boolean {
  return err !== null && typeof err === 'object' && (err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
}
