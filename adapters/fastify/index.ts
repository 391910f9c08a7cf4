/**
 * `profile-picture/fastify`: the profile-picture routes as a Fastify plugin (Fastify 4 and 5).
 *
 * Thin by design: every decision (routing, CSRF, auth order, negotiation, error mapping) is in the framework-free
 * handler shared with the Express and Koa adapters; this file registers the routes, copies the handler's replies
 * onto `reply` and lets foreign errors reject, so the app's `setErrorHandler` sees them.
 *
 * The plugin is encapsulated on purpose (not wrapped in fastify-plugin): its routes get their own content-type
 * parser, which leaves every body unread for the shared handler to read from `request.raw` with its own limits.
 * So Fastify's `bodyLimit` and the app's parsers never read an upload, and `@fastify/multipart` registered on the app
 * keeps parsing the app's own routes. Fastify still answers some requests itself before the handler runs (415 to a
 * Content-Type that is not a media type at all), as may the app's hooks (a 401 in `preHandler`): the context's
 * `onSend` hook then discards the unread body under the upload limits and closes the connection, as the handler's own
 * refusals do.
 *
 * Unlike Koa, Fastify reports neither a client's broken connection nor its garbled bytes to the app's error handler
 * (its `clientError` handler answers those), so the adapter needs no client-fault filter.
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { ProfilePictures } from '../../src/index.js';
import { discardBody, refusalDrain, shouldCloseConnection } from '../../src/intake/drain.js';
import { invalidOption, isPlainObject } from '../../src/validate.js';
import { createRouteHandler, type HttpReply } from '../shared/handle.js';
import { nodeRouteRequest } from '../shared/node-request.js';
import { watchStorageBody } from '../shared/storage-body.js';
import { resolveRouterOptions, type ProfilePictureRouterOptions } from '../shared/options.js';

export type {
  CsrfOptions,
  RouterPaths,
  RouterResultEvent,
  RouterUser,
  ServerErrorHook,
} from '../shared/options.js';

/**
 * Options of {@link profilePicturePlugin}: the router options of the Express and Koa adapters plus `pictures`;
 * `getUser` and `onResult` receive the Fastify `request`. Fastify's own `prefix` (and `logLevel`,
 * `logSerializers`) may sit beside them.
 */
export interface ProfilePicturePluginOptions extends ProfilePictureRouterOptions<FastifyRequest> {
  /** The service returned by `createProfilePictures()`. */
  pictures: ProfilePictures;
}

/**
 * Registers the upload, remove, media and avatar routes in an encapsulated context.
 *
 * | Method | Path (default) | Does |
 * |---|---|---|
 * | POST | `/upload-profile-picture/` | multipart upload → JSON `{ picture }` or 303 to `redirectTo` |
 * | POST | `/remove-profile-picture/` | remove → JSON `{ removed }` or 303 to `redirectTo` |
 * | GET, HEAD | `/media/<key>` | serves a stored object (ETag, 304, immutable caching) |
 * | GET, HEAD | `/avatar/<userId>?variant=md` | 302 to the picture, or the placeholder SVG |
 *
 * Paths are relative to the `prefix` the plugin is registered with, except the media route, which sits at the
 * service's `publicPath` (so under a prefix, set `publicPath` under it: `prefix: '/account'`,
 * `publicPath: '/account/media/'`). A `publicPath` outside the prefix is not served by this registration. Other
 * requests reach the app's not-found handler. The app's hooks (e.g. authentication in `onRequest` or
 * `preHandler`) run on these routes as on its own.
 *
 * @example
 * ```ts
 * import { profilePicturePlugin } from 'profile-picture/fastify';
 * await app.register(profilePicturePlugin, { pictures, getUser: (request) => request.user ?? null });
 * ```
 * @throws TypeError for invalid options (e.g. a missing `getUser`, an unknown key), from `app.register()`'s
 *   promise, `app.ready()` or `app.listen()`.
 */
export const profilePicturePlugin: FastifyPluginCallback<ProfilePicturePluginOptions> = (instance, options, done) => {
  // Fastify does not catch what a callback-style plugin throws: hand it to `done` so register()/ready() reject.
  try {
    registerRoutes(instance, options);
  } catch (err) {
    return done(err as Error);
  }
  done();
};

Object.assign(profilePicturePlugin, {
  // What fastify-plugin would set, minus `skip-override`: the routes' parsers must stay in their own context.
  [Symbol.for('plugin-meta')]: { name: 'profile-picture', fastify: '4.x || 5.x' },
  [Symbol.for('fastify.display-name')]: 'profile-picture',
});

