/**
 * `uploadRequest()`: a Node request (Express `req`, Koa `ctx.req`, any `IncomingMessage`) in, a stored picture out.
 *
 * Order of work, cheapest refusal first: header checks (415/400/413, nothing read) → the per-user cap (429) → a place in
 * the queue for a body slot (503 when the queue is full) → one read of the user's record while the request waits
 * (403 `LOCKED`, 429 `TOO_MANY_CHANGES`; see `upload-gate.ts`) → the body slot (503 when the wait exceeds
 * `limits.bodyTimeout`; meanwhile the body waits unread, held back by TCP flow control) → the body, streamed through busboy under the limits and the body deadline → crop
 * fields → a processing slot (503 when the wait exceeds `limits.bodyTimeout`) → inspect/render/store. The body slot
 * is taken before the first body byte and kept until the upload ends, so memory stays bounded by
 * `bodyConcurrency × limits.fileSize`; the processing slot is taken only once the body is complete, so clients that
 * send slowly never hold the CPU-bound slots (issue 14). Both are given back on every path (see `admission.ts`).
 *
 * A client that goes away while queued, while its record is read or while its body is arriving (`close` before `end`, `error`, or the
 * caller's `signal`) fails with `ABORTED` and nothing is processed. Once the body has fully arrived, a disconnect
 * no longer cancels the upload (the user did send the picture), not even while it waits for a processing slot;
 * only the caller's `signal` still does.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ErrorFactory } from '../errors.js';
import type { Release } from '../limiter.js';
import type { ResolvedOptions } from '../options.js';
import type { UploadOptions } from '../pictures.js';
import type { UploadStart } from '../upload-gate.js';
import type { PictureRecord } from '../users/types.js';
import { createAdmission } from './admission.js';
import { ENVELOPE_ALLOWANCE, checkMultipartHeaders } from './content-type.js';
import { parseCrop } from './crop-fields.js';
import { DRAIN_MAX_BYTES, discardBody, refusalDrain } from './drain.js';
import { readMultipart } from './multipart.js';

export { BUSY_RETRY_AFTER_SECONDS } from './admission.js';
export { ENVELOPE_ALLOWANCE } from './content-type.js';
export { CROP_FIELDS } from './crop-fields.js';
export { DRAIN_GRACE_MS, DRAIN_MAX_BYTES, shouldCloseConnection } from './drain.js';
export { MAX_FIELDS, MAX_FIELD_SIZE } from './multipart.js';

/** A Node request: Express `req`, Koa `ctx.req`, or any `IncomingMessage`. */
export type UploadRequest = Readable & { headers: IncomingHttpHeaders };

/** {@link UploadOptions} plus what `uploadRequest` hands the processing step. */
export interface ProcessOptions extends UploadOptions {
  /** Gives the processing slot back early, once the CPU-bound work is done (before the `moderate` hook waits). */
  releaseProcessing?: Release;
  /** What the early read of the user's record found (see `upload-gate.ts`); read by the processing step if absent. */
  start?: UploadStart;
}

/**
 * Reads the user's record before the body and refuses a user who may not upload (`LOCKED`, `TOO_MANY_CHANGES`);
 * resolves what the commit checks again.
 */
export type OpenUpload = (userId: string) => Promise<UploadStart>;

/** Processes bytes already read into memory (inspect → render → store → commit). */
export type ProcessBytes = (userId: string, bytes: Uint8Array, options: ProcessOptions) => Promise<PictureRecord>;

/** Options of one `uploadRequest()` call. */
export interface UploadRequestOptions {
  /** Aborts the upload (`ABORTED`): while queued, while the body arrives, or before the new picture is stored. */
  signal?: AbortSignal;
}

