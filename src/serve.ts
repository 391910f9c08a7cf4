/**
 * Framework-neutral serving of stored objects: the status, headers and body an adapter copies onto its response.
 * A key is written once and never changes, so responses are immutable and cacheable forever; the headers make the bytes inert
 * (nosniff, a CSP that forbids everything) even if a browser is tricked into rendering them as a document.
 */
import type { Readable } from 'node:stream';
import { isMasterKey, isSafeKey } from './keys.js';
import type { SignedUrl, StorageAdapter } from './storage/types.js';

/**
 * What to send for a serve request. `body` is null for 302, 304, 404 and HEAD; a 302 (storages with `signedUrl()`)
 * carries the object's short-lived URL in `Location`.
 */
export interface ServeResult {
  status: 200 | 302 | 304 | 404;
  headers: Record<string, string>;
  body: Readable | null;
}

/** Conditional-request and method information for {@link serveObject}. */
export interface ServeRequest {
  /** The request's `If-None-Match` header. */
  ifNoneMatch?: string | undefined;
  /** `HEAD` answers with headers only. @default 'GET' */
  method?: string | undefined;
}

/** Headers every stored-object response carries. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/**
 * What makes a picture response inert (SECURITY.md rule 9): no sniffing into another type; opened as a document, no
 * script, style, plugin or same-origin access (`sandbox`); not embeddable by other sites. The avatar route's
 * placeholder SVG carries the same, since an SVG opened as a document could run script.
 */
export const SAFETY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cross-Origin-Resource-Policy': 'same-site',
};

const NOT_FOUND: ServeResult = Object.freeze({
  status: 404,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...SAFETY_HEADERS },
  body: null,
}) as ServeResult;

/**
 * Looks `key` up in `storage` (only when it is a safe key under `prefix/`) and describes the response. Masters are
 * never served: without a crop a master shows the whole upload, where the variants show only their square. A storage
 * with `signedUrl()` gets a redirect to the URL it signs instead (for `GET`; a URL signed for GET cannot answer a
 * HEAD, so HEAD is still answered here).
 */
export async function serveObject(
  storage: StorageAdapter,
  prefix: string,
  key: string,
  request: ServeRequest = {},
): Promise<ServeResult> {
  if (!key.startsWith(`${prefix}/`) || !isSafeKey(key) || isMasterKey(key)) return NOT_FOUND;
  if (storage.signedUrl && request.method !== 'HEAD') return redirectTo(await storage.signedUrl(key));
  const object = await storage.get(key);
  if (!object) return NOT_FOUND;
  const headers: Record<string, string> = {
    ETag: object.etag,
    'Cache-Control': IMMUTABLE_CACHE,
    ...SAFETY_HEADERS,
  };
  if (object.lastModified) headers['Last-Modified'] = object.lastModified.toUTCString();
  if (etagMatches(request.ifNoneMatch, object.etag)) {
    object.body.destroy();
    return { status: 304, headers, body: null };
  }
  headers['Content-Type'] = object.contentType;
  headers['Content-Length'] = String(object.size);
  if (request.method === 'HEAD') {
    object.body.destroy();
    return { status: 200, headers, body: null };
  }
  return { status: 200, headers, body: object.body };
}

// --- internal ---

/**
 * A 302 to a signed URL. The redirect may be cached for at most half the time the URL has left, so a cached
 * redirect never leads to an expired signature; `private` keeps the URL, which works for anyone holding it until it
 * expires, out of shared caches.
 */
function redirectTo(signed: SignedUrl): ServeResult {
  const maxAge = Math.max(0, Math.floor((signed.expiresAt.getTime() - Date.now()) / 2000));
  return {
    status: 302,
    headers: { Location: signed.url, 'Cache-Control': `private, max-age=${maxAge}`, ...SAFETY_HEADERS },
    body: null,
  };
}

/** RFC 9110 weak comparison for If-None-Match: any listed tag (or `*`) matching, ignoring `W/`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}
