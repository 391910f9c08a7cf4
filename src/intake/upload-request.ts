/**
 * `uploadRequest()`: multipart intake for a Node request. (Interim: owned by the HTTP intake work, issue 3.)
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ErrorFactory } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { UploadOptions } from '../pictures.js';
import type { PictureRecord } from '../users/types.js';

/** A Node request: Express `req`, Koa `ctx.req`, or any `IncomingMessage`. */
export type UploadRequest = Readable & { headers: IncomingHttpHeaders };

/** Processes bytes already read into memory (inspect → render → store → commit). */
export type ProcessBytes = (userId: string, bytes: Uint8Array, options: UploadOptions) => Promise<PictureRecord>;

export function createRequestUploader(
  _options: ResolvedOptions,
  fail: ErrorFactory,
  _process: ProcessBytes,
): (userId: string, request: UploadRequest, options?: { signal?: AbortSignal }) => Promise<PictureRecord> {
  return async () => {
    throw fail('NOT_MULTIPART');
  };
}