// --- internal ---

function registerRoutes(instance: FastifyInstance, options: ProfilePicturePluginOptions): void {
  if (!isPlainObject(options)) throw invalidOption('options', 'an object with `pictures` and `getUser`', options);
  // Fastify hands its own register options to the plugin too; they are not ours to validate.
  const { pictures, prefix: _prefix, logLevel: _logLevel, logSerializers: _logSerializers, ...routerOptions } =
    options as ProfilePicturePluginOptions & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>;
  const { paths, mediaFromPublicPath } = resolveRouterOptions(pictures, routerOptions);
  // Fastify's own default error handler logs a 5xx with `request.log.error({ err })`: the same channel.
  const handle = createRouteHandler(pictures, routerOptions, (error, request: FastifyRequest) =>
    request.log.error({ err: error }, error.message),
  );
  const mount = instance.prefix.replace(/\/+$/, '');

  // Every body is left unread (whatever its type, so Fastify never answers 415 or 413 itself): the shared handler
  // reads uploads from `request.raw` under its own limits, and discards what it refuses.
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null));
  // Replies our handler did not build still leave the body unread: Fastify's own 415 to a Content-Type it cannot
  // parse (no parser can accept those), an app hook's 401 in `onRequest`/`preHandler`. Without this, Node would read
  // and discard the whole body, without a limit, to keep the connection alive. Discard it as the handler does (a
  // no-op for a body it already discards) and close the connection.
  const drain = refusalDrain(pictures.options.limits);
  instance.addHook('onSend', async (request, reply, payload) => {
    if (shouldCloseConnection(request.raw)) {
      discardBody(request.raw, drain);
      reply.header('connection', 'close');
    }
    return payload;
  });

  async function answer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const originalUrl = request.raw.url ?? '/';
    const url = originalUrl.startsWith(mount) ? originalUrl.slice(mount.length) : originalUrl;
    const result = await handle(nodeRouteRequest(request.raw, url, originalUrl, request));
    if (!result) {
      reply.callNotFound();
      return reply;
    }
    return send(reply, result);
  }

  const route = (method: 'POST' | 'GET', url: string) => {
    // Literal colons, not find-my-way parameters. HEAD is declared, not Fastify's implicit route that strips a GET's
    // body: the handler already answers HEAD (headers, no body), and its reply goes out as built.
    const methods = method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
    instance.route({ method: methods, url: url.replaceAll(':', '::'), exposeHeadRoute: false, handler: answer });
  };
  for (const exact of [paths.upload, paths.remove]) {
    if (exact === null) continue;
    // Both spellings, as in Express and Koa, unless the app's `ignoreTrailingSlash` made the first one cover both. A
    // route of the app's own at either one still fails the start, never silently replaces ours.
    const slashed = { method: 'POST', url: `${exact.replaceAll(':', '::')}/` } as const;
    const taken = instance.hasRoute(slashed);
    route('POST', exact);
    if (taken || !instance.hasRoute(slashed)) route('POST', `${exact}/`);
  }
  if (paths.avatar !== null) route('GET', `${paths.avatar}*`);
  const media = mediaRoute(paths.media, mediaFromPublicPath, mount);
  if (media !== null) route('GET', `${media}*`);
}

/**
 * The media route within this context. One derived from `publicPath` is a site path while this context's routes are
 * under the prefix: it must lie beneath the prefix, else it is out of reach here (as for a router mounted there).
 */
function mediaRoute(media: string | null, fromPublicPath: boolean, mount: string): string | null {
  if (media === null || !fromPublicPath) return media;
  return media.startsWith(`${mount}/`) ? media.slice(mount.length) : null;
}

/** Sends the reply as handed: Fastify adds no ETag; an empty body goes out with our own Content-Length (HEAD). */
function send(reply: FastifyReply, result: HttpReply): FastifyReply {
  reply.code(result.status).headers(result.headers);
  // send() without a payload, not send(null): Fastify would serialise null to the JSON text "null".
  if (result.body === null) return reply.send();
  if (typeof result.body !== 'string') {
    // A storage stream failing before its first byte would leave Fastify's error handler to answer 500 under the
    // object's immutable caching headers (a CDN would keep that for a year). Cut the connection instead, as Express
    // and Koa do: the handler returns early for a destroyed response, and still logs the error. Failing mid-body,
    // Fastify only logs it (warn); either way it is reported to `onServerError` too, as on every adapter.
    watchStorageBody(result.body, reply.raw, result.bodyFailed);
  }
  return reply.send(result.body);
}