/**
 * Reads a multipart upload request and stores its picture.
 *
 * Contract for adapters and hand-written handlers:
 * - Call it without touching the body first (no body parser on the route); it resolves with the new record.
 * - On rejection, answer with `err.status` and `toErrorBody(err)` **at once**. If {@link shouldCloseConnection}`(req)`
 *   is true (the body was not read to its end: 413, 408, 400 mid-stream, 415, 429, 503), add `Connection: close`.
 *   The intake keeps reading and discarding the rest of the body — with `Connection: close` the socket is
 *   half-closed after the response meanwhile — so the client reads the response instead of a connection reset: to
 *   its end when its declared `Content-Length` is within `limits.fileSize + ENVELOPE_ALLOWANCE` (for at most
 *   `limits.bodyTimeout`, except after `TIMEOUT`), otherwise for {@link DRAIN_GRACE_MS} (or up to two bodies' worth
 *   of bytes, at least {@link DRAIN_MAX_BYTES}); then the socket is destroyed. A stream without a `socket` (a web
 *   body) that is not read to its end is destroyed at the refusal. A body that sent more than the limit is never
 *   read to its end, whatever it declared. See `drain.ts`.
 * - `BUSY` (503: every body slot busy and the queue full, or a wait for a body slot or for a processing slot longer
 *   than `limits.bodyTimeout`) carries `details.retryAfter` (seconds, {@link BUSY_RETRY_AFTER_SECONDS}): send it as
 *   `Retry-After`. `toErrorBody()` omits details of 5xx errors, so the header is the only place a client sees it.
 *   `TOO_MANY_UPLOADS` (429: this user already has `limits.uploadsPerUser` uploads in flight) carries the same
 *   `details.retryAfter`.
 * - `LOCKED` (403, `details.reason`) and `TOO_MANY_CHANGES` (429, `details.retryAfter`: send it as `Retry-After`) are
 *   answered before the body is read, from one read of the user's record, and checked again at the commit.
 * - `ABORTED` (499) means the client is gone (or your `signal` fired); there is nobody to answer.
 *
 * Limits: the file must be the one part named `options.fieldName`; a declared `Content-Length` above
 * `limits.fileSize + ENVELOPE_ALLOWANCE` is refused before reading; an undeclared or lying one is cut off after at
 * most the limit plus one chunk; the whole body must arrive within `limits.bodyTimeout` (there is no separate idle
 * timeout: the whole-body deadline already bounds a trickling client, and Node's `server.headersTimeout` bounds the
 * headers). Crop fields `crop_left`, `crop_top`, `crop_width`, `crop_height`: all four (non-negative integers) or
 * none (missing or all empty); anything else fails with `INVALID_CROP`.
 *
 * @throws ProfilePictureError `NOT_MULTIPART` 415, `BAD_REQUEST` 400, `FILE_TOO_LARGE` 413, `NO_FILE` 400,
 *   `TOO_MANY_FILES` 400, `UNEXPECTED_FIELD` 400, `INVALID_CROP` 400, `TIMEOUT` 408, `TOO_MANY_UPLOADS` 429, `BUSY` 503, `ABORTED` 499, `LOCKED` 403,
 *   `TOO_MANY_CHANGES` 429, and
 *   everything `upload()` throws.
 */
export type RequestUploader = (
  userId: string,
  request: UploadRequest,
  options?: UploadRequestOptions,
) => Promise<PictureRecord>;

/**
 * Creates the service's `uploadRequest()`, with its own admission gates (see `admission.ts`).
 *
 * @example
 * ```ts
 * const uploadRequest = createRequestUploader(resolved, fail, processBytes);
 * http.createServer(async (req, res) => {
 *   try {
 *     const record = await uploadRequest('42', req);
 *     res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ picture: record }));
 *   } catch (err) {
 *     const headers: Record<string, string> = { 'content-type': 'application/json' };
 *     if (shouldCloseConnection(req)) headers.connection = 'close';
 *     // BUSY, TOO_MANY_UPLOADS and TOO_MANY_CHANGES say when to try again.
 *     if (isProfilePictureError(err) && err.details?.retryAfter !== undefined) headers['retry-after'] = String(err.details.retryAfter);
 *     res.writeHead(isProfilePictureError(err) ? err.status : 500, headers).end(JSON.stringify(toErrorBody(err)));
 *   }
 * });
 * ```
 */
