/**
 * Header-only decisions made before a body is read: does the client want JSON or a redirect, and is a post
 * cross-site. Pure functions of the request headers, so both adapters decide identically.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * True when the client should get JSON rather than a 303 redirect: it asks for JSON (`Accept`), is a script
 * (`X-Requested-With: XMLHttpRequest`, or a `Sec-Fetch-Mode` other than `navigate`), or does not accept HTML at
 * all. A classic form post (a navigation accepting `text/html`) gets the redirect.
 */
export function wantsJson(headers: IncomingHttpHeaders): boolean {
  const accept = (headers.accept ?? '').toLowerCase();
  if (accept.includes('application/json')) return true;
  if (firstHeader(headers['x-requested-with'])?.toLowerCase() === 'xmlhttprequest') return true;
  const mode = firstHeader(headers['sec-fetch-mode']);
  if (mode !== undefined && mode !== 'navigate') return true;
  return !accept.includes('text/html');
}

/**
 * True when a state-changing request must be refused as cross-site. An allowlisted `Origin` always passes;
 * otherwise `Sec-Fetch-Site: cross-site`, an opaque (`null`) or malformed `Origin`, or an `Origin` whose host
 * differs from the `Host` header is refused. With neither header (curl, old clients, server-to-server) the request
 * passes: browsers send at least one of them on every cross-origin post.
 */
export function isCrossSite(headers: IncomingHttpHeaders, allowedOrigins: readonly string[]): boolean {
  const origin = firstHeader(headers.origin);
  const originUrl = origin !== undefined && URL.canParse(origin) ? new URL(origin) : null;
  if (originUrl && originUrl.origin !== 'null' && allowedOrigins.includes(originUrl.origin)) return false;
  if (firstHeader(headers['sec-fetch-site'])?.toLowerCase() === 'cross-site') return true;
  if (origin === undefined) return false;
  if (!originUrl || originUrl.origin === 'null') return true;
  return !sameHost(originUrl, headers.host);
}

// --- internal ---

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Compares host names and ports; a port missing on either side is the default port of the origin's scheme. */
function sameHost(origin: URL, host: string | undefined): boolean {
  if (!host || !URL.canParse(`${origin.protocol}//${host}`)) return false;
  const own = new URL(`${origin.protocol}//${host}`);
  // URL drops the scheme's default port on both sides, so "example.com:443" equals "example.com" over https.
  return own.host === origin.host && own.username === '' && own.pathname === '/';
}
