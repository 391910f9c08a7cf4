/**
 * Options of `profilePictureRouter()`, shared by the Express and Koa adapters: the types both export, and
 * `resolveRouterOptions()`, which validates once at construction and returns a new frozen object.
 *
 * `Native` is the framework's own request object (Express `req`, Koa `ctx`), so `getUser` and `onResult` read the
 * app's session the way the app already does.
 */
import type { IncomingMessage } from 'node:http';
import type { ProfilePictureError } from '../../src/errors.js';
import type { ProfilePictures } from '../../src/pictures.js';
import type { PictureRecord } from '../../src/users/types.js';
import { serviceOptionNames } from '../../src/options.js';
import { invalidOption, isPlainObject, optionNames, rejectUnknownKeys } from '../../src/validate.js';

/** The signed-in user as `getUser` reports it. Only `id` is required. */
export interface RouterUser {
  /** The user's stable id; uploads are stored under `String(id)`. */
  id: string | number;
  /** Display name (unused by the routes today; handy for your own `onResult`). */
  username?: string | null | undefined;
}

/** A value, or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** URL paths of the routes, relative to where the router is mounted. `false` turns a route off. */
export interface RouterPaths {
  /** `POST` multipart upload. @default '/upload-profile-picture/' */
  upload?: string | false;
  /** `POST` remove. @default '/remove-profile-picture/' */
  remove?: string | false;
  /**
   * `GET`/`HEAD` prefix serving stored objects by key, for storages without their own `url()` (disk, memory).
   * By default it is the service's `publicPath` (which builds the picture URLs), matched against the whole request
   * URL, so it works wherever the router is mounted: mounted at `/account`, set `publicPath: '/account/media/'`.
   * Set it only when a proxy strips a prefix before your app sees the request; like the other paths it is then
   * relative to the mount point.
   * @default the service's `publicPath` when it is a path (`'/media/'`), else `'/media/'` relative to the mount
   */
  media?: string | false;
  /**
   * `GET`/`HEAD` prefix: `<avatar>/<userId>?variant=sm` redirects to the picture or answers the placeholder SVG; add
   * `&still` for the first frame of an animated picture (option `animated`). @default '/avatar/'
   */
  avatar?: string | false;
}

/** Cross-site request forgery protection for the `POST` routes. */
export interface CsrfOptions {
  /**
   * Extra origins (scheme://host[:port]) allowed to post, besides the request's own host. List your public origin
   * here when a proxy rewrites the `Host` header.
   * @default []
   */
  allowedOrigins?: readonly string[];
}

/**
 * What happened on an upload or remove answered with a redirect (an HTML form post). `Req` is the request type of
 * the adapter: Node's `IncomingMessage` for Express and Koa, the web `Request` for `profile-picture/web`.
 */
export interface RouterResultEvent<Req = IncomingMessage> {
  /** The request (Express `req`, Koa `ctx.req`, the web handler's `Request`). */
  request: Req;
  /** Which route ran. */
  action: 'upload' | 'remove';
  /** On a successful upload, the new record; on a successful remove, `null`. Absent on failure. */
  picture?: PictureRecord | null;
  /** On a successful remove, whether there was a picture to remove. */
  removed?: boolean;
  /** The failure, when there was one. */
  error?: ProfilePictureError;
}

/**
 * Reports a fault of the server that the routes answered themselves: a `ProfilePictureError` with a 5xx status
 * (`STORAGE_FAILED`, `MODERATION_FAILED`; not `BUSY`, which is load shed as designed), whose `cause` holds the storage's, repository's or moderator's own
 * error. `native` is the framework's request object (Express `req`, Koa `ctx`, Fastify `request`, web `Request`).
 */
export type ServerErrorHook<Native> = (error: ProfilePictureError, native: Native) => Awaitable<void>;

