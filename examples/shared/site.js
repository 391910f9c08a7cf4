// @ts-check
/**
 * What the Express and Koa apps share: settings from the environment, the database, the profile-picture service,
 * page security headers and the same-origin check for the app's own forms.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createProfilePictures } from 'profile-picture';
import { accounts } from './accounts.js';
import { adminUsersFromEnv, createAdmin } from './admin.js';
import { setting } from './database.js';
import { enginesFromEnv, openEngines } from './engines.js';

/**
 * Settings from the environment, with defaults under the app's own folder: `PORT` (3000), `HOST` (127.0.0.1),
 * `DATA_DIR` (<app>/data), `MEDIA_DIR` (<app>/media), `PROFILE_PICTURE_ANIMATED` (`1`: animated GIF/WebP uploads
 * stay animated; off by default, like the library's `animated` option), `PROFILE_PICTURE_VARIANTS` (the variant
 * sizes, e.g. `sm:64,md:256,lg:512`, the library's default; the pages show `sm`, `md` and `lg`),
 * `PROFILE_PICTURE_HISTORY` (previous pictures kept per user, 0–20; 3 by default, where the library's `history.keep`
 * defaults to 0), `PROFILE_PICTURE_CHANGES` (at most so many new pictures per user per so many minutes, e.g. `3/60`;
 * unset: no limit, like the library's `limits.changes`), `ADMIN_USERS` (usernames that may open /admin/,
 * comma-separated; unset: the first account), `TRUST_PROXY` (`1`: behind one reverse proxy that terminates TLS, see
 * {@link trustProxyFromEnv}), and the engines (`DATABASE_URL`, `S3_*`: see engines.js).
 * @param {string} appDir
 * @throws Error naming the variable when one is invalid.
 */
export function settingsFromEnv(appDir) {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`PORT must be 0–65535, got ${process.env.PORT}`);
  const animated = process.env.PROFILE_PICTURE_ANIMATED ?? '';
  if (!['', '0', '1'].includes(animated)) {
    throw new Error(`PROFILE_PICTURE_ANIMATED must be 1 (keep animations) or 0, got "${animated}"`);
  }
  const history = process.env.PROFILE_PICTURE_HISTORY ?? '3';
  if (!/^\d{1,2}$/.test(history) || Number(history) > 20) {
    throw new Error(`PROFILE_PICTURE_HISTORY must be a number of previous pictures from 0 to 20, got "${history}"`);
  }
  return {
    port,
    host: process.env.HOST ?? '127.0.0.1',
    dataDir: process.env.DATA_DIR ?? join(appDir, 'data'),
    mediaDir: process.env.MEDIA_DIR ?? join(appDir, 'media'),
    animated: animated === '1',
    variants: variantsFromEnv(process.env.PROFILE_PICTURE_VARIANTS),
    adminUsers: adminUsersFromEnv(process.env.ADMIN_USERS),
    historyKeep: Number(history),
    changes: changeLimitFromEnv(process.env.PROFILE_PICTURE_CHANGES),
    trustProxy: trustProxyFromEnv(process.env.TRUST_PROXY),
    ...enginesFromEnv(process.env),
  };
}

/** Variant names the pages show (views/components.js): a size setting must keep them. */
const PAGE_VARIANTS = ['sm', 'md', 'lg'];

/**
 * Reads `PROFILE_PICTURE_VARIANTS`, e.g. `sm:48,md:200,lg:400,xl:1024`: changing it is what *Regenerate all* on the
 * admin page is for. Unset: the library's default sizes. The library checks the names and sizes themselves.
 * @param {string | undefined} value
 * @returns {Record<string, number> | undefined}
 * @throws Error naming the variable when the list is malformed or lacks a size the pages show.
 */
export function variantsFromEnv(value) {
  if (!value) return undefined;
  /** @type {Record<string, number>} */
  const variants = {};
  for (const entry of value.split(',')) {
    const match = /^\s*(\w+)\s*:\s*(\d+)\s*$/.exec(entry);
    if (!match) throw new Error(`PROFILE_PICTURE_VARIANTS must read like "sm:64,md:256,lg:512", got "${value}"`);
    variants[/** @type {string} */ (match[1])] = Number(match[2]);
  }
  const lacking = PAGE_VARIANTS.filter((name) => !Object.hasOwn(variants, name));
  if (lacking.length > 0) {
    throw new Error(`PROFILE_PICTURE_VARIANTS must keep the sizes the pages show (sm, md, lg); "${value}" lacks ${lacking.join(', ')}`);
  }
  return variants;
}

/**
 * Reads `PROFILE_PICTURE_CHANGES`, e.g. `3/60`: at most 3 new pictures per user per 60 minutes (the library's
 * `limits.changes`). Unset or empty: no limit.
 * @param {string | undefined} value
 * @returns {{ max: number, perMs: number } | undefined}
 * @throws Error naming the variable when it does not read like that.
 */