export function createRequestUploader(
  options: ResolvedOptions,
  fail: ErrorFactory,
  processBytes: ProcessBytes,
  openUpload?: OpenUpload,
): RequestUploader {
  const admission = createAdmission(options, fail);
  const { fileSize, bodyTimeout } = options.limits;
  const maxBody = fileSize + ENVELOPE_ALLOWANCE;
  // A body declared within the limit is discarded to its end; for any other, discarding up to two bodies' worth keeps
  // the grace meaningful on fast links without inviting unbounded uploads.
  const drain = refusalDrain(options.limits, { maxBytes: Math.max(DRAIN_MAX_BYTES, 2 * maxBody) });

  return async function uploadRequest(userId, request, requestOptions = {}) {
    const { signal } = requestOptions;
    const client = watchClient(request, signal);
    let leave: (() => void) | undefined;
    let start: UploadStart | undefined;
    try {
      let releaseBody: Release;
      try {
        if (request.readableEnded) throw fail('BAD_REQUEST', { details: { reason: 'body-already-read' } });
        checkMultipartHeaders(request.headers, { fileSize, maxBody }, fail);
        leave = admission.enter(userId);
        // The queue place first (a full queue throws BUSY here, before any read), then the record is read while the
        // request waits for its slot. The read must not wait for the slot: the erase marker it returns dates the
        // upload's start, and an erase that ran while the request queued must refuse it (upload-gate.ts).
        const readFailed = new AbortController();
        const slot = admission.takeBodySlot(AbortSignal.any([client.signal, readFailed.signal]));
        slot.catch(() => {}); // a wait that fails while the read runs is handled below, not an unhandled rejection
        try {
          // A client gone meanwhile ends the wait at once; the read settles on its own (bounded by `timeouts`).
          start = await untilAborted(openUpload?.(userId), client.signal, (cause) => fail('ABORTED', { cause }));
        } catch (err) {
          readFailed.abort();
          await slot.then((release) => release(), () => {}); // leave the queue, or give back a slot just granted
          throw err;
        }
        releaseBody = await slot;
      } catch (err) {
        discardBody(request, drain);
        throw err;
      }
      // The body slot is held until the upload ends, not only while reading: the bytes stay in memory that long.
      try {
        const { file, fields } = await readMultipart(
          request,
          { fieldName: options.fieldName, fileSize, maxBody, bodyTimeout, signal: client.signal, drain },
          fail,
        );
        client.dispose();
        const crop = parseCrop(fields, fail);
        // From here only the caller's signal cancels: the client did send its picture.
        const releaseProcessing = await admission.takeProcessingSlot(signal);
        try {
          if (signal?.aborted) throw fail('ABORTED', { cause: signal.reason });
          return await processBytes(userId, file, { crop, signal, releaseProcessing, ...(start ? { start } : {}) });
        } finally {
          releaseProcessing();
        }
      } finally {
        releaseBody();
      }
    } finally {
      leave?.();
      client.dispose();
    }
  };
}

// --- internal ---

/** `promise`, or `abortError(reason)` as soon as `signal` fires; a late rejection of `promise` is then ignored. */
function untilAborted<T>(promise: Promise<T> | T, signal: AbortSignal, abortError: (reason: unknown) => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal.reason));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // Always handled, so a read that fails after the abort is no unhandled rejection (a second settle is a no-op).
    Promise.resolve(promise).then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
    );
  });
}

/** An abort signal that fires when the client goes away before its body ended, or when the caller's signal does. */
function watchClient(request: Readable, signal: AbortSignal | undefined) {
  const controller = new AbortController();
  const onClose = () => {
    if (!request.readableEnded) controller.abort(new Error('The client closed the request before its body ended'));
  };
  const onError = (cause: unknown) => controller.abort(cause);
  const onSignal = () => controller.abort(signal!.reason);
  request.on('close', onClose);
  request.on('error', onError);
  signal?.addEventListener('abort', onSignal, { once: true });
  if (signal?.aborted) onSignal();
  else if (request.destroyed) onClose();
  return {
    signal: controller.signal,
    dispose() {
      request.off('close', onClose);
      request.off('error', onError);
      signal?.removeEventListener('abort', onSignal);
    },
  };
}
