/**
 * `profile-picture/s3`: storage in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Ceph RADOS Gateway, …),
 * through the app's own `@aws-sdk/client-s3` v3 (an optional peer dependency: only this entry loads it).
 *
 * Design. Every picture variant is small, immutable and written once under a key of its own, so one
 * `PutObject` with a buffer per object suffices: no multipart uploads, no metadata side files, no caches. A
 * `PutObject` is atomic — S3 never exposes a partial object — so a failed put leaves whatever was there before,
 * and the core's ordering (write, commit, then delete) keeps the user's current picture. Each put carries the
 * `Content-Type`, the immutable `Cache-Control` the core passes, `Content-Length` and a `Content-MD5` the backend
 * verifies (every S3-compatible server checks it, unlike the SDK's newer CRC32 headers). No ACL is sent unless
 * `acl` is set: buckets stay private by default.
 *
 * Reads stream (`GetObject`'s body goes straight to the response); listings follow continuation tokens; deletes
 * treat "no such key" as done; many deletes go in `DeleteObjects` batches of 1,000, whose per-key errors (reported
 * inside a 200 response) are checked too. Every SDK failure (network, 5xx, throttling, timeouts — after the SDK's
 * own retries, which stay on) is rethrown as an `Error` naming the operation, key and bucket, with the SDK error as
 * `cause`; the core turns it into `STORAGE_FAILED` (502). Unsafe keys are refused before any request is made.
 *
 * Serving: with `publicBaseUrl`, `url(key)` points at a public bucket or CDN and the app never serves bytes. With
 * `signedUrls`, the media route redirects to a presigned GET; signing dates are rounded down to half the validity,
 * so a key keeps the same URL for a while and browsers and CDNs can cache the image. Otherwise the media route
 * streams objects through the app with the same headers as disk.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ObjectCannedACL,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertSafeKey, isSafeKey, isSafePrefix } from '../keys.js';
import { integerInRange, invalidOption, isPlainObject, nonEmptyString, oneOf } from '../validate.js';
import type { ObjectInfo, PutMeta, SignedUrl, StorageAdapter, StoredObject } from './types.js';

/** Options of {@link s3Storage}. Exactly one of `client` and `clientConfig` is required, and `bucket`. */
export interface S3StorageOptions {
  /**
   * An `S3Client` the app already has. It is shared, not owned: `dispose()` leaves it open. Give either this or
   * `clientConfig`.
   */
  client?: S3Client;
  /**
   * Configuration for an `S3Client` this storage creates (and destroys on `dispose()`): `region`, `credentials`,
   * and for S3-compatible servers `endpoint`, `forcePathStyle: true` and, where the server rejects the SDK's
   * default CRC32 checksum headers (R2, B2, older MinIO), `requestChecksumCalculation: 'WHEN_REQUIRED'`.
   */
  clientConfig?: S3ClientConfig;
  /** The bucket that holds the objects. It must exist. */
  bucket: string;
  /**
   * Folder inside the bucket for every object, e.g. `'avatars'` → `avatars/profile_pictures/42/…-md.webp`, so the
   * bucket can hold other data (or several apps) side by side. Slash-separated segments of `[A-Za-z0-9_.-]`, without
   * a leading or trailing `/`.
   * @default '' (the bucket's root)
   */
  keyPrefix?: string;
  /**
   * Public origin of the bucket's root, ending in `/`: a CDN in front of the bucket or a public bucket's URL. Then
   * `url(key)` is `publicBaseUrl + keyPrefix/ + key` and pictures are linked there directly. Excludes `signedUrls`.
   * @default undefined (pictures are served through the adapters' media route)
   */
  publicBaseUrl?: string;
  /**
   * For a private bucket: the media route answers `GET /media/<key>` with a 302 to a presigned GET instead of
   * streaming the bytes through the app. Needs `@aws-sdk/s3-request-presigner`. `expiresIn` is the validity of a
   * URL in seconds (1 to 604,800, SigV4's limit); a key keeps the same URL for half of it, so browsers cache the
   * image, and the redirect itself is cacheable for at most half of the validity left. Excludes `publicBaseUrl`.
   * @default undefined (objects are streamed through the media route); `expiresIn` defaults to 3600
   */
  signedUrls?: { expiresIn?: number };
  /**
   * Canned ACL sent with every put, e.g. `'public-read'` for a bucket that still uses ACLs. Most buckets (and the
   * AWS default since 2023) disable ACLs and reject requests that carry one: prefer a bucket policy or a CDN.
   * @default undefined (no ACL header)
   */
  acl?: ObjectCannedACL;
  /**
   * Whether `deleteMany()` uses batch `DeleteObjects` (1,000 keys a request). Set `false` for servers that do not
   * implement it (e.g. Google Cloud Storage's XML API): keys are then deleted one `DeleteObject` at a time, a few
   * in parallel.
   * @default true
   */
  batchDelete?: boolean;
}

