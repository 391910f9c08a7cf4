/**
 * Framework-neutral serving of stored objects: the status, headers and body an adapter copies onto its response.
 * Keys are content-hashed, so responses are immutable and cacheable forever; the headers make the bytes inert
 * (nosniff, a CSP that forbids everything) even if a browser is tricked into rendering them as a document.
 */
import type { Readable } from 'node:stream';
import { isSafeKey } from './keys.js';
import type { StorageAdapter } from './storage/types.js';

/** What to send for a serve request. `body` is null for 304, 404 and HEAD. */
export interface ServeResult {
  status: 200 | 304 | 404;
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
const SAFETY_HEADERS = {
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
 * Looks `key` up in `storage` (only when it is a safe key under `prefix/`) and describes the response.
 */
export async function serveObject(
  storage: StorageAdapter,
  prefix: string,
  key: string,
  request: ServeRequest = {},
): Promise<ServeResult> {
  if (!key.startsWith(`${prefix}/`) || !isSafeKey(key)) return NOT_FOUND;
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

/** RFC 9110 weak comparison for If-None-Match: any listed tag (or `*`) matching, ignoring `W/`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}
