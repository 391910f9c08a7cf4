/**
 * `pictures.regenerate()` (issue 11 §2): re-renders every record that does not match today's configuration.
 *
 * How it works, and why:
 * - **Which records.** `isStale()` in rendition.ts: variant names, widths, format, and the record's `rendition`
 *   fingerprint (format, quality, position); records older than the fingerprint only where the record shows it.
 *   A stale record is re-rendered; a matching one is skipped.
 * - **Animated pictures are not re-rendered yet** (records with `stills`): they are counted as skipped, never made
 *   into stills from one frame.
 * - **Source.** The record's master; for records without one, their widest variant. Either is read back from storage
 *   and decode-checked under `limits.inputPixels` (our own objects, so `accept` does not apply). From a master the
 *   variants are rendered as an upload renders them (with the master's crop already applied); from a variant never
 *   upscaled: a variant wider than the source is rendered at the source's width, which then matches on the next run,
 *   so the source-limited record is not picked up again. A master is copied byte for byte under the new upload id
 *   (it is already our own re-encoded image); records without one do not get one made from a variant.
 * - **Order, as an upload** (DESIGN invariant 2): every variant written anew under a fresh upload id → compare-and-set
 *   against the version that was read (new `version`, `contentHash`, `preview` and `rendition`; `createdAt`,
 *   `updatedAt` and any field it does not build kept: the user did not change their picture) → the replaced record's
 *   objects that the new record no longer references deleted in the background.
 *   Variants that were already right are re-encoded too rather than kept: a kept key would be referenced by two
 *   records, which invariant 5 forbids (history's pruning, §3, would delete it under the current record).
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
import { isProfilePictureError, type ErrorCode, type ErrorFactory, type ProfilePictureError } from './errors.js';
import type { BackendCall } from './backend-call.js';
import { inspectImage, type InspectedImage } from './inspect.js';
import type { RenderedMaster } from './master.js';
import type { ResolvedOptions } from './options.js';
import { readInput } from './read-input.js';
import { renderVariants, type CropRect, type RenderedPicture, type RenderedVariant } from './render.js';
import { hasPicture } from './record-state.js';
import { isStale, targetSides } from './rendition.js';
import { isUnknownUserError } from './unknown-user.js';
import type { PictureMaster, PictureRecord } from './users/types.js';
import { invalidOption, positiveInteger } from './validate.js';

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
  /**
   * Called after each user with the running totals. Not awaited; what it throws is ignored. Its `failed` is one
   * array for the whole run, appended to as users fail (copying it for every user would cost time quadratic in the
   * failures): read it during the call, and copy it (`[...progress.failed]`) to keep what it held then. Changing it
   * does not change the result.
   */
  onProgress?: (progress: RegenerateProgress) => void;
  /** Only these users, read with `getPicture()` instead of walking `listPictures()`. */
  userIds?: Iterable<string> | AsyncIterable<string>;
}

/** A user `regenerate()` could not re-render; the others go on. */
export interface RegenerateFailure {
  userId: string;
  /**
   * Why, as an error code: e.g. `STORAGE_FAILED` (the source object could not be read or a new one written),
   * `NOT_FOUND` (the record's source object is missing), `CORRUPT_IMAGE` (it does not decode), `INTERNAL` (anything
   * that is not a {@link ProfilePictureError}).
   */
  code: ErrorCode | 'INTERNAL';
}

/** What `regenerate()` did. */
export interface RegenerateResult {
  /** Users with a record that were looked at. */
  scanned: number;
  /** Users whose record now matches today's configuration through this run. */
  regenerated: number;
  /**
   * Users left alone: their record already matched, or another write changed it while this run rendered it (an erase,
   * or the app deleting the user's row, included).
   */
  skipped: number;
  /** Users that failed; a later run retries them. */
  failed: RegenerateFailure[];
  /** True when `signal` stopped the run before every user was looked at. */
  aborted: boolean;
}

/** The running totals `onProgress` receives (`failed`: the run's one growing list, see {@link RegenerateOptions.onProgress}). */
export interface RegenerateProgress extends Omit<RegenerateResult, 'aborted'> {
  /** The user just handled. */
  userId: string;
}