const ACLS: readonly ObjectCannedACL[] = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
];
const DEFAULT_EXPIRES_IN = 3600;
/** SigV4 presigned URLs are valid for at most seven days. */
const MAX_EXPIRES_IN = 7 * 24 * 3600;
/** `DeleteObjects` accepts at most 1,000 keys per request. */
const DELETE_BATCH = 1000;
/** Parallel `DeleteObject` requests when `batchDelete` is off. */
const DELETE_CONCURRENCY = 8;

type Presign = typeof import('@aws-sdk/s3-request-presigner').getSignedUrl;

/**
 * Stores objects in an S3-compatible bucket.
 *
 * @example
 * ```ts
 * import { s3Storage } from 'profile-picture/s3';
 * const storage = s3Storage({ clientConfig: { region: 'eu-west-1' }, bucket: 'my-app-avatars' });
 * ```
 * @example
 * ```ts
 * // Reuse the app's client; serve a private bucket through presigned URLs valid for an hour.
 * const storage = s3Storage({ client: s3, bucket: 'my-app-avatars', signedUrls: { expiresIn: 3600 } });
 * ```
 * @throws TypeError naming the option when `bucket` is missing, neither or both of `client` and `clientConfig`
 *   are given, `keyPrefix` or `publicBaseUrl` are malformed, or `publicBaseUrl` and `signedUrls` are combined;
 *   RangeError when `signedUrls.expiresIn` is out of range.
 */