/** Options of `profilePictureRouter(pictures, options)`; identical for Express and Koa (and the web handler). */
export interface ProfilePictureRouterOptions<Native, Req = IncomingMessage> {
  /**
   * Returns the signed-in user, or null/undefined when nobody is (→ 401 `UNAUTHENTICATED` on upload and remove,
   * before the body is read). Sync or async. Errors it throws go to the framework's error handling.
   * @example
   * ```ts
   * getUser: (req) => req.user ?? null               // passport
   * getUser: (req) => req.session.user ?? null       // express-session
   * getUser: (ctx) => ctx.state.user ?? null         // Koa
   * ```
   */
  getUser: (native: Native) => Awaitable<RouterUser | null | undefined>;
  /** Route paths; see {@link RouterPaths}. */
  paths?: RouterPaths;
  /**
   * Where HTML form posts are sent back to (303 See Other) with `?profile_picture=uploaded|removed` or
   * `?profile_picture_error=<CODE>` appended. JSON clients get JSON instead.
   * @default '/profile/'
   */
  redirectTo?: string;
  /**
   * Refuse cross-site posts: `Sec-Fetch-Site: cross-site`, or an `Origin` whose host is not the request's `Host`
   * nor in `allowedOrigins` → 403 `CROSS_ORIGIN`. Requests with neither header (curl, server-to-server) pass.
   * Set `false` only for token-authenticated APIs (no cookies).
   * @default {} (on)
   */
  csrf?: CsrfOptions | false;
  /**
   * Called before the 303 redirect of an HTML form post, on success and on failure: set a flash message here.
   * Not called for JSON requests (the body carries the outcome) nor for refused cross-site posts.
   */
  onResult?: (event: RouterResultEvent<Req>, native: Native) => Awaitable<void>;
  /**
   * Looks up a username for the avatar route's placeholder letter. Without it the placeholder shows "?".
   * Note that the avatar route is public: whatever this returns, anyone can learn the first letter of.
   */
  getUsername?: (userId: string) => Awaitable<string | null | undefined>;
  /**
   * Called once for every error the routes answer themselves whose status is 5xx (a JSON 5xx, or the 303 redirect of
   * a form post that failed with one), on every route, and for a picture's storage stream failing mid-download (a
   * `STORAGE_FAILED` with `details: { operation: 'get' }`; the response is cut, unless the client hung up first): the
   * only place the storage's or repository's own error (the error's `cause`) reaches you. Never for 4xx answers, a client that went away (`ABORTED`, 499), nor `BUSY` (503:
   * load shed as designed, which any client can cause at will). Errors
   * that are not a `ProfilePictureError` (a throwing `getUser`) go to the framework's error handling instead. The
   * answer does not wait for it; what it throws or rejects with is ignored. `false` turns reporting off.
   * @default the framework's own channel: Koa `ctx.app.emit('error', error, ctx)` (its default printer, when it is the
   *   only listener, gets the error with its cause appended to the stack),
   *   Fastify `request.log.error({ err: error }, …)`, Express and web `console.error(error)` (as Express's final
   *   handler does)
   * @example
   * ```ts
   * onServerError: (error, req) => logger.error({ err: error, cause: error.cause, url: req.originalUrl }, error.code)
   * ```
   */
  onServerError?: ServerErrorHook<Native> | false;
}

/** Validated, frozen router options. Paths are normalised: exact paths without, prefixes with a trailing `/`. */
export interface ResolvedRouterOptions<Native, Req = IncomingMessage> {
  readonly getUser: ProfilePictureRouterOptions<Native, Req>['getUser'];
  readonly paths: Readonly<{ upload: string | null; remove: string | null; media: string | null; avatar: string | null }>;
  /** True when `paths.media` is the service's `publicPath`, matched against the whole URL rather than the mount. */
  readonly mediaFromPublicPath: boolean;
  readonly redirectTo: string;
  readonly csrf: Readonly<{ allowedOrigins: readonly string[] }> | null;
  readonly onResult: ProfilePictureRouterOptions<Native, Req>['onResult'] | null;
  readonly getUsername: ProfilePictureRouterOptions<Native, Req>['getUsername'] | null;
  /** The app's hook, the adapter's default when none was given, or null when reporting is off (`false`). */
  readonly onServerError: ServerErrorHook<Native> | null;
}

/** The defaults, in one place. */
export const ROUTER_DEFAULTS = Object.freeze({
  paths: Object.freeze({
    upload: '/upload-profile-picture/',
    remove: '/remove-profile-picture/',
    media: '/media/',
    avatar: '/avatar/',
  }),
  redirectTo: '/profile/',
});

const SERVICE_METHODS = ['uploadRequest', 'remove', 'get', 'url', 'placeholder', 'serve'] as const;

/**
 * Validates `pictures` and `options`. `reportServerError` is the adapter's default `onServerError` (its framework's
 * own error channel); without it, an absent `onServerError` resolves to null.
 * @throws TypeError naming the option, the expectation and the received value.
 */