/** What `regenerate()` needs from the service: its options and its upload ordering (`publish` in pictures.ts). */
export interface RegenerateDependencies {
  resolved: ResolvedOptions;
  fail: ErrorFactory;
  backend: BackendCall;
  /**
   * Renders into objects under a fresh upload id (`produce`), compare-and-sets the record to `decide(current)`, then
   * deletes the replaced record's objects in the background; when `decide` declines, deletes what was written and
   * resolves `undefined`.
   */
  publish(
    userId: string,
    produce: (writes: {
      write(name: string, variant: RenderedVariant): void;
      writeMaster(master: RenderedMaster, crop?: CropRect): void;
    }) => Promise<RenderedPicture>,
    decide: (current: PictureRecord | null, made: Omit<PictureRecord, 'createdAt' | 'updatedAt'>) => PictureRecord | undefined,
    options: { signal?: AbortSignal | undefined },
  ): Promise<unknown>;
}

/** Users at once by default. */
const DEFAULT_CONCURRENCY = 2;
/** Largest source object read back (a master is ~1–2 MB; a variant less). */
const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
/** Formats the library itself writes: the only ones a source object may be in. */
const SOURCE_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;
const MASTER_EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/webp': 'webp' };

/** Creates the service's `regenerate()`. */
export function createRegenerate({ resolved, fail, backend, publish }: RegenerateDependencies) {
  const { storage, users } = resolved;

  /** The source of a stale record: its master, else its widest variant. */
  async function readSource(
    record: PictureRecord,
    signal: AbortSignal | undefined,
  ): Promise<{ image: InspectedImage; bytes: Uint8Array; master?: PictureMaster }> {
    const master = record.master;
    const widest = Object.values(record.variants ?? {}).reduce<PictureRecord['variants'][string] | undefined>(
      (best, variant) => (!best || variant.width > best.width ? variant : best),
      undefined,
    );
    const key = master?.key ?? widest?.key;
    if (typeof key !== 'string') throw fail('NOT_FOUND', { details: { reason: 'no-source' } });
    const object = await backend('get', () => storage.get(key), { late: (late) => late?.body.destroy() });
    if (!object) throw fail('NOT_FOUND', { details: { reason: 'source-missing' } });
    // The body too is bounded by the storage timeout (a stalled stream would hold a concurrency slot for good), and
    // stops with `signal`; either destroys the stream.
    const timeoutMs = resolved.timeouts.storageMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    let bytes: Uint8Array;
    try {
      bytes = await readInput(object.body, MAX_SOURCE_BYTES, fail, signal ? AbortSignal.any([signal, timeout]) : timeout);
    } catch (error) {
      if (!timeout.aborted || signal?.aborted) throw error;
      const cause = new Error(`get() body did not end within ${timeoutMs} ms`);
      throw fail('STORAGE_FAILED', { details: { operation: 'get', timeoutMs }, cause });
    }
    const limits = { accept: SOURCE_FORMATS, inputPixels: resolved.limits.inputPixels, minSide: 1 };
    return { image: await inspectImage(bytes, limits, fail), bytes, ...(master ? { master } : {}) };
  }

  /** Re-renders one user's record; `'skipped'` when it matched or another write moved it on meanwhile. */
  async function regenerateOne(userId: string, record: PictureRecord, signal?: AbortSignal): Promise<'regenerated' | 'skipped'> {
    if (!isStale(record, resolved)) return 'skipped';
    // Animated pictures are not re-rendered yet: their only sources are the animated variants, and one frame would
    // turn them into stills. The record keeps serving as it is (`url()` falls back to the closest variant).
    if (record.stills) return 'skipped';
    let source;
    try {
      if (signal?.aborted) throw fail('ABORTED');
      source = await readSource(record, signal);
    } catch (error) {
      // Another write (an upload, another regenerate) may have replaced the record and deleted its source since it
      // was read: then there is nothing to repair. Only a record that still points at it has a broken source.
      const current = await backend('getPicture', () => users.getPicture(userId));
      if (current?.version !== record.version) return 'skipped';
      throw error;
    }
    const sides = targetSides(record, resolved.variants);
    const settings = {
      variants: sides,
      output: resolved.output,
      // A master without a crop is the whole (2:1-trimmed) upload: the square comes from `position`, as at upload.
      position: source.master && !source.master.crop ? resolved.position : ('centre' as const),
    };
    const published = await publish(
      userId,
      async (writes) => {
        const rendered = await renderVariants(source.image, settings, fail, writes.write);
        if (source.master) {
          const { width, height, contentType, crop } = source.master;
          const extension = MASTER_EXTENSIONS[contentType];
          if (!extension) throw fail('CORRUPT_IMAGE', { details: { reason: 'master-type' } });
          writes.writeMaster({ data: Buffer.from(source.bytes), width, height, contentType, extension }, crop);
        }
        return rendered;
      },
      // No retry against a newer record: whoever wrote it (an upload, a remove, another regenerate) wins. Fields this
      // does not build (the app's own, `stills`) are kept; what it built (variants, preview, master…) is replaced.
      (current, made) =>
        current?.version === record.version
          ? { ...current, ...made, createdAt: current.createdAt, updatedAt: current.updatedAt }
          : undefined,
      { signal },
    );
    return published ? 'regenerated' : 'skipped';
  }

  return async function regenerate(options: RegenerateOptions = {}): Promise<RegenerateResult> {
    const concurrency = positiveInteger('regenerate({ concurrency })', options.concurrency ?? DEFAULT_CONCURRENCY);
    const { signal, onProgress, userIds } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw invalidOption('regenerate({ onProgress })', 'a function', onProgress);
    }
    const listPictures = users.listPictures?.bind(users);
    if (!userIds && !listPictures) {
      throw new TypeError('[profile-picture] regenerate() needs `users.listPictures()`, or `userIds`');
    }
    let stopped = 0;
    const totals = { scanned: 0, regenerated: 0, skipped: 0, failed: [] as RegenerateFailure[] };
    // The hook's own copy of `failed`, kept in step one push at a time: what the hook does to it stays out of the result.
    const reportedFailures: RegenerateFailure[] = [];
    const handle = async (userId: string, record: PictureRecord) => {
      let outcome: 'regenerated' | 'skipped' | RegenerateFailure;
      try {
        outcome = await regenerateOne(userId, record, signal);
      } catch (error) {
        // A user stopped by the signal is neither done nor failed: the next run takes it up again.
        if (signal?.aborted && isProfilePictureError(error) && error.code === 'ABORTED') {
          stopped++;
          return;
        }
        // The user's picture went while it was rendered — an erase in this process overlapped, or the app deleted the
        // user's row (a repository on the users table: unknown-user.ts) —: nothing to repair.
        outcome =
          erased(error) || isUnknownUserError(error) ? 'skipped' : { userId, code: isProfilePictureError(error) ? error.code : 'INTERNAL' };
      }
      totals.scanned++;
      if (typeof outcome === 'string') totals[outcome]++;
      else {
        totals.failed.push(outcome);
        reportedFailures.push({ ...outcome });
      }
      try {
        onProgress?.({ ...totals, failed: reportedFailures, userId });
      } catch {
        // The app's progress hook must not stop the run.
      }
    };

    const running = new Set<Promise<void>>();
    let aborted = false;
    try {
      for await (const { userId, record } of walk(userIds, listPictures)) {
        while (running.size >= concurrency) await Promise.race(running);
        if (signal?.aborted) {
          aborted = true;
          break;
        }
        const job = handle(userId, record).finally(() => running.delete(job));
        running.add(job);
      }
    } finally {
      // A listing that fails midway rejects only once the users in progress are done: none keeps writing after.
      await Promise.allSettled(running);
    }
    return { ...totals, aborted: aborted || stopped > 0 };
  };

  /** The `CONFLICT` an upload gets when an erase of its user overlapped it (see `publish` in pictures.ts). */
  function erased(error: unknown): boolean {
    return isProfilePictureError(error) && error.code === 'CONFLICT' && error.details?.reason === 'erased';
  }

  /** Every user with a record: `userIds` read one by one, else the repository's listing. */
  async function* walk(
    userIds: RegenerateOptions['userIds'],
    listPictures: (() => AsyncIterable<{ userId: string; record: PictureRecord }>) | undefined,
  ): AsyncIterable<{ userId: string; record: PictureRecord }> {
    if (!userIds) {
      // A tombstone (history or a lock, no picture: record-state.ts) has nothing to re-render.
      for await (const entry of backend.iterate('listPictures', listPictures!)) if (hasPicture(entry.record)) yield entry;
      return;
    }
    for await (const userId of userIds) {
      if (typeof userId !== 'string' || userId === '') throw invalidOption('regenerate({ userIds })', 'non-empty strings', userId);
      const record = await backend('getPicture', () => users.getPicture(userId));
      if (hasPicture(record)) yield { userId, record };
    }
  }
}