export function s3Storage(options: S3StorageOptions): StorageAdapter {
  const resolved = resolveS3Options(options);
  const { bucket, keyPrefix, batchDelete } = resolved;
  const ownsClient = !options.client;
  const client = options.client ?? new S3Client({ ...options.clientConfig });
  let disposed = false;

  /** The key inside the bucket, after checking the storage key. */
  function objectKey(key: string): string {
    assertSafeKey(key);
    return keyPrefix + key;
  }

  /** The error a failed request rejects with: what was attempted, on what, why; the SDK's error as `cause`. */
  function failure(operation: string, subject: string, cause: unknown): Error {
    return new Error(
      `[profile-picture] s3Storage: ${operation} ${subject} in bucket ${JSON.stringify(bucket)} failed: ${describeCause(cause)}`,
      { cause },
    );
  }

  async function deleteOne(key: string): Promise<void> {
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyPrefix + key }));
    } catch (err) {
      // AWS answers 204 for a missing key; Google Cloud Storage and a few others answer 404 NoSuchKey.
      if (!isNoSuchKey(err)) throw failure('DeleteObject', JSON.stringify(key), err);
    }
  }

  async function deleteBatch(keys: string[]): Promise<void> {
    let response;
    try {
      response = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.map((key) => ({ Key: keyPrefix + key })), Quiet: true },
        }),
      );
    } catch (err) {
      throw failure('DeleteObjects', `of ${keys.length} key(s) from ${JSON.stringify(keys[0])}`, err);
    }
    // Per-key failures arrive inside a 200 response, not as a rejection.
    const errors = (response.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
    if (errors.length > 0) {
      const listed = errors
        .slice(0, 5)
        .map((error) => `${JSON.stringify(error.Key?.slice(keyPrefix.length))} (${error.Code}: ${error.Message})`)
        .join(', ');
      throw new Error(
        `[profile-picture] s3Storage: DeleteObjects in bucket ${JSON.stringify(bucket)} failed for ${errors.length} of ` +
          `${keys.length} keys: ${listed}${errors.length > 5 ? ', …' : ''}`,
        { cause: errors },
      );
    }
  }

  let presign: Promise<Presign> | undefined;
  function loadPresigner(): Promise<Presign> {
    presign ??= import('@aws-sdk/s3-request-presigner').then(
      (module) => module.getSignedUrl,
      (err: unknown) => {
        presign = undefined; // let a later call retry once the package is installed
        throw new Error('[profile-picture] s3Storage({ signedUrls }) needs the package @aws-sdk/s3-request-presigner', {
          cause: err,
        });
      },
    );
    return presign;
  }

  const storage: StorageAdapter = {
    name: 's3',

    async put(key: string, body: Uint8Array, meta: PutMeta): Promise<void> {
      const Key = objectKey(key);
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: body,
            ContentLength: body.byteLength,
            ContentMD5: createHash('md5').update(body).digest('base64'),
            ContentType: meta.contentType,
            CacheControl: meta.cacheControl,
            ContentDisposition: 'inline',
            ACL: resolved.acl,
          }),
        );
      } catch (err) {
        throw failure('PutObject', JSON.stringify(key), err);
      }
    },

    async get(key: string): Promise<StoredObject | null> {
      const Key = objectKey(key);
      let response;
      try {
        response = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      } catch (err) {
        if (isNoSuchKey(err)) return null;
        throw failure('GetObject', JSON.stringify(key), err);
      }
      const body = response.Body;
      if (!(body instanceof Readable) || typeof response.ContentLength !== 'number' || !response.ETag) {
        (body as Readable | undefined)?.destroy?.();
        throw failure('GetObject', JSON.stringify(key), new Error('the response lacks a streaming body, Content-Length or ETag'));
      }
      return {
        body,
        size: response.ContentLength,
        contentType: response.ContentType ?? 'application/octet-stream',
        etag: quoted(response.ETag),
        ...(response.LastModified ? { lastModified: response.LastModified } : {}),
      };
    },

    async delete(key: string): Promise<void> {
      assertSafeKey(key);
      await deleteOne(key);
    },

    async deleteMany(keys: string[]): Promise<void> {
      if (!Array.isArray(keys)) throw invalidOption('deleteMany(keys)', 'an array of keys', keys);
      for (const key of keys) assertSafeKey(key);
      const unique = [...new Set(keys)];
      if (batchDelete) {
        for (let start = 0; start < unique.length; start += DELETE_BATCH) {
          await deleteBatch(unique.slice(start, start + DELETE_BATCH));
        }
        return;
      }
      let next = 0;
      const worker = async () => {
        while (next < unique.length) await deleteOne(unique[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, unique.length) }, worker));
    },

    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      if (!isSafePrefix(prefix)) throw new TypeError(`[profile-picture] Unsafe storage prefix: ${JSON.stringify(prefix)}`);
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix + prefix || undefined, ContinuationToken: token }),
          );
        } catch (err) {
          throw failure('ListObjectsV2', `under ${JSON.stringify(prefix)}`, err);
        }
        for (const object of page.Contents ?? []) {
          if (!object.Key?.startsWith(keyPrefix)) continue;
          yield {
            key: object.Key.slice(keyPrefix.length),
            size: object.Size ?? 0,
            // A server that omits the date makes the object look new, so sweep() waits rather than deletes.
            lastModified: object.LastModified ?? new Date(),
          };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      if (ownsClient) client.destroy();
    },
  };

  if (resolved.publicBaseUrl !== undefined) {
    const base = resolved.publicBaseUrl;
    storage.url = (key: string) => base + objectKey(key);
  }
  if (resolved.expiresIn !== undefined) {
    const expiresIn = resolved.expiresIn;
    // Signing at a rounded-down date gives every request in the same window the same URL (cacheable downstream),
    // while each URL handed out is still valid for at least half of `expiresIn`.
    const window = Math.max(1, Math.floor(expiresIn / 2)) * 1000;
    void loadPresigner().catch(() => {}); // load it now; a missing package is reported on the first request
    storage.signedUrl = async (key: string): Promise<SignedUrl> => {
      const Key = objectKey(key);
      const getSignedUrl = await loadPresigner();
      const signedAt = Math.floor(Date.now() / window) * window;
      try {
        const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key }), {
          expiresIn,
          signingDate: new Date(signedAt),
        });
        return { url, expiresAt: new Date(signedAt + expiresIn * 1000) };
      } catch (err) {
        throw failure('presigning GetObject', JSON.stringify(key), err);
      }
    };
  }
  return storage;
}

