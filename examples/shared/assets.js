// @ts-check
/**
 * The handful of static files the pages load, served from a fixed table (no path from the URL ever reaches the
 * filesystem). The upload widget is the package's own `profile-picture/client` build, resolved like any
 * dependency: an app does the same to serve it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** @typedef {{ body: Buffer, type: string }} Asset */

const PUBLIC = new URL('./public/', import.meta.url);

/** @type {Record<string, { file: URL, type: string }>} */
const FILES = {
  'styles.css': { file: new URL('styles.css', PUBLIC), type: 'text/css; charset=utf-8' },
  'app.js': { file: new URL('app.js', PUBLIC), type: 'text/javascript; charset=utf-8' },
  'favicon.svg': { file: new URL('favicon.svg', PUBLIC), type: 'image/svg+xml' },
  'profile-picture-upload.js': {
    file: new URL(import.meta.resolve('profile-picture/client')),
    type: 'text/javascript; charset=utf-8',
  },
};

/** URL prefix the assets are served under. */
export const ASSETS_PATH = '/assets/';

/**
 * The asset for a request path under {@link ASSETS_PATH}, or null. Read on every request, so edits (and a rebuilt
 * widget) show up on reload; these files are a few kilobytes.
 * @param {string} path
 * @returns {Asset | null}
 */
export function findAsset(path) {
  if (!path.startsWith(ASSETS_PATH)) return null;
  const name = path.slice(ASSETS_PATH.length);
  const entry = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  return entry ? { body: readFileSync(fileURLToPath(entry.file)), type: entry.type } : null;
}

/** Response headers for an asset: short caching (the names are not content-hashed) and no sniffing. */
export const ASSET_HEADERS = { 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' };
