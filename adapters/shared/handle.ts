/**
 * The routes of `profilePictureRouter()`, framework-free: a request in, an {@link HttpReply} (status, headers, body)
 * out, or `null` when the request is not ours. Adapters only copy the reply onto their response object and hand
 * anything that is not a `ProfilePictureError` to their framework's error handling.
 *
 * Order on the `POST` routes: route match → CSRF (headers) → `getUser` → core call. Both checks happen before a
 * single body byte is read, so a forged or anonymous upload costs the server nothing.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createErrorFactory, isProfilePictureError, toErrorBody, type ProfilePictureError } from '../../src/errors.js';
import { refusalDrain, type DrainOptions } from '../../src/intake/drain.js';
import type { UploadRequest } from '../../src/intake/upload-request.js';
import type { ProfilePictures } from '../../src/pictures.js';
import { initialOf } from '../../src/placeholder.js';
import { USER_STATE_FIELDS } from '../../src/record-state.js';
import { SAFETY_HEADERS } from '../../src/serve.js';
import type { PictureRecord } from '../../src/users/types.js';
import { resolveRouterOptions, type ProfilePictureRouterOptions, type RouterUser, type ServerErrorHook } from './options.js';
import { isCrossSite, wantsJson } from './request-checks.js';

/** What an adapter sends. A string body is sent whole; a stream is piped; `null` means no body. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string | Readable | null;
  /**
   * Set when `body` is a storage stream (the media route). The adapter calls it when that stream fails before its
   * end while the response still stands (see `watchStorageBody`): the response can only be cut, so this is where the
   * failure is reported — to `onServerError`, once, as `STORAGE_FAILED` with the stream's error as `cause`.
   */
  bodyFailed?: (cause: Error) => void;
}

/**
 * One request as an adapter sees it, framework-free. Node adapters build it with `nodeRouteRequest()`; the web
 * handler from a `Request`.
 */
export interface RouteRequest<Native, Req = IncomingMessage> {
  /** Upper-case HTTP method. */
  method: string;
  /** Lower-case header names, as Node's `req.headers`. */
  headers: IncomingHttpHeaders;
  /** The body, read only by the upload route (`pictures.uploadRequest()`). */
  body: UploadRequest;
  /** The request `onResult` events report (Node `IncomingMessage`, web `Request`). */
  request: Req;
  /**
   * Called once the reply is decided. When the body was not read to its end (refused before or while reading), it
   * has the rest discarded as `drain` says (see `discardBody`) and returns true: the reply then carries
   * `Connection: close`. Returns false when the body was read to its end (or there is none).
   */
  discardUnread(drain: DrainOptions): boolean;
  /** The raw path + query relative to the mount point (Express `req.url`, Koa `ctx.url` under koa-mount). */
  url: string;
  /**
   * The raw path + query as the client sent it (Express `req.originalUrl`, Koa `ctx.originalUrl`). The media route
   * derived from `publicPath` matches this one, so picture URLs work wherever the router is mounted.
   */
  originalUrl: string;
  native: Native;
}

/** Answers a request, or resolves null when no route matches. Rejects only with errors that are not ours. */
export type RouteHandler<Native, Req = IncomingMessage> = (request: RouteRequest<Native, Req>) => Promise<HttpReply | null>;

const SAFETY = { 'X-Content-Type-Options': 'nosniff' };
const MAX_USER_ID = 256;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Validates the options and builds the handler the adapters wrap. `reportServerError` is the adapter's default
 * `onServerError`: its framework's own error channel.
 * @throws TypeError for invalid options (see `resolveRouterOptions`).
 */