export function changeLimitFromEnv(value) {
  if (!value) return undefined;
  const match = /^\s*([1-9]\d{0,5})\s*\/\s*([1-9]\d{0,6})\s*$/.exec(value);
  if (!match) {
    throw new Error(`PROFILE_PICTURE_CHANGES must read like "3/60" (at most 3 new pictures per 60 minutes), got "${value}"`);
  }
  return { max: Number(match[1]), perMs: Number(match[2]) * 60_000 };
}

/**
 * Reads `TRUST_PROXY`: `1` when the app runs behind one reverse proxy that terminates TLS and sets
 * `X-Forwarded-Proto`. The apps then believe that header (from the nearest hop only), so the session cookie is marked
 * `Secure` on HTTPS and never sent back over plain HTTP. Unset or `0`: the header is ignored — any client could send
 * it — and the cookie is `Secure` only on a direct TLS connection.
 * @param {string | undefined} value
 * @returns {boolean}
 * @throws Error naming the variable for anything but `1`, `0` or empty.
 */
export function trustProxyFromEnv(value) {
  if (!['', '0', '1', undefined].includes(value)) {
    throw new Error(`TRUST_PROXY must be 1 (behind one reverse proxy that terminates TLS) or 0, got "${value}"`);
  }
  return value === '1';
}

/** @typedef {ReturnType<typeof settingsFromEnv>} SiteOptions */

/**
 * @typedef {object} Site
 * @property {import('./database.js').AppDatabase} db users, sessions and settings
 * @property {import('profile-picture').ProfilePictures} pictures
 * @property {ReturnType<typeof accounts>} accounts
 * @property {import('./admin.js').Admin} admin who may open the admin page, its account list and regenerate job
 * @property {string} secret the session-cookie signing secret
 * @property {string} engines which storage and database it runs on, for the start-up line
 * @property {() => Promise<void>} close stops a regenerate run, waits for the pictures' background clean-up, then
 *   closes the engines
 */

/**
 * Opens the database and the storage, and builds the services the routes use.
 * @param {SiteOptions} options
 * @returns {Promise<Site>}
 */
export async function createSite(options) {
  const engines = await openEngines(options);
  const pictures = createProfilePictures({
    storage: engines.storage,
    users: engines.users,
    animated: options.animated,
    ...(options.variants ? { variants: options.variants } : {}),
    history: { keep: options.historyKeep ?? 3 },
    ...(options.changes ? { limits: { changes: options.changes } } : {}),
  });
  const db = engines.database;
  const admin = createAdmin({ db, pictures, adminUsers: options.adminUsers });
  // A random secret, generated on first start and kept in the database (so every instance shares it), unless
  // SESSION_SECRET is set.
  const secret =
    process.env.SESSION_SECRET ?? (await setting(db, 'session_secret', () => randomBytes(32).toString('base64url')));
  return {
    db,
    pictures,
    accounts: accounts(db),
    admin,
    secret,
    engines: engines.description,
    async close() {
      await admin.regenerate.stop();
      await pictures.flush();
      await engines.close();
    },
  };
}

/**
 * Headers for every HTML page. The CSP allows only same-origin scripts and styles: the upload widget needs no
 * inline code (its styles are constructed stylesheets). Images are same-origin, inline SVG, or `blob:` (the
 * widget's preview of the chosen file, which never leaves the browser).
 */
export const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; object-src 'none'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * Whether a POST to the app's own forms (login, sign-up, logout) comes from its own pages. The library's routes
 * check this themselves; these forms need the same protection against cross-site posts (login CSRF).
 * @param {import('node:http').IncomingHttpHeaders} headers
 */
export function isSameOriginPost(headers) {
  if (headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = headers.origin;
  if (!origin) return true; // non-browser clients; browsers always send Origin on POST
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}

/**
 * The status of an error the client caused (a form over the size limit, a body that cannot be parsed: body-parser's
 * and {@link readForm}'s errors carry a 4xx `status`), or `null` for a fault of the server. A client's mistake gets
 * its own status and page, and stays out of the error log, where anyone could otherwise flood stack traces.
 * @param {unknown} err
 * @returns {number | null}
 */
export function clientErrorStatus(err) {
  const status = /** @type {{ status?: unknown } | null} */ (err)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/**
 * Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes.
 * @param {import('node:http').IncomingMessage} req
 * @param {number} [limit]
 * @returns {Promise<URLSearchParams>}
 */
export async function readForm(req, limit = 16 * 1024) {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams();
  }
  let size = 0;
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('Form too large'), { status: 413, expose: true });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