// --- internal ---

interface ResolvedS3Options {
  bucket: string;
  /** `''` or the configured prefix followed by `/`. */
  keyPrefix: string;
  publicBaseUrl: string | undefined;
  expiresIn: number | undefined;
  acl: ObjectCannedACL | undefined;
  batchDelete: boolean;
}

function resolveS3Options(options: S3StorageOptions): ResolvedS3Options {
  if (!isPlainObject(options)) throw invalidOption('s3Storage(options)', 'an options object', options);
  const { client, clientConfig } = options;
  if (client !== undefined && clientConfig !== undefined) {
    throw new TypeError('[profile-picture] Expected either `s3Storage({ client })` or `s3Storage({ clientConfig })`, not both');
  }
  if (client === undefined && clientConfig === undefined) {
    throw new TypeError(
      '[profile-picture] Expected an S3Client for `s3Storage({ client })` or an S3ClientConfig for `s3Storage({ clientConfig })` but received neither',
    );
  }
  if (client !== undefined && typeof (client as { send?: unknown } | null)?.send !== 'function') {
    throw invalidOption('s3Storage({ client })', 'an S3Client', client);
  }
  if (clientConfig !== undefined && !isPlainObject(clientConfig)) {
    throw invalidOption('s3Storage({ clientConfig })', 'an S3ClientConfig object', clientConfig);
  }
  const bucket = nonEmptyString('s3Storage({ bucket })', options.bucket);

  let keyPrefix = '';
  if (options.keyPrefix !== undefined && options.keyPrefix !== '') {
    if (!isSafeKey(options.keyPrefix)) {
      throw invalidOption(
        's3Storage({ keyPrefix })',
        'slash-separated segments of [A-Za-z0-9_.-] without a leading or trailing "/"',
        options.keyPrefix,
      );
    }
    keyPrefix = `${options.keyPrefix}/`;
  }

  const { publicBaseUrl, signedUrls } = options;
  if (publicBaseUrl !== undefined && !isBaseUrl(publicBaseUrl)) {
    throw invalidOption('s3Storage({ publicBaseUrl })', 'an absolute http(s) URL ending in "/"', publicBaseUrl);
  }
  let expiresIn: number | undefined;
  if (signedUrls !== undefined) {
    if (!isPlainObject(signedUrls)) {
      throw invalidOption('s3Storage({ signedUrls })', 'an object such as { expiresIn: 3600 }', signedUrls);
    }
    if (publicBaseUrl !== undefined) {
      throw new TypeError(
        '[profile-picture] `s3Storage({ publicBaseUrl })` and `s3Storage({ signedUrls })` exclude each other: objects behind a public URL need no signature',
      );
    }
    expiresIn = integerInRange(
      's3Storage({ signedUrls: { expiresIn } })',
      signedUrls.expiresIn ?? DEFAULT_EXPIRES_IN,
      1,
      MAX_EXPIRES_IN,
    );
  }
  const acl = options.acl === undefined ? undefined : oneOf('s3Storage({ acl })', options.acl, ACLS);
  const batchDelete = options.batchDelete ?? true;
  if (typeof batchDelete !== 'boolean') throw invalidOption('s3Storage({ batchDelete })', 'a boolean', batchDelete);
  return { bucket, keyPrefix, publicBaseUrl, expiresIn, acl, batchDelete };
}

function isBaseUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !value.endsWith('/')) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

/** "Not found" for an object, as opposed to a missing bucket or a denied request (which must fail loudly). */
function isNoSuchKey(err: unknown): boolean {
  const error = err as { name?: unknown; Code?: unknown } | null;
  return error?.name === 'NoSuchKey' || error?.Code === 'NoSuchKey';
}

/** `SlowDown (HTTP 503): Please reduce your request rate.` or `ECONNRESET: socket hang up`. */
function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const { name, message } = cause;
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (cause as { code?: unknown }).code;
  const label = typeof code === 'string' && code !== name ? `${name} ${code}` : name;
  return `${label}${status ? ` (HTTP ${status})` : ''}: ${message}`;
}

/** S3 sends quoted ETags; a few compatible servers do not. */
function quoted(etag: string): string {
  return /^(W\/)?"[^"]*"$/.test(etag) ? etag : `"${etag}"`;
}