export function createRouteHandler<Native, Req = IncomingMessage>(
  pictures: ProfilePictures,
  options: ProfilePictureRouterOptions<Native, Req>,
  reportServerError: ServerErrorHook<Native>,
): RouteHandler<Native, Req> {
  const resolved = resolveRouterOptions(pictures, options, reportServerError);
  const { paths } = resolved;
  const fail = createErrorFactory(pictures.options.messages);
  const variants = Object.keys(pictures.options.variants);
  const defaultVariant = variants.includes('md') ? 'md' : variants[0]!;
  // An upload refused before its body was read: read to its end when its declared size is one we would accept.
  const drain = refusalDrain(pictures.options.limits);

  async function mutate(action: 'upload' | 'remove', req: RouteRequest<Native, Req>): Promise<HttpReply> {
    const { native, request } = req;
    // A forged post gets a bare 403: no redirect into the app and no flash message in the victim's session.
    if (resolved.csrf && isCrossSite(req.headers, resolved.csrf.allowedOrigins)) {
      return finish(req, errorReply(fail('CROSS_ORIGIN')), drain);
    }
    const json = wantsJson(req.headers);
    let picture: PictureRecord | null = null;
    let removed = false;
    try {
      const userId = userIdOf(await resolved.getUser(native));
      if (userId === null) throw fail('UNAUTHENTICATED');
      if (action === 'upload') picture = await pictures.uploadRequest(userId, req.body);
      else removed = await pictures.remove(userId);
    } catch (err) {
      if (!isProfilePictureError(err)) throw err;
      report(err, native);
      if (json) return finish(req, errorReply(err), drain);
      await resolved.onResult?.({ request, action, error: err }, native);
      return finish(req, redirect(resolved.redirectTo, 'profile_picture_error', err.code), drain);
    }
    if (json) return finish(req, jsonReply(200, picture ? { picture: withUrls(picture) } : { removed }), drain);
    const event = action === 'upload' ? { request, action, picture } : { request, action, picture, removed };
    await resolved.onResult?.(event, native);
    return finish(req, redirect(resolved.redirectTo, 'profile_picture', action === 'upload' ? 'uploaded' : 'removed'), drain);
  }

  async function media(rest: string, req: RouteRequest<Native, Req>): Promise<HttpReply> {
    const key = decodePath(rest);
    if (key === null) return notFound();
    const ifNoneMatch = req.headers['if-none-match'];
    const result = await pictures.serve(key, { ifNoneMatch, method: req.method });
    if (result.status === 404) return notFound(result.headers);
    if (result.body === null) return result;
    let reported = false;
    const bodyFailed = (cause: Error) => {
      if (reported) return;
      reported = true;
      report(fail('STORAGE_FAILED', { details: { operation: 'get' }, cause }), req.native);
    };
    return { ...result, bodyFailed };
  }

  async function avatar(rest: string, query: string): Promise<HttpReply> {
    const userId = decodePath(rest.endsWith('/') ? rest.slice(0, -1) : rest);
    // A control character is no one's id, and a NUL is one no PostgreSQL text column holds: its lookup would fail
    // (502 on a public route) in the repository or in the app's getUsername.
    if (!userId || userId.includes('/') || CONTROL_CHARACTER.test(userId) || userId.length > MAX_USER_ID) {
      return notFound();
    }
    const params = new URLSearchParams(query);
    const variant = params.get('variant') ?? defaultVariant;
    // `?still` (or `still=1`): the first frame of an animated picture, for places that must not move.
    const still = params.has('still') && !['0', 'false'].includes(params.get('still')!);
    if (!variants.includes(variant)) return errorReply(fail('UNKNOWN_VARIANT', { details: { variant, allowed: variants.join(', ') } }));
    const record = await pictures.get(userId);
    if (record) {
      // A record written before `variants` changed may lack this one: `url()` answers its closest larger variant.
      return { status: 302, headers: { Location: pictures.url(record, variant, { still }), 'Cache-Control': 'no-cache', ...SAFETY }, body: null };
    }
    const username = (await resolved.getUsername?.(userId)) ?? null;
    return {
      status: 200,
      headers: {
        'Content-Type': 'image/svg+xml; charset=utf-8',
        // The placeholder changes as soon as the user uploads: revalidate every time.
        'Cache-Control': 'no-cache',
        // Those of the media route: the SVG is drawn as an image; opened as a document it runs nothing.
        ...SAFETY_HEADERS,
      },
      // Public route: only the initial is drawn and labelled, so the full username never leaves the server.
      body: pictures.placeholder({ id: userId, username: username === null ? null : initialOf(username) }),
    };
  }

  /**
   * Hands a 5xx error to `onServerError` without waiting: the answer goes out as it would without the hook, and a
   * hook that throws or rejects can neither change it nor become an unhandled rejection. 4xx errors (`ABORTED`, the
   * client's own going away, is a 499) are the client's and stay out of the app's error log; so is `BUSY`, the
   * server shedding load as designed: any client can cause it at will, a line per request would flood the log.
   */
  function report(err: ProfilePictureError, native: Native): void {
    const hook = resolved.onServerError;
    if (hook === null || err.status < 500 || err.code === 'BUSY') return;
    try {
      Promise.resolve(hook(err, native)).catch(() => {});
    } catch {
      // A hook that throws synchronously: ignored, as a rejection is.
    }
  }

  /**
   * The new picture with a URL per configured variant, by the same stand-in rule as the avatar route (`url()`). The
   * record's user state (previous pictures, lock, change times: record-state.ts) is not the picture: it stays on the
   * server.
   */
  function withUrls(stored: PictureRecord) {
    const record: Partial<PictureRecord> = { ...stored };
    for (const field of USER_STATE_FIELDS) delete record[field];
    const urls = Object.fromEntries(variants.map((name) => [name, pictures.url(stored, name)]));
    if (!stored.stills) return { ...record, urls };
    return { ...record, urls, stillUrls: Object.fromEntries(variants.map((name) => [name, pictures.url(stored, name, { still: true })])) };
  }

  return async (req) => {
    const [path, query] = splitUrl(req.url);
    // publicPath is where the browser finds pictures, from the site's root: match it against the whole URL.
    const mediaPath = resolved.mediaFromPublicPath ? splitUrl(req.originalUrl)[0] : path;
    const { method } = req;
    try {
      if (method === 'POST') {
        const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
        if (bare === paths.upload) return await mutate('upload', req);
        if (bare === paths.remove) return await mutate('remove', req);
      } else if (method === 'GET' || method === 'HEAD') {
        if (paths.media && mediaPath.startsWith(paths.media)) return await media(mediaPath.slice(paths.media.length), req);
        if (paths.avatar && path.startsWith(paths.avatar)) return await avatar(path.slice(paths.avatar.length), query);
      }
      return null;
    } catch (err) {
      // Ours (e.g. STORAGE_FAILED while serving) → a JSON error; anything else → the framework's error handling.
      if (isProfilePictureError(err)) {
        report(err, req.native);
        return finish(req, errorReply(err), drain);
      }
      // Not ours (a throwing getUser or onResult): the framework answers; the unread body is discarded as after our
      // own refusals, never read to its end past the upload limit.
      req.discardUnread(drain);
      throw err;
    }
  };
}

