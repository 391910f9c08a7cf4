// @ts-check
/**
 * The handful of static files the pages load, served from a fixed table (no path from the URL ever reaches the
 * filesystem). The upload widget is the package's browser module at `clientScriptPath`, which an ES module or
 * CommonJS app serves the same way.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientScriptPath } from 'profile-picture';

/** @typedef {{ body: Buffer, type: string }} Asset */

const PUBLIC = new URL('./public/', import.meta.url);

/** @type {Record<string, { file: string, type: string }>} */
const FILES = {
  'styles.css': { file: fileURLToPath(new URL('styles.css', PUBLIC)), type: 'text/css; charset=utf-8' },
  'app.js': { file: fileURLToPath(new URL('app.js', PUBLIC)), type: 'text/javascript; charset=utf-8' },
  'admin.js': { file: fileURLToPath(new URL('admin.js', PUBLIC)), type: 'text/javascript; charset=utf-8' },
  'favicon.svg': { file: fileURLToPath(new URL('favicon.svg', PUBLIC)), type: 'image/svg+xml' },
  'profile-picture-upload.js': { file: clientScriptPath, type: 'text/javascript; charset=utf-8' },
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
  return entry ? { body: readFileSync(entry.file), type: entry.type } : null;
}

/** Response headers for an asset: short caching (the names are not content-hashed) and no sniffing. */
export const ASSET_HEADERS = { 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' };
