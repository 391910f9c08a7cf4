/**
 * Design of `pictures.regenerate()` (issue 11 §2): the types it will take and resolve. Nothing implements them yet
 * and `index.ts` does not export them; they land here first so the implementation, the CLI (`profile-picture
 * regenerate`) and the admin page can be reviewed against one shape.
 *
 * How it will work, and why:
 * - **Which records.** A record is stale when its variant names differ from `variants`, a variant's width differs
 *   from `min(side, source width)`, or its `contentType` is not the configured format's. Quality is not in the record
 *   today, so a quality change alone is not detected until the record carries a rendition fingerprint (a record
 *   format change, left to the master step of §1). A stale record is re-rendered; a matching one is skipped.
 * - **Source.** The record's master once §1 lands; for older records their widest variant, read back from storage,
 *   decode-checked under `limits.inputPixels` (our own objects, so `accept` does not apply). Never upscaled: a
 *   variant wider than the source is rendered at the source's width, and `min(side, source width)` then matches on
 *   the next run, so the source-limited record is not picked up again.
 * - **Order, as an upload** (DESIGN invariant 2): every variant written anew under a fresh upload id → compare-and-set
 *   against the version that was read (new `version` and `contentHash`; `createdAt` and `updatedAt` kept: the user
 *   did not change their picture) → every object of the replaced record deleted in the background. Variants that
 *   were already right are re-encoded too rather than kept: a kept key would be referenced by two records, which
 *   invariant 5 forbids (history's pruning, §3, would delete it under the current record).
 * - **A concurrent upload wins.** The compare-and-set expects the version the source was read from; when another
 *   write (an upload, a remove, a restore, another regenerate in another process) moved it on, regenerate does not
 *   retry: it deletes the objects it wrote and counts the user as skipped. The newer picture stays.
 * - **Crash-safe and resumable without state of its own.** Staleness is computed from the records, so running it
 *   again continues where it stopped: done users match and are skipped. A crash before the commit leaves only
 *   unreferenced objects, after it only the old objects; both are `sweep()`'s orphans (invariant 2). Nothing relies
 *   on the in-process lock (invariant 7); the lock only spares retries between this process's uploads and regenerate.
 * - **Walk.** `users.listPictures()` (its contract, in `users/types.ts`, yields every user whose record exists
 *   throughout exactly once), or `getPicture()` for each of `userIds`. Users are processed `concurrency` at a time;
 *   memory stays bounded by `concurrency` × (source + rendered variants).
 */
import type { ErrorCode } from './errors.js';

/** Options of `pictures.regenerate()`. */
export interface RegenerateOptions {
  /**
   * Users re-rendered at once. Each holds a decoded source and its encoded variants, and competes with uploads for
   * the CPU: keep it at or below the core count on a server that also takes uploads.
   * @default 2
   */
  concurrency?: number;
  /**
   * Stops taking new users; users in progress stop before their commit and delete what they wrote. The promise then
   * resolves with `aborted: true`: a later run continues where this one stopped (Ctrl-C in the CLI).
   */
  signal?: AbortSignal;
  /** Called after each user with the running totals. Not awaited; what it throws is ignored. */
  onProgress?: (progress: RegenerateProgress) => void;
  /** Only these users, read with `getPicture()` instead of walking `listPictures()`. */
  userIds?: Iterable<string> | AsyncIterable<string>;
}

/** A user `regenerate()` could not re-render; the others go on. */
export interface RegenerateFailure {
  userId: string;
  /**
   * Why, as an error code: e.g. `STORAGE_FAILED` (the source object could not be read or a new one written),
   * `CORRUPT_IMAGE` (the source object does not decode).
   */
  code: ErrorCode;
}

/** What `regenerate()` did. */
export interface RegenerateResult {
  /** Users with a record that were looked at. */
  scanned: number;
  /** Users whose record now matches today's configuration through this run. */
  regenerated: number;
  /** Users left alone: their record already matched, or another write changed it while this run rendered it. */
  skipped: number;
  /** Users that failed; a later run retries them. */
  failed: RegenerateFailure[];
  /** True when `signal` stopped the run before every user was looked at. */
  aborted: boolean;
}

/** The running totals `onProgress` receives. */
export interface RegenerateProgress extends Omit<RegenerateResult, 'aborted'> {
  /** The user just handled. */
  userId: string;
}