// --- internal ---

/**
 * Closes the connection when the body was not read to its end (refused before or while reading); the request's
 * `discardUnread` decides (Node: `nodeRouteRequest`). Keeping it alive would make Node read and discard the whole
 * rest of a possibly huge body before the next request. The body is discarded meanwhile as `drain` says (a no-op
 * if the intake already does): to its end when its declared length is within the upload limit, else for a short
 * grace. So a client refused before its upload was read (401, 403) receives the answer instead of a connection reset.
 */
function finish(req: RouteRequest<unknown, unknown>, reply: HttpReply, drain: DrainOptions): HttpReply {
  if (req.discardUnread(drain)) reply.headers.Connection = 'close';
  return reply;
}

function notFound(headers: Record<string, string> = {}): HttpReply {
  return {
    status: 404,
    headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...SAFETY },
    body: 'Not found',
  };
}

function jsonReply(status: number, body: unknown): HttpReply {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SAFETY },
    body: JSON.stringify(body),
  };
}

function errorReply(err: ProfilePictureError): HttpReply {
  const reply = jsonReply(err.status, toErrorBody(err));
  if (err.code === 'BUSY' || err.code === 'TOO_MANY_UPLOADS' || err.code === 'TOO_MANY_CHANGES') {
    const retryAfter = err.details?.retryAfter;
    reply.headers['Retry-After'] = String(typeof retryAfter === 'number' ? Math.ceil(retryAfter) : 1);
  }
  return reply;
}

function redirect(target: string, name: string, value: string): HttpReply {
  const hashAt = target.indexOf('#');
  const base = hashAt === -1 ? target : target.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : target.slice(hashAt);
  const separator = base.includes('?') ? '&' : '?';
  const location = `${base}${separator}${name}=${encodeURIComponent(value)}${hash}`;
  return { status: 303, headers: { Location: location, 'Cache-Control': 'no-store', ...SAFETY }, body: null };
}

/** `String(user.id)`, or null when nobody is signed in. */
function userIdOf(user: RouterUser | null | undefined): string | null {
  if (user === null || user === undefined) return null;
  const id: unknown = typeof user === 'object' ? user.id : undefined;
  if ((typeof id === 'string' && id.length > 0) || (typeof id === 'number' && Number.isFinite(id))) return String(id);
  throw new TypeError(
    `[profile-picture] Expected \`getUser()\` to return null or { id: string | number } but received ${describeUser(user)}`,
  );
}

function describeUser(user: unknown): string {
  if (typeof user !== 'object') return `a ${typeof user}`;
  return `an object whose id is ${JSON.stringify((user as { id?: unknown }).id) ?? 'undefined'}`;
}

/** `[path, query]` of a raw request URL (the query without its `?`). */
function splitUrl(url: string): [string, string] {
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? [url, ''] : [url.slice(0, queryAt), url.slice(queryAt + 1)];
}

/** Percent-decodes a path; a malformed escape means "no such resource" (null), never a 500. */
function decodePath(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}