export function resolveRouterOptions<Native, Req = IncomingMessage>(
  pictures: ProfilePictures,
  options: ProfilePictureRouterOptions<Native, Req>,
  reportServerError?: ServerErrorHook<Native>,
): ResolvedRouterOptions<Native, Req> {
  if (!isPlainObject(pictures) || SERVICE_METHODS.some((m) => typeof (pictures as never)[m] !== 'function')) {
    throw invalidOption('pictures', 'the service returned by createProfilePictures()', pictures);
  }
  if (!isPlainObject(options)) throw invalidOption('options', 'an object with `getUser`', options);
  refuseServiceOptions(options);
  const nestedPaths = ROUTER_OPTION_NAMES.paths.map((name) => `paths.${name}`);
  rejectUnknownKeys('', options, ROUTER_OPTION_NAMES.top, [...nestedPaths, 'csrf.allowedOrigins']);
  const paths = optionalObject('paths', options.paths);
  rejectUnknownKeys('paths', paths, ROUTER_OPTION_NAMES.paths, ROUTER_OPTION_NAMES.top);
  const publicPath = pictures.options.publicPath;
  const publicPathIsPath = publicPath.startsWith('/') && !publicPath.startsWith('//');
  const mediaDefault = publicPathIsPath ? publicPath : ROUTER_DEFAULTS.paths.media;
  const csrf = options.csrf ?? {};
  if (csrf !== false && !isPlainObject(csrf)) throw invalidOption('csrf', 'an object or false', csrf);
  if (csrf !== false) rejectUnknownKeys('csrf', csrf, ['allowedOrigins'], ROUTER_OPTION_NAMES.top);
  const redirectTo = options.redirectTo ?? ROUTER_DEFAULTS.redirectTo;
  if (typeof redirectTo !== 'string' || redirectTo.length === 0) {
    throw invalidOption('redirectTo', 'a non-empty URL string', redirectTo);
  }
  return Object.freeze({
    getUser: requiredFunction('getUser', options.getUser),
    paths: Object.freeze({
      upload: routePath('paths.upload', paths.upload ?? ROUTER_DEFAULTS.paths.upload, false),
      remove: routePath('paths.remove', paths.remove ?? ROUTER_DEFAULTS.paths.remove, false),
      media: routePath('paths.media', paths.media ?? mediaDefault, true),
      avatar: routePath('paths.avatar', paths.avatar ?? ROUTER_DEFAULTS.paths.avatar, true),
    }),
    mediaFromPublicPath: paths.media === undefined && publicPathIsPath,
    redirectTo,
    csrf: csrf === false ? null : Object.freeze({ allowedOrigins: allowedOrigins(csrf.allowedOrigins) }),
    onResult: optionalFunction('onResult', options.onResult),
    getUsername: optionalFunction('getUsername', options.getUsername),
    onServerError: serverErrorHook(options.onServerError, reportServerError),
  });
}

// --- internal ---

/** Every option name per level; the compiler checks each list against its interface. */
const ROUTER_OPTION_NAMES = {
  top: optionNames<ProfilePictureRouterOptions<unknown>>({
    getUser: 1,
    paths: 1,
    redirectTo: 1,
    csrf: 1,
    onResult: 1,
    getUsername: 1,
    onServerError: 1,
  }),
  paths: optionNames<RouterPaths>({ upload: 1, remove: 1, media: 1, avatar: 1 }),
};

/**
 * Refuses an option of the service given to the routes (`publicPath` beside a mount's `prefix`): the closest router
 * option (`paths`) would be the wrong hint, since the routes read it from the service.
 */
function refuseServiceOptions(options: Record<string, unknown>): void {
  const misplaced = Object.keys(options).find((key) => !ROUTER_OPTION_NAMES.top.includes(key) && serviceOptionNames().includes(key));
  if (misplaced === undefined) return;
  throw new TypeError(
    `[profile-picture] Unknown option \`${misplaced}\`: it is an option of createProfilePictures(), which the routes take from the service; set it there`,
  );
}

function optionalObject(path: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw invalidOption(path, 'an object', value);
  return value;
}

function requiredFunction<F>(path: string, value: F): F {
  if (typeof value !== 'function') throw invalidOption(path, 'a function', value);
  return value;
}

function optionalFunction<F>(path: string, value: F | undefined): F | null {
  return value === undefined ? null : requiredFunction(path, value);
}

/** `false` → null (reporting off); absent → the adapter's default. */
function serverErrorHook<Native>(value: unknown, fallback: ServerErrorHook<Native> | undefined): ServerErrorHook<Native> | null {
  if (value === false) return null;
  if (value === undefined) return fallback ?? null;
  if (typeof value !== 'function') throw invalidOption('onServerError', 'a function or false', value);
  return value as ServerErrorHook<Native>;
}

/** `false` → null (route off); exact paths lose, prefixes gain, the trailing slash. */
function routePath(path: string, value: unknown, prefix: boolean): string | null {
  if (value === false) return null;
  if (typeof value !== 'string' || !/^\/[^?#\s]*$/.test(value)) {
    throw invalidOption(path, 'a path starting with "/" (no query or fragment) or false', value);
  }
  const bare = value.replace(/\/+$/, '');
  if (prefix) return `${bare}/`;
  if (bare === '') throw invalidOption(path, 'a path other than "/"', value);
  return bare;
}

/** Normalises each entry to its origin (`https://example.com`), lower-cased, default port dropped. */
function allowedOrigins(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOption('csrf.allowedOrigins', 'an array of origins', value);
  return value.map((entry, i) => {
    const origin = typeof entry === 'string' && URL.canParse(entry) ? new URL(entry).origin : 'null';
    if (origin === 'null') {
      throw invalidOption(`csrf.allowedOrigins[${i}]`, 'an origin such as "https://example.com"', entry);
    }
    return origin;
  });
}
