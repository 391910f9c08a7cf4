/**
 * Checks on a request's headers made before its body is touched: is it `multipart/form-data` with a sane boundary,
 * and does a declared `Content-Length` fit the limit?
 *
 * busboy's constructor throws on a missing or malformed Content-Type and accepts urlencoded bodies and boundaries of
 * any length (CVE-2016-3092 is the CPU cost of a huge boundary elsewhere), so the header is parsed strictly here
 * first. RFC 2046 §5.1.1 caps a boundary at 70 characters from a small alphabet.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorFactory } from '../errors.js';

/**
 * Bytes a multipart body may carry beyond `limits.fileSize`: boundaries, part headers and the small crop fields.
 * A declared `Content-Length` above `fileSize + ENVELOPE_ALLOWANCE` is refused with 413 before reading, and an
 * undeclared (chunked) body is cut off with 413 once it passes that total.
 */
export const ENVELOPE_ALLOWANCE = 64 * 1024;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const PARAM = /^[ \t]*;[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*)")/;
/** RFC 2046 `bchars`, at most 70, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/**
 * Throws unless the headers describe a `multipart/form-data` body with a valid boundary whose declared length (if
 * any) fits `maxBody` bytes.
 * @throws ProfilePictureError `NOT_MULTIPART` (415) for a missing or other content type; `BAD_REQUEST` (400) for a
 *   missing, malformed or over-long boundary; `FILE_TOO_LARGE` (413) for a declared length over `maxBody`.
 */
export function checkMultipartHeaders(
  headers: IncomingHttpHeaders,
  limits: { fileSize: number; maxBody: number },
  fail: ErrorFactory,
): void {
  const contentType = headers['content-type'];
  if (typeof contentType !== 'string') throw fail('NOT_MULTIPART');
  const type = TOKEN.exec(contentType);
  const subtype = type && contentType[type[0].length] === '/' ? TOKEN.exec(contentType.slice(type[0].length + 1)) : null;
  if (!type || !subtype || `${type[0]}/${subtype[0]}`.toLowerCase() !== 'multipart/form-data') {
    throw fail('NOT_MULTIPART');
  }
  const boundary = boundaryOf(contentType.slice(type[0].length + 1 + subtype[0].length));
  if (boundary === undefined) throw fail('BAD_REQUEST', { details: { reason: 'boundary' } });

  const declared = headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limits.maxBody) {
    throw fail('FILE_TOO_LARGE', { details: { limit: limits.fileSize, received: Number(declared) } });
  }
}

// --- internal ---

/** The boundary parameter, or undefined when the parameters are malformed, repeat it, or it breaks RFC 2046. */
function boundaryOf(params: string): string | undefined {
  let rest = params;
  let boundary: string | undefined;
  while (rest.trim() !== '') {
    const match = PARAM.exec(rest);
    if (!match) return undefined;
    rest = rest.slice(match[0].length);
    if (match[1]!.toLowerCase() !== 'boundary') continue;
    // Two boundaries could make this check and busboy read different ones.
    if (boundary !== undefined) return undefined;
    boundary = match[2] ?? match[3]!.replace(/\\(.)/g, '$1');
  }
  return boundary !== undefined && BOUNDARY.test(boundary) ? boundary : undefined;
}
