/**
 * busboy → exactly one file in memory, with every limit enforced while the body streams in.
 *
 * busboy reports most limits by events, not errors (a file over `fileSize` is silently truncated, a second file
 * silently skipped), can emit two errors for one body, and keeps parsing after some of them. So every event that
 * means "refuse" funnels into one `settle()`, which runs once: it stops feeding busboy, destroys it (and the file
 * stream), drops the buffered bytes, hands the unread rest of the body to {@link discardBody}, and rejects. Error
 * listeners stay attached after that, so busboy's late errors are swallowed instead of crashing the process.
 *
 * At most `fileSize + 1` file bytes are buffered: busboy is told `fileSize + 1`, so a file of exactly `fileSize`
 * bytes passes and the first byte past it ends the read.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { ErrorFactory, ProfilePictureError } from '../errors.js';
import { isCropField } from './crop-fields.js';
import { discardBody, type DrainOptions } from './drain.js';
import { collectFile, declaredLength } from './file-bytes.js';

/** Most non-file fields a form may have (the four crop fields, a CSRF token and the like). */
export const MAX_FIELDS = 20;
/** Largest accepted non-file field value in bytes; longer values are truncated (and a crop field then fails). */
export const MAX_FIELD_SIZE = 1024;

/** What {@link readMultipart} needs to know. */
export interface MultipartSettings {
  /** The form field that must carry the file. */
  fieldName: string;
  /** Largest accepted file in bytes. */
  fileSize: number;
  /** Largest accepted body in bytes (file plus envelope). */
  maxBody: number;
  /** Milliseconds the whole body may take. */
  bodyTimeout: number;
  /** Aborts the read with `ABORTED` (client gone or caller's signal). */
  signal: AbortSignal;
  /** How to discard the unread body after a refusal. */
  drain?: DrainOptions;
}

/** The file and the values of the crop fields. */
export interface MultipartResult {
  file: Buffer;
  /** Every value received per crop field name (other fields are ignored). */
  fields: Map<string, string[]>;
}

/**
 * Reads one `multipart/form-data` request body.
 * @throws ProfilePictureError `FILE_TOO_LARGE`, `NO_FILE`, `TOO_MANY_FILES`, `UNEXPECTED_FIELD`, `BAD_REQUEST`,
 *   `TIMEOUT` or `ABORTED`; on any of them the rest of the body is being discarded (see `discardBody`).
 */
export function readMultipart(
  request: Readable & { headers: IncomingHttpHeaders },
  settings: MultipartSettings,
  fail: ErrorFactory,
): Promise<MultipartResult> {
  const { fieldName, fileSize, maxBody, signal } = settings;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      limits: {
        fileSize: fileSize + 1,
        files: 1,
        fields: MAX_FIELDS,
        // busboy counts the closing boundary as a part, hence the second + 1.
        parts: MAX_FIELDS + 1 + 1,
        fieldSize: MAX_FIELD_SIZE,
        // busboy 1.6 applies these two to urlencoded bodies only; multipart part headers are capped by busboy itself
        // (16 KiB, 2000 pairs per part) and a longer header fails the part as malformed.
        fieldNameSize: 100,
        headerPairs: 20,
      },
    });
  } catch (cause) {
    // checkMultipartHeaders() refuses what busboy's constructor throws on; this is the backstop.
    discardBody(request, settings.drain);
    return Promise.reject(fail('BAD_REQUEST', { details: { reason: 'content-type' }, cause }));
  }

  return new Promise((resolve, reject) => {
    const file = collectFile(declaredLength(request.headers['content-length'], fileSize));
    const fields = new Map<string, string[]>();
    let fileBytes = 0;
    let sawFile = false;
    let received = 0;
    let settled = false;

    const tooLarge = () => fail('FILE_TOO_LARGE', { details: { limit: fileSize } });
    const malformed = (reason: string, cause?: unknown) => fail('BAD_REQUEST', { details: { reason }, cause });

    function settle(error: ProfilePictureError | null) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      request.off('data', onData);
      request.off('end', onEnd);
      if (!error) {
        resolve({ file: file.bytes(), fields });
        return;
      }
      file.clear();
      // Not synchronously: settle() often runs inside a busboy callback (a file 'data' push, a limit event), and
      // busboy carries on with its own state after the callback returns — destroying it there makes busboy
      // dereference its nulled file stream and crash the process. Nothing more is written to it meanwhile.
      process.nextTick(() => parser.destroy());
      // A body that outlasted its deadline already had its time: no second one to finish, only the lingering close.
      // Nor is one that sent more than the limit read to its end, whatever length it declared.
      const { toEnd: _noEnd, ...lingering } = settings.drain ?? {};
      discardBody(request, error.code === 'TIMEOUT' || received > maxBody ? lingering : settings.drain);
      reject(error);
    }

    const onAbort = () => settle(fail('ABORTED', { cause: signal.reason }));
    const onData = (chunk: Buffer | string) => {
      received += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      // Counts the raw body, so a flood of parts or a huge epilogue is cut off too, not only a big file.
      if (received > maxBody) return settle(fail('FILE_TOO_LARGE', { details: { limit: fileSize, received } }));
      if (!parser.write(chunk)) {
        request.pause();
        parser.once('drain', () => settled || request.resume());
      }
    };
    const onEnd = () => parser.end();

    parser.on('file', (name, stream) => {
      stream.on('error', (cause) => settle(malformed('multipart', cause)));
      if (settled) return void stream.resume();
      // The part's filename and Content-Type are client claims: never read. The content decides, later.
      if (name !== fieldName) return settle(fail('UNEXPECTED_FIELD', { details: { expected: fieldName } }));
      sawFile = true;
      stream.on('limit', () => settle(tooLarge()));
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        fileBytes += chunk.byteLength;
        if (fileBytes > fileSize) return settle(tooLarge());
        file.push(chunk);
      });
    });
    parser.on('field', (name, value) => {
      if (!isCropField(name)) return;
      const values = fields.get(name);
      if (values) values.push(value);
      else fields.set(name, [value]);
    });
    parser.on('filesLimit', () => settle(fail('TOO_MANY_FILES')));
    parser.on('fieldsLimit', () => settle(malformed('too-many-fields')));
    parser.on('partsLimit', () => settle(malformed('too-many-parts')));
    parser.on('error', (cause) => settle(malformed('multipart', cause)));
    parser.on('finish', () => {
      if (!sawFile || fileBytes === 0) return settle(fail('NO_FILE'));
      settle(null);
    });

    const timer = setTimeout(
      () => settle(fail('TIMEOUT', { details: { timeout: settings.bodyTimeout } })),
      settings.bodyTimeout,
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('data', onData);
    request.on('end', onEnd);
    request.resume();
  });
}
