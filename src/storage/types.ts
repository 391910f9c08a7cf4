import type { Readable } from 'node:stream';

/** Metadata stored with an object. */
export interface PutMeta {
  /** MIME type of the bytes, served back as `Content-Type`. */
  contentType: string;
  /** `Cache-Control` to store with the object where the backend supports it (S3, CDN origins). */
  cacheControl?: string;
}

/** An object read back from storage. */
export interface StoredObject {
  /**
   * The bytes, as a stream so large objects never sit in memory twice. Consume or `destroy()` it: on disk it holds
   * an open file.
   */
  body: Readable;
  /** Size in bytes. */
  size: number;
  /** MIME type recorded at `put`. */
  contentType: string;
  /** Strong entity tag (quoted), stable for the same bytes. */
  etag: string;
  /** When the object was written, where the backend knows. */
  lastModified?: Date;
}

/** A time-limited URL of an object, from {@link StorageAdapter.signedUrl}. */
export interface SignedUrl {
  /** Absolute URL where the object can be fetched directly (e.g. a presigned S3 GET). */
  url: string;
  /** When the URL stops working; the media route never lets a redirect to it be cached past half the time left. */
  expiresAt: Date;
}

/** One entry of {@link StorageAdapter.list}. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** When the object was written; `sweep()` keeps objects younger than its grace period. */
  lastModified: Date;
}

/**
 * Where picture bytes live. A plain object returned by a factory (`diskStorage()`, `memoryStorage()`, …).
 *
 * Contract:
 * - keys are `/`-separated relative paths produced by the library's key policy; implementations must still reject
 *   unsafe keys (`..`, absolute, backslash, NUL) with an error rather than touch anything outside their root;
 * - `put` is atomic for readers: a concurrent `get` sees either the previous object (null if there was none) or the
 *   whole new one, and its `size` and `etag` always describe the body it returns;
 * - `get` resolves `null` for a missing key and never throws for "not found";
 * - `delete` is idempotent: deleting a missing key resolves;
 * - `list(prefix)` yields every object whose key starts with `prefix`, in any order; `prefix` is `''` or a safe key
 *   followed by `/`, so it matches whole segments (`u/12/` never yields `u/123/…`); other prefixes are rejected;
 * - `deleteMany(keys)`, when present, is `delete` for every key (idempotent, unsafe keys rejected before anything is
 *   deleted), in as few backend calls as the backend allows;
 * - `signedUrl(key)`, when present, makes the media route redirect to that URL instead of streaming the object;
 * - `dispose()`, when present, is safe to call twice.
 *
 * `describeStorageAdapter()` from `profile-picture/testing` checks all of this against a real backend.
 */
export interface StorageAdapter {
  /** Short name for diagnostics, e.g. `'disk'`. */
  readonly name: string;
  put(key: string, body: Uint8Array, meta: PutMeta): Promise<void>;
  get(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Optional: a public (CDN) URL for the key. Storages without it are served through the library's media route. */
  url?(key: string): string;
  /**
   * Optional: a short-lived URL where the object can be fetched directly (a private bucket's presigned GET). When
   * present, the media route answers `GET <publicPath><key>` with a 302 to it (after refusing unsafe and foreign
   * keys, so nothing is signed for them) instead of streaming the bytes through the app; `HEAD` is still answered
   * from `get()`. Resolving does not mean the object exists: the URL then answers 404 or 403 itself.
   */
  signedUrl?(key: string): Promise<SignedUrl>;
  /**
   * Optional: deletes every key in `keys`, like calling `delete` for each, in as few round trips as the backend
   * allows (S3: `DeleteObjects`, 1,000 keys per call). Missing keys count as deleted; an empty array resolves
   * without a call. Every key is checked before anything is deleted, so an unsafe key rejects with nothing removed.
   * Rejects when any key could not be deleted (the others may be gone).
   */
  deleteMany?(keys: string[]): Promise<void>;
  /**
   * Optional: deletes the backend's own leftovers under `prefix` (as in `list`) last written before `before` — for
   * disk, the temp files of writes a crashed process never finished — and resolves how many it removed. `sweep()`
   * calls it with the service's prefix and its cutoff. Never touches objects or files the backend did not create;
   * a leftover that cannot be removed is skipped, while failing to look (e.g. an unreadable directory) rejects.
   */
  sweepTemporary?(prefix: string, before: Date): Promise<number>;
  /** Optional: release clients, handles and timers. Safe to call twice. */
  dispose?(): Promise<void>;
}
