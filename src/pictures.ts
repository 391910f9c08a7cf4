/**
 * The service: orchestrates intake → inspect → render → store → commit → clean up.
 *
 * Ordering is what keeps users' pictures safe: every new object is written before the record changes, the record
 * changes by compare-and-set, and old objects are deleted only after the record points elsewhere. The request answers
 * right after the commit; the old objects are deleted in the background (`cleanup.ts`), so a slow or hanging storage
 * costs at most orphans, never a wedged request. A failure before the commit removes what this upload wrote; a
 * failure after it leaves at most an unreferenced object for `sweep()`. Every backend call has a timeout
 * (`backend-call.ts`); a commit that timed out may still land, so it deletes nothing.
 *
 * None of this relies on the in-process lock (DESIGN invariant 7): every upload writes objects of its own (the key
 * carries a random upload id, see keys.ts), so a clean-up — after a replace, a rollback or a remove, in this process
 * or another — only ever deletes objects no other upload will commit. The per-user lock only spares concurrent
 * uploads of one user some compare-and-set retries.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBackendCall, isBackendTimeout } from './backend-call.js';
import { createCleanup } from './cleanup.js';
import { createEraseGuard } from './erase-guard.js';
import { createErrorFactory, isProfilePictureError } from './errors.js';
import { createHistory, stateAfterReplacing, type PreviousPicture } from './history.js';
import { inspectImage } from './inspect.js';
import { createInFlightKeys } from './in-flight.js';
import {
  createRequestUploader,
  type ProcessOptions,
  type UploadRequest,
  type UploadRequestOptions,
} from './intake/upload-request.js';
import { heldKeys } from './held-keys.js';
import { isSafeKey, masterKey, newUploadId, variantKey } from './keys.js';
import { renderWithMaster, type RenderedMaster } from './master.js';
import { moderate, moderationVariant } from './moderation.js';
import { createKeyedMutex } from './mutex.js';
import { resolveOptions, type ProfilePicturesOptions, type ResolvedOptions } from './options.js';
import { renderPlaceholder, type PlaceholderUser } from './placeholder.js';
import { createPrivacy, type EraseOptions, type EraseReceipt, type PictureExport } from './privacy.js';
import { createRegenerate, type RegenerateOptions, type RegenerateResult } from './regenerate.js';
import { readInput, type UploadInput } from './read-input.js';
import { hasPicture, withoutPicture } from './record-state.js';
import { encodingOf, renderVariants, type CropRect, type RenderedPicture, type RenderedVariant } from './render.js';
import { canAnimate, renderAnimatedVariants } from './render-animated.js';
import { IMMUTABLE_CACHE, serveObject, type ServeRequest, type ServeResult } from './serve.js';
import { countPictures, type PictureStats, type StatsOptions, type StatsProgress } from './stats.js';
import { phaseReporter, progressHook } from './progress-hook.js';
import { commitUpload, openUpload } from './upload-gate.js';
import { createUserLocks } from './user-lock.js';
import { isUnknownUserError, unknownUserDetails } from './unknown-user.js';
import type { PictureMaster, PictureRecord, PictureVariant } from './users/types.js';
import { variantFor } from './variant-choice.js';

/** Options of a single {@link ProfilePictures.upload}. */
export interface UploadOptions {
  /** Crop rectangle in source pixels (after EXIF orientation), applied before the square cover-crop. */
  crop?: CropRect;
  /** Aborts the upload; nothing is stored and the current picture stays. */
  signal?: AbortSignal;
}

/** Options of {@link ProfilePictures.url}. */
export interface UrlOptions {
  /**
   * A picture that does not move: for an animated record (`record.stills`, option `animated`) the still of the
   * variant — its first frame — chosen by the same stand-in rule; any other record's variants are stills already.
   * @default false
   */
  still?: boolean;
}

/** Options of {@link ProfilePictures.sweep}. */
export interface SweepOptions {
  /**
   * Only objects older than this many milliseconds are deleted, so uploads in flight in other processes (written,
   * not yet committed) are safe. Keep it far above your longest upload and above the database's own statement
   * timeout (a compare-and-set that timed out here may still commit there). Uploads in flight in this process are
   * left alone whatever the value.
   * @default 3_600_000 (1 hour)
   */
  olderThan?: number;
  /**
   * Deletes nothing: the result lists the objects that would be deleted (`keys`, `bytes`). The storage's own
   * leftovers (`temporary`) are not looked at.
   * @default false
   */
  dryRun?: boolean;
  /**
   * Called as the sweep goes, for a progress display: every 100 objects listed, records read and orphans deleted,
   * and at the end of each phase (the storage's leftovers: once, as that call starts). The orphans' number is known
   * once the records are read; the listings' totals only at their ends. Not awaited; what it throws is ignored.
   * @example onProgress: ({ phase, scanned, records, orphans, deleted }) => console.error(phase, scanned, records, `${deleted}/${orphans}`)
   */
  onProgress?: (progress: SweepProgress) => void;
}

/** What {@link SweepOptions.onProgress} receives: how far `sweep()` has got. */
export interface SweepProgress {
  /**
   * `'objects'` while storage is listed, `'records'` while the records are read, `'deletes'` while the orphans are
   * deleted, `'temporary'` while the storage sweeps its own leftovers. A dry run ends after `'records'`.
   */
  phase: 'objects' | 'records' | 'deletes' | 'temporary';
  /** Objects listed so far. */
  scanned: number;
  /** Records read so far. */
  records: number;
  /** Orphans old enough to delete: 0 until the records are read. */
  orphans: number;
  /** Orphans deleted so far (a failed delete is not counted; the sweep rejects with it at the end). */
  deleted: number;
}

/** What {@link ProfilePictures.sweep} did. */
export interface SweepResult {
  /** Objects looked at under the prefix. */
  scanned: number;
  /** Unreferenced objects deleted. */
  deleted: number;
  /**
   * Storage leftovers deleted (for `diskStorage`, temp files of writes a crashed process never finished); 0 when
   * the storage has no `sweepTemporary()`.
   */
  temporary: number;
  /** With `dryRun` only: the unreferenced objects old enough to be deleted, which were left in place. */
  keys?: string[];
  /** With `dryRun` only: their total size in bytes. */
  bytes?: number;
}

/** The profile-picture service returned by {@link createProfilePictures}. */
export interface ProfilePictures {
  /**
   * Validates, renders and stores a new picture for `userId`, replacing the current one.
   * Resolves as soon as the record is committed; the replaced picture's objects are deleted afterwards, in the
   * background (see {@link ProfilePictures.flush}).
   * @returns the new record.
   * @throws ProfilePictureError `LOCKED` (`lock()`, `details.reason`), `TOO_MANY_CHANGES` (`limits.changes`,
   *   `details.retryAfter`), `FILE_TOO_LARGE`, `NO_FILE`, `UNSUPPORTED_TYPE`, `NOT_AN_IMAGE`, `CORRUPT_IMAGE`,
   *   `IMAGE_TOO_LARGE`, `IMAGE_TOO_SMALL`, `INVALID_CROP`, `ABORTED`, `CONFLICT` (`details.reason: 'erased'` when an
   *   erase of the user ran meanwhile), `NOT_FOUND` (`details.reason: 'no-such-user'`: the repository has no row for
   *   the user, see `unknownUserError()`), `STORAGE_FAILED` (also when a
   *   storage or repository call exceeds `timeouts`: `details.timeoutMs`); with a `moderate` hook, `REJECTED`
   *   (`details.reason`) and `MODERATION_FAILED`.
   */
  upload(userId: string, input: UploadInput, options?: UploadOptions): Promise<PictureRecord>;
  /**
   * Reads a `multipart/form-data` request (Express `req`, Koa `ctx.req`, any Node `IncomingMessage`) and uploads
   * its single file field (`options.fieldName`) plus optional crop fields, with every limit enforced while streaming.
   *
   * On rejection answer at once with `err.status` and `toErrorBody(err)`; when `shouldCloseConnection(req)` (the
   * body was not read to its end) add `Connection: close`. The rest of the body is discarded — to its end when its
   * declared length is within the limit, else briefly — so the client reads the response rather than a reset, then
   * the socket is destroyed. For `BUSY`, `TOO_MANY_UPLOADS` and `TOO_MANY_CHANGES`, send `details.retryAfter` as
   * `Retry-After`. `LOCKED` and `TOO_MANY_CHANGES` are answered before the body is read (one read of the record).
   * Details: `RequestUploader` in `intake/upload-request.ts`.
   * @throws ProfilePictureError as `upload()`, plus `NOT_MULTIPART`, `BAD_REQUEST`, `TOO_MANY_FILES`,
   *   `UNEXPECTED_FIELD`, `TIMEOUT`, `TOO_MANY_UPLOADS`, `BUSY`.
   */
  uploadRequest(userId: string, request: UploadRequest, options?: { signal?: AbortSignal }): Promise<PictureRecord>;
  /**
   * Removes the user's picture: clears the record, then deletes its objects in the background (see
   * {@link ProfilePictures.flush}). The removed picture does not join the history (option `history`): its objects
   * go. Earlier previous pictures stay, and can still be restored.
   * @returns true when there was a picture; removing none is a no-op that resolves false.
   * @throws ProfilePictureError `CONFLICT`, `STORAGE_FAILED`; `NOT_FOUND` (404, `details.reason: 'no-such-user'`) when
   *   the user's row on the app's users table is deleted between the read and the write (see `unknownUserError()`).
   */
  remove(userId: string): Promise<boolean>;
  /**
   * Locks the user's picture: their uploads fail with `LOCKED` (403, `details.reason` = `reason`, shown to them) —
   * before the body is read by `uploadRequest()`, and at the commit for an upload already rendering, which then
   * stores nothing. The current picture stays (take it down with `remove()`, which a lock allows). The lock is kept in
   * the user's record, so every app instance sees it at once; it outlives `remove()` and `erase()`.
   * @param reason why, in words for the user (at most 500 characters); default none.
   * @returns true when the record changed; false when the user was already locked for that reason.
   * @example
   * ```ts
   * await pictures.lock('42', 'Reported as impersonation; contact support.');
   * await pictures.remove('42'); // take the picture down too
   * ```
   * @throws TypeError or RangeError for a bad `reason`; ProfilePictureError `NOT_FOUND` (404, `details.reason:
   *   'no-such-user'`) when the repository has no row for the user (a column of the app's users table, see
   *   `unknownUserError()`; a repository that stores a record for any id locks a user it never saw), `CONFLICT`,
   *   `STORAGE_FAILED`.
   */
  lock(userId: string, reason?: string): Promise<boolean>;
  /**
   * Lifts {@link ProfilePictures.lock}: the user may upload again.
   * @returns true when the user was locked; false (a no-op) otherwise, also for a user the repository has no row for.
   * @example
   * ```ts
   * await pictures.unlock('42'); // true
   * ```
   * @throws ProfilePictureError `CONFLICT`, `STORAGE_FAILED`; `NOT_FOUND` (404, `details.reason: 'no-such-user'`) when
   *   the user's row on the app's users table is deleted between the read and the write (see `unknownUserError()`).
   */
  unlock(userId: string): Promise<boolean>;
  /**
   * The user's current record, or null when they have no picture (a stored record without one — a tombstone that
   * keeps history or a lock — answers null too).
   */
  get(userId: string): Promise<PictureRecord | null>;
  /**
   * The user's previous pictures (option `history`), newest first: each one a record `url()` and `srcset()` take,
   * whose `version` is what {@link ProfilePictures.restore} takes, with `updatedAt` (when it became current: its
   * upload, or a restore) and `replacedAt` (when it stopped being current). What the record holds, whatever this
   * process's `history.keep` (empty for a user who never had one, or an unknown user). A user without a current
   * picture (removed) still has theirs. Every process sharing the repository should run with the same `history.keep`:
   * an upload prunes to its own.
   * @example
   * ```ts
   * for (const previous of await pictures.history('42')) {
   *   console.log(previous.version, previous.replacedAt, pictures.url(previous, 'sm'));
   * }
   * ```
   * @throws ProfilePictureError `STORAGE_FAILED`.
   */
  history(userId: string): Promise<PreviousPicture[]>;
  /**
   * Makes the previous picture `version` (from {@link ProfilePictures.history}) the current one again: it gets a new
   * `version` and `updatedAt`, leaves the history, and the current picture (if any) takes its place at the front of
   * the history. A restore never prunes (one entry in, one out), so it is safe from a process with a smaller
   * `history.keep` such as the CLI. One compare-and-set, retried when another write won; no object is written.
   * Restoring the same version again right after (a double click, another instance) answers the record the first
   * restore made (`record.restoredFrom`) rather than `NOT_FOUND`.
   * @returns the new current record.
   * @example
   * ```ts
   * const [previous] = await pictures.history('42');
   * const record = await pictures.restore('42', previous.version);
   * pictures.url(record, 'md'); // the previous picture's md, served again
   * ```
   * @throws ProfilePictureError `NOT_FOUND` (404, `details.reason: 'no-such-version'`) when the user has no previous
   *   picture with that version — nothing changes; `NOT_FOUND` (`details.reason: 'no-such-user'`) when the user's row
   *   on the app's users table is deleted between the read and the write (see `unknownUserError()`); `CONFLICT`,
   *   `STORAGE_FAILED`. TypeError for a version that is not a non-empty string.
   */
  restore(userId: string, version: string): Promise<PictureRecord>;
  /**
   * Deletes everything held about the user: replaces the record (compare-and-set) with a tombstone holding only a
   * fresh erase marker (and the admin's lock, if any: it survives), then deletes every object under the user's
   * prefix — the current picture, history, anything else a record references there, leftovers of crashed uploads,
   * replaced pictures not yet cleaned up — and the storage's own leftovers there, in passes until one finds nothing
   * of the user's left. Never touches another user's objects (`u1` and `u10` are distinct prefixes). An upload of the
   * user whose objects an erase pass could have deleted, in this process or any other, fails with `CONFLICT`
   * (`details.reason: 'erased'`) and leaves nothing: each checks the marker at its commit. An upload that starts
   * after the last pass is a new picture. `get()` answers null afterwards; keep the tombstone (see the README).
   * @example
   * ```ts
   * const receipt = await pictures.erase('42'); // { objects: 3, bytes: 20480, temporary: 0 }
   * ```
   * @throws ProfilePictureError `CONFLICT` (still changing after 5 passes), `STORAGE_FAILED`, `ABORTED` (`signal`).
   */
  erase(userId: string, options?: EraseOptions): Promise<EraseReceipt>;
  /**
   * Everything held about the user, as plain JSON: the record, and each object under the user's prefix with its
   * key, size, content type, URL and the record fields that reference it (none for a leftover). See
   * {@link PictureExport}.
   * @example
   * ```ts
   * res.json(await pictures.export(String(req.user.id)));
   * ```
   * @throws ProfilePictureError `STORAGE_FAILED`.
   */
  export(userId: string): Promise<PictureExport>;
  /**
   * The URL of one variant: the storage's own `url()` when it has one (S3, CDN), else `publicPath + key`.
   *
   * A record written before `variants` changed may lack a configured variant: it then answers the record's closest
   * variant at least as wide (the browser scales it down), else its widest — never a throw, so pages keep rendering
   * old records. A name that is not configured throws even when an old record still has it, so a typo or a
   * removed size fails on the first call rather than only once users re-upload.
   * @example
   * ```ts
   * // configured { sm: 64, md: 256, lg: 512, xl: 1024 }; the record was written with { sm, md }
   * pictures.url(record, 'sm'); // its own sm
   * pictures.url(record, 'xl'); // its md, the widest it has
   * pictures.url(record, 'sm', { still: true }); // with `animated: true`: the first frame of an animated sm
   * ```
   * @throws RangeError for a variant name that is not configured (or a record without any variant).
   */
  url(record: PictureRecord, variant: string, options?: UrlOptions): string;
  /**
   * The `srcset` attribute of a picture: `url w` for each configured variant, with the URL {@link url} gives it and
   * the width of the object that URL names, narrowest first. A record that lacks a configured variant lists the
   * stand-in `url()` picks once (it never names an object twice or two objects of one width), so old records work.
   * Pair it with `sizes` and `width`/`height` for the displayed size: the browser picks the smallest object that is
   * sharp on its screen.
   * @example
   * ```ts
   * pictures.srcset(record); // '/media/…-sm.webp 64w, /media/…-md.webp 256w, /media/…-lg.webp 512w'
   * ```
   * @throws RangeError for a record without any variant (malformed).
   */
  srcset(record: PictureRecord): string;
  /** The initials SVG shown when a user has no picture. */
  placeholder(user: PlaceholderUser): string;
  /** Status, headers and body for serving a stored object by key (used by the adapters' media route). */
  serve(key: string, request?: ServeRequest): Promise<ServeResult>;
  /**
   * Deletes stored objects under the prefix that no record references and that are older than `olderThan`, then
   * the storage's own leftovers older than that (`storage.sweepTemporary()`, e.g. temp files of a crashed write).
   * Needs `users.listPictures()`.
   * @example
   * ```ts
   * const { scanned, deleted } = await pictures.sweep({
   *   olderThan: 60 * 60 * 1000,
   *   onProgress: ({ phase, scanned, deleted, orphans }) => console.error(`${phase}: ${scanned} listed, ${deleted}/${orphans} deleted`),
   * });
   * ```
   * @throws RangeError for a negative `olderThan`; TypeError when the repository has no `listPictures()` or
   *   `onProgress` is not a function; ProfilePictureError `STORAGE_FAILED` when a listing or a delete fails.
   */
  sweep(options?: SweepOptions): Promise<SweepResult>;
  /**
   * Counts users with a picture, the objects under the prefix and their bytes, the referenced ones by variant, the
   * orphans (objects no record references) and the keys records reference that storage lacks. Reads only: one
   * listing of the prefix and one of the records, so it costs what a `sweep()` costs. Needs `users.listPictures()`.
   * @example
   * ```ts
   * const { users, orphans } = await pictures.stats({
   *   onProgress: ({ phase, objects, records }) => console.error(`${phase}: ${objects} objects, ${records} records`),
   * });
   * console.log(`${users} users; ${orphans.objects} orphans (${orphans.bytes} bytes)`);
   * ```
   * @throws TypeError when the repository has no `listPictures()` or `onProgress` is not a function;
   *   ProfilePictureError `STORAGE_FAILED`.
   */
  stats(options?: StatsOptions): Promise<PictureStats>;
  /**
   * Resolves once every background clean-up started so far has finished: each replaced or removed object deleted,
   * or reported to `onOrphan` because its delete failed or timed out. Deletes run 4 at a time, each for at most
   * `timeouts.storageMs`, so a hung storage bounds the wait too. Never rejects. Await it in tests before looking at
   * storage, and at graceful shutdown once the server stopped taking requests.
   * @example
   * ```ts
   * process.once('SIGTERM', () => server.close(() => void pictures.flush().then(() => process.exit(0))));
   * ```
   * @throws nothing: failed deletes are reported to `onOrphan`, not thrown.
   */
  flush(): Promise<void>;
  /**
   * Re-renders every user whose record does not match today's `variants`, `output` and `position` — from the
   * record's master, or for records without one from their widest variant, never upscaled — with an upload's
   * ordering: new objects under a fresh upload id, compare-and-set against the record it read, old objects deleted
   * in the background. A user who uploads (or is removed) meanwhile keeps the newer state: that user is skipped and
   * what was written for them deleted. Crash-safe and resumable: it keeps no state besides the records, so running it
   * again continues; a crash leaves at most orphans for `sweep()`. Users are re-rendered `concurrency` at a time.
   * Needs `users.listPictures()` unless `userIds` is given. Details: `regenerate.ts`.
   * @example
   * ```ts
   * // after adding { xl: 1024 } to variants, or changing output.quality:
   * const result = await pictures.regenerate({ concurrency: 2, onProgress: (p) => console.log(p.scanned, p.userId) });
   * // { scanned: 1200, regenerated: 1187, skipped: 13, failed: [], aborted: false }
   * ```
   * @throws TypeError or RangeError for invalid options or without `listPictures()` and `userIds`;
   *   ProfilePictureError `STORAGE_FAILED` when listing the records fails. A user that fails is reported in
   *   `failed`, not thrown.
   */
  regenerate(options?: RegenerateOptions): Promise<RegenerateResult>;
  /** The validated options the service runs with. */
  readonly options: ResolvedOptions;
}

const COMMIT_ATTEMPTS = 5;
/** Upper bound of the random pause before compare-and-set attempt n (×2ⁿ), so competing writers fall out of step. */
const RETRY_JITTER_MS = 8;
const DEFAULT_SWEEP_AGE = 60 * 60 * 1000;
/** Keys per `deleteMany()` call in `sweep()` (S3's DeleteObjects takes at most 1,000). */
const SWEEP_BATCH = 1_000;
/** Single-key deletes `sweep()` runs at once when the storage has no `deleteMany()`. */
const SWEEP_CONCURRENCY = 8;

/**
 * Creates the profile-picture service.
 *
 * @example
 * ```ts
 * import { createProfilePictures, diskStorage, memoryUserRepository } from 'profile-picture';
 * const pictures = createProfilePictures({ storage: diskStorage({ root: './media' }), users: memoryUserRepository() });
 * const record = await pictures.upload('42', await readFile('me.jpg'));
 * pictures.url(record, 'md'); // '/media/profile_pictures/42/…-md.webp'
 * ```
 * @throws TypeError or RangeError for invalid options, naming the option.
 */
export function createProfilePictures(options: ProfilePicturesOptions): ProfilePictures {
  const resolved = resolveOptions(options);
  const { storage, users, limits } = resolved;
  const fail = createErrorFactory(resolved.messages);
  const lock = createKeyedMutex();
  const inFlight = createInFlightKeys();
  const backend = createBackendCall(fail, resolved.timeouts);
  const cleanup = createCleanup({ storage, backend, onOrphan: resolved.onOrphan });
  const eraseGuard = createEraseGuard();
  const moderated = moderationVariant(resolved.variants);
  /** Lock, change limit and erase marker, checked at an upload's start and at its commit (upload-gate.ts). */
  const gate = { limit: limits.changes, fail };
  const openFor = async (userId: string) => openUpload(await backend('getPicture', () => users.getPicture(userId)), gate, Date.now());

  async function upload(userId: string, input: UploadInput, uploadOptions: UploadOptions = {}) {
    assertUserId(userId);
    if (uploadOptions.signal?.aborted) throw fail('ABORTED');
    const bytes = await readInput(input, limits.fileSize, fail, uploadOptions.signal);
    // Only the public options: `ProcessOptions` also carries the intake's own (its early read), not a caller's to pass.
    return processBytes(userId, bytes, { crop: uploadOptions.crop, signal: uploadOptions.signal });
  }

  /** inspect → render (each variant stored as soon as it is encoded) → commit, for bytes already in memory. */
  async function processBytes(userId: string, bytes: Uint8Array, uploadOptions: ProcessOptions) {
    const { signal, crop } = uploadOptions;
    const start = uploadOptions.start ?? (await openFor(userId)); // before any object is written: upload-gate.ts
    const image = await inspectImage(bytes, { ...limits, accept: resolved.accept }, fail);
    const settings = { variants: resolved.variants, output: resolved.output, crop, position: resolved.position, minCropSide: limits.minSide };
    /** Aborts the `moderate` hook's signal when this upload ends before its verdict (a failed put, say). */
    const stopJudging = resolved.moderate ? new AbortController() : undefined;
    try {
      const published = await publish(
        userId,
        async (writes) => {
          // An animation keeps no master: its frames cannot be re-rendered from one still (see regenerate.ts).
          if (resolved.animated && canAnimate(image)) {
            const animation = { ...settings, animationPixels: limits.animationPixels };
            return renderAnimatedVariants(image, animation, fail, writes.write, writes.writeStill);
          }
          if (!resolved.master) return renderVariants(image, settings, fail, writes.write);
          const { picture, master } = await renderWithMaster(image, settings, resolved.master, fail, writes.write);
          writes.writeMaster(master, crop);
          return picture;
        },
        (current, made) => {
          const now = new Date().toISOString();
          // The user's state (history, lock, change times, erase marker) goes on with the new picture: record-state.ts;
          // the replaced picture joins the history (history.ts).
          const gated = commitUpload(current, start, gate, Date.parse(now)); // lock, change limit, erase marker
          const state = stateAfterReplacing(current, resolved.history.keep, now);
          return { ...state, ...made, ...gated, createdAt: current?.createdAt ?? now, updatedAt: now };
        },
        { signal, judge: (rendered) => check(userId, rendered, uploadOptions, stopJudging?.signal) },
      );
      // This `decide` always writes, so publish resolves (or throws CONFLICT).
      return published!.next;
    } finally {
      stopJudging?.abort(); // no-op once the verdict is in: moderate() no longer listens
    }
  }

  /**
   * The ordering every new picture follows (DESIGN invariant 2): `produce` renders and stores objects under a fresh
   * upload id (while `judge`, the upload's moderation, runs beside the last puts), then the record is
   * compare-and-set to `decide(current, made)` under the user's lock, then the replaced record's objects the new one no longer references are deleted
   * in the background. When `decide` declines (`undefined`), an erase of the user overlapped, or anything fails
   * before the commit, what was written is deleted before this resolves or rejects.
   */
  async function publish(
    userId: string,
    produce: (writes: Writes) => Promise<RenderedPicture>,
    decide: (current: PictureRecord | null, made: NewPicture) => PictureRecord | undefined,
    { signal, judge }: { signal?: AbortSignal | undefined; judge?: (rendered: RenderedPicture) => Promise<void> } = {},
  ): Promise<{ previous: PictureRecord | null; next: PictureRecord } | undefined> {
    const ticket = eraseGuard.track(userId);
    const writes = startWrites(userId);
    /** A compare-and-set that timed out and may still commit: until it settles, the keys stay in flight. */
    let pendingCommit: Promise<void> | undefined;
    try {
      const rendered = await produce(writes);
      if (signal?.aborted) throw fail('ABORTED');
      const verdict = judge?.(rendered) ?? Promise.resolve();
      verdict.catch(() => {}); // awaited below, unless a put fails first
      const { variants, stills, master } = await writes.finish();
      await verdict;
      if (signal?.aborted) throw fail('ABORTED');
      const made: NewPicture = {
        version: randomUUID(),
        contentHash: rendered.contentHash,
        contentType: rendered.contentType,
        variants,
        ...(stills ? { stills } : {}),
        preview: rendered.preview,
        ...(master ? { master } : {}),
        rendition: { format: resolved.output.format, quality: resolved.output.quality, position: resolved.position },
      };
      const swapped = await lock(userId, () => {
        // An erase of this user ran meanwhile and may have deleted some of these objects: commit nothing.
        if (ticket.overlapped) throw fail('CONFLICT', { details: { reason: 'erased' } });
        return swapRecord(userId, (pending) => (pendingCommit = pending), (current) => decide(current, made));
      });
      if (!swapped) {
        await rollback(await writes.settle(), undefined);
        return undefined;
      }
      // In the background: the answer does not wait for the old objects to go (see cleanup.ts). No other upload has
      // these keys, so deleting them late can never remove an object a newer record references.
      // Only what the new record no longer references: a `decide` may carry fields of the old record over.
      cleanUpReplaced(swapped.previous, swapped.next);
      return swapped;
    } catch (err) {
      await rollback(await writes.settle(), err);
      throw err;
    } finally {
      // A call that never settles pins its keys for at most the default grace period, like any other process's sweep.
      if (pendingCommit) void Promise.race([pendingCommit, sleep(DEFAULT_SWEEP_AGE, undefined, { ref: false })]).then(writes.forget);
      else writes.forget();
      ticket.done();
    }
  }

  /**
   * The `moderate` hook's verdict on the rendered picture, while the last puts finish. It may wait on a remote
   * service: the processing slot goes back first, and no lock is held.
   */
  async function check(
    userId: string,
    rendered: RenderedPicture,
    { signal, releaseProcessing }: ProcessOptions,
    ended: AbortSignal | undefined,
  ) {
    const hook = resolved.moderate;
    if (!hook || !ended) return;
    releaseProcessing?.();
    const { data, width, height } = rendered.variants[moderated]!;
    // A copy: the stored object's bytes may still be being written, and a hook that changes what it was given (in
    // place, to redact or to reuse the buffer) must not change what is stored.
    const image = { bytes: Buffer.from(data), contentType: rendered.contentType, width, height, variant: moderated };
    const stop = signal ? AbortSignal.any([signal, ended]) : ended;
    await moderate(hook, { userId, image }, { timeoutMs: resolved.timeouts.moderateMs, signal: stop, fail });
  }

  /**
   * The objects of one upload, under keys of its own (a fresh upload id). `write()` puts a variant at once, so the
   * thumbnails are stored while the largest still encodes, `writeStill()` an animated variant's still and
   * `writeMaster()` the master; `finish()` waits for every put and returns the record's variants, stills and master;
   * `settle()` waits for every put and names every key attempted (a failed put may still have left an object, e.g. a
   * response lost after the write) and those whose put timed out (it may land even later).
   */
  function startWrites(userId: string): Writes & {
    finish(): Promise<Stored>;
    settle(): Promise<{ attempted: string[]; unsettled: string[] }>;
    forget(): void;
  } {
    const uploadId = newUploadId();
    const { extension, contentType } = encodingOf(resolved.output.format);
    type Written = Map<string, { key: string; bytes: number; width: number; height: number }>;
    const written: Written = new Map();
    const stills: Written = new Map();
    let master: PictureMaster | undefined;
    const puts: Promise<void>[] = [];
    const unsettled: string[] = [];
    const forgets: Array<() => void> = [];

    function put(key: string, data: Buffer, type: string): void {
      forgets.push(inFlight.add([key]));
      const done = backend('put', () => storage.put(key, data, { contentType: type, cacheControl: IMMUTABLE_CACHE })).catch(
        (error: unknown) => {
          if (isBackendTimeout(error)) unsettled.push(key);
          throw error;
        },
      );
      done.catch(() => {}); // settled by finish() or settle(); not an unhandled rejection meanwhile
      puts.push(done);
    }
    function putVariant(into: Written, name: string, keyName: string, variant: RenderedVariant): void {
      const key = variantKey(resolved.prefix, userId, uploadId, keyName, extension);
      into.set(name, { key, bytes: variant.data.byteLength, width: variant.width, height: variant.height });
      put(key, variant.data, contentType);
    }
    const byName = (from: Written) => Object.fromEntries(Object.keys(resolved.variants).map((name) => [name, from.get(name)!]));

    return {
      write: (name: string, variant: RenderedVariant) => putVariant(written, name, name, variant),
      /** A still of an animated variant: `<name>-still` in the key (a variant name has no `-`), `stills` in the record. */
      writeStill: (name: string, variant: RenderedVariant) => putVariant(stills, name, `${name}-still`, variant),
      writeMaster(rendered: RenderedMaster, crop?: CropRect) {
        const key = masterKey(resolved.prefix, userId, uploadId, rendered.extension);
        const { width, height } = rendered;
        master = { key, width, height, bytes: rendered.data.byteLength, contentType: rendered.contentType };
        if (crop) master.crop = { left: crop.left, top: crop.top, width: crop.width, height: crop.height };
        put(key, rendered.data, rendered.contentType);
      },
      async finish(): Promise<Stored> {
        const failed = (await Promise.allSettled(puts)).find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
        return {
          variants: byName(written),
          ...(stills.size > 0 ? { stills: byName(stills) } : {}),
          ...(master ? { master } : {}),
        };
      },
      async settle(): Promise<{ attempted: string[]; unsettled: string[] }> {
        await Promise.allSettled(puts);
        const keys = [...written.values(), ...stills.values(), ...(master ? [master] : [])].map((entry) => entry.key);
        return { attempted: keys, unsettled };
      },
      /** Stops protecting this upload's keys from an in-process sweep: committed, or rolled back. */
      forget: () => forgets.forEach((forget) => forget()),
    };
  }

  /**
   * Compare-and-sets the user's record to `decide(current)`, re-reading and retrying with a jittered pause when
   * another writer won; `CONFLICT` after {@link COMMIT_ATTEMPTS}. `decide` returning `undefined` means "nothing to
   * write" and resolves `undefined`.
   *
   * A `setPicture` that fails — times out, or rejects without saying whether it wrote (a connection lost while the
   * statement waited for a lock still commits on the server) — leaves the outcome unknown: the record may end up
   * pointing at either set of objects, so neither is deleted and the keys only one of them references are reported
   * as `'commit-unknown'` for `sweep()`. For a timeout, `onPending` receives the call's own settlement. A repository
   * that has no row for the user throws `unknownUserError()` (unknown-user.ts): that wrote nothing, and is `NOT_FOUND`.
   */
  async function swapRecord<Next extends PictureRecord | null>(
    userId: string,
    onPending: (pending: Promise<void>) => void,
    decide: (current: PictureRecord | null) => Next | undefined,
  ): Promise<{ previous: PictureRecord | null; next: Next } | undefined> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(Math.random() * RETRY_JITTER_MS * 2 ** attempt);
      const current = await backend('getPicture', () => users.getPicture(userId));
      const next = decide(current);
      if (next === undefined) return undefined;
      let committed: boolean;
      try {
        committed = await backend('setPicture', () => users.setPicture(userId, next, current?.version ?? null), {
          timedOut: onPending,
        });
      } catch (error) {
        // The repository has no row for the user (a column of the app's users table): nothing was written.
        if (isUnknownUserError(error)) throw fail('NOT_FOUND', { details: unknownUserDetails(userId), cause: error });
        cleanup.report(symmetricDifference(keysOf(current), keysOf(next)), 'commit-unknown', error);
        throw error;
      }
      if (committed) return { previous: current, next };
    }
    throw fail('CONFLICT');
  }

  /**
   * Undoes a failed upload: deletes every object it wrote or tried to write — nobody else references them — unless
   * its commit may have landed (a `setPicture` that failed: `swapRecord` reported it). Waits for those deletes, each
   * under the storage timeout, so a failed upload has changed nothing by the time it rejects; reports puts that
   * timed out, which may land after the delete, for `sweep()`.
   */
  async function rollback({ attempted, unsettled }: { attempted: string[]; unsettled: string[] }, error: unknown) {
    if (isProfilePictureError(error) && error.details?.operation === 'setPicture') return;
    cleanup.report(unsettled, 'write-unknown');
    await cleanup.deleteNow(attempted);
  }

  /** Compare-and-sets the user's record to `next(current)` (retried); resolves the record it replaced, or null. */
  async function replaceRecord(userId: string, next: (current: PictureRecord | null) => PictureRecord | null): Promise<PictureRecord | null> {
    return (await swapRecord(userId, () => {}, next))!.previous;
  }

  /**
   * Deletes, in the background, the objects `previous` referenced that `next` does not — after an upload, a remove,
   * a restore. Only those: the next record may carry some over (its history, a tombstone's previous pictures).
   */
  function cleanUpReplaced(previous: PictureRecord | null, next: PictureRecord | null): void {
    const kept = new Set(keysOf(next));
    cleanup.schedule(keysOf(previous).filter((key) => !kept.has(key)));
  }

  async function remove(userId: string): Promise<boolean> {
    assertUserId(userId);
    return lock(userId, async () => {
      // A record that holds user state (history, lock…) becomes a tombstone rather than null: record-state.ts.
      const swapped = await swapRecord(userId, () => {}, (current) =>
        hasPicture(current) ? withoutPicture(current, randomUUID(), new Date().toISOString()) : undefined,
      );
      if (!swapped) return false;
      cleanUpReplaced(swapped.previous, swapped.next); // in the background, as after an upload
      return true;
    });
  }

  async function sweep(sweepOptions: SweepOptions = {}): Promise<SweepResult> {
    const olderThan = sweepOptions.olderThan ?? DEFAULT_SWEEP_AGE;
    if (typeof olderThan !== 'number' || !(olderThan >= 0)) {
      throw new RangeError(`[profile-picture] Expected a non-negative number for \`sweep({ olderThan })\` but received ${String(olderThan)}`);
    }
    const listPictures = needListPictures('sweep');
    const onProgress = progressHook<SweepProgress>('sweep', sweepOptions.onProgress);
    const progress: SweepProgress = { phase: 'objects', scanned: 0, records: 0, orphans: 0, deleted: 0 };
    const report = phaseReporter(onProgress, () => ({ ...progress }));
    const cutoff = Date.now() - olderThan;
    // Collect the candidates first, then the references. An upload in another process that commits in between
    // wrote its objects after the listing started, so they are younger than the cutoff or already referenced (with
    // a grace period longer than any upload). Keys of uploads in this process are left alone whatever the cutoff:
    // those in flight when the sweep started or written while it runs (one may commit after the references were read).
    const watching = inFlight.watch();
    const listingStarted = performance.now();
    let listingMs = 0;
    // Key → size of every object old enough to go. Each key a record names is struck off as the records are read,
    // so memory holds the candidates only (one entry per object under the prefix), not every referenced key besides.
    const candidates = new Map<string, number>();
    try {
      for await (const object of backend.iterate('list', () => storage.list(`${resolved.prefix}/`))) {
        // Only keys the key policy could have written: a stray `.DS_Store` or editor file is not ours to delete,
        // and a storage would refuse its unsafe key, failing every sweep.
        if (isSafeKey(object.key) && object.lastModified.getTime() <= cutoff) candidates.set(object.key, object.size);
        report.item(++progress.scanned);
      }
      listingMs = performance.now() - listingStarted;
      report.end();
      progress.phase = 'records';
      for await (const { record } of backend.iterate('listPictures', listPictures)) {
        // Any key the record names, in fields this release does not know too (a newer release's): held-keys.ts.
        for (const key of held(record)) candidates.delete(key);
        report.item(++progress.records);
      }
      for (const key of watching.stop()) candidates.delete(key);
    } finally {
      watching.stop();
    }
    const { scanned } = progress;
    const orphans = [...candidates.keys()];
    progress.orphans = orphans.length;
    report.end();
    if (sweepOptions.dryRun) {
      let bytes = 0;
      for (const size of candidates.values()) bytes += size;
      return { scanned, deleted: 0, temporary: 0, keys: orphans, bytes };
    }
    candidates.clear();
    progress.phase = 'deletes';
    const failures = await deleteOrphans(orphans, (count) => {
      progress.deleted += count;
      report.item(progress.deleted);
    });
    report.end();
    // Leftovers are swept even when some deletes failed: they are independent, and the next sweep retries the rest.
    const sweepTemporary = storage.sweepTemporary?.bind(storage);
    // One call that walks the whole prefix, as the listing did step by step (disk: every user's directory), so one
    // storage timeout would cut it short on a large install: it may take twice what the listing took, if longer.
    const timeoutMs = Math.max(resolved.timeouts.storageMs, 2 * Math.ceil(listingMs));
    progress.phase = 'temporary';
    if (sweepTemporary) onProgress?.({ ...progress });
    const temporary = sweepTemporary
      ? await backend('sweepTemporary', () => sweepTemporary(`${resolved.prefix}/`, new Date(cutoff)), { timeoutMs })
      : 0;
    if (failures.length > 0) throw failures[0];
    return { scanned, deleted: orphans.length, temporary };
  }

  /**
   * Deletes what `sweep()` found: in batches of {@link SWEEP_BATCH} where the storage has `deleteMany()` (S3's
   * DeleteObjects), else {@link SWEEP_CONCURRENCY} keys at a time. Tries every key; resolves the failures.
   * `deleted`, if given, receives the number of keys of each call that succeeded.
   */
  async function deleteOrphans(keys: string[], deleted?: (count: number) => void): Promise<unknown[]> {
    const deleteMany = storage.deleteMany?.bind(storage);
    const groups = deleteMany ? chunks(keys, SWEEP_BATCH) : keys.map((key) => [key]);
    const failures: unknown[] = [];
    const next = groups[Symbol.iterator]();
    const worker = async () => {
      for (let group = next.next(); !group.done; group = next.next()) {
        const batch = group.value;
        await (deleteMany
          ? backend('deleteMany', () => deleteMany(batch))
          : backend('delete', () => storage.delete(batch[0]!))
        ).then(() => deleted?.(batch.length), (error: unknown) => void failures.push(error));
      }
    };
    await Promise.all(Array.from({ length: deleteMany ? 1 : SWEEP_CONCURRENCY }, worker));
    return failures;
  }

  /** What sweep() keeps for a record: the keys this release reads, and any other key it names (held-keys.ts). */
  function held(record: PictureRecord): string[] {
    return [...keysOf(record), ...heldKeys(record, `${resolved.prefix}/`)];
  }

  async function stats(statsOptions: StatsOptions = {}): Promise<PictureStats> {
    const listPictures = needListPictures('stats');
    const onProgress = progressHook<StatsProgress>('stats', statsOptions.onProgress);
    return countPictures({
      onProgress,
      objects: backend.iterate('list', () => storage.list(`${resolved.prefix}/`)),
      records: () => backend.iterate('listPictures', listPictures),
      keysOf,
      held,
    });
  }

  function needListPictures(caller: string) {
    const listPictures = users.listPictures?.bind(users);
    if (!listPictures) {
      throw new TypeError(`[profile-picture] ${caller}() needs \`users.listPictures()\` to know which objects are in use`);
    }
    return listPictures;
  }

  /** The variant of `record` that `url(record, name)` names (see variantFor). */
  function standIn(record: PictureRecord, name: string): PictureVariant {
    const side = Object.hasOwn(resolved.variants, name) ? resolved.variants[name] : undefined;
    const entry = side === undefined ? undefined : variantFor(record, name, side);
    if (!entry) {
      throw new RangeError(
        side === undefined
          ? `[profile-picture] Unknown variant ${JSON.stringify(name)}; configured: ${Object.keys(resolved.variants).join(', ')}`
          : '[profile-picture] The record has no variants',
      );
    }
    return entry;
  }

  /** Where a stored object is served: the storage's own URL (S3, CDN) or the media route. */
  function urlOf(key: string): string {
    return storage.url ? storage.url(key) : `${resolved.publicPath}${key}`;
  }

  const history = createHistory({
    resolved,
    backend,
    fail,
    lock,
    swapRecord,
    gate,
    cleanUp: cleanUpReplaced,
  });

  const privacy = createPrivacy({ resolved, backend, fail, lock, guard: eraseGuard, swapRecord: replaceRecord, deleteKeys: deleteOrphans, urlOf });
  const userLocks = createUserLocks((userId, decide) => lock(userId, () => swapRecord(userId, () => {}, decide)));

  const readRequest = createRequestUploader(resolved, fail, processBytes, openFor);
  async function uploadRequest(userId: string, request: UploadRequest, requestOptions?: UploadRequestOptions) {
    assertUserId(userId); // before a slot is taken or a body byte read
    return readRequest(userId, request, requestOptions);
  }

  return Object.freeze({
    upload,
    uploadRequest,
    remove,
    async lock(userId: string, reason?: string) {
      assertUserId(userId);
      return userLocks.lock(userId, reason);
    },
    async unlock(userId: string) {
      assertUserId(userId);
      return userLocks.unlock(userId);
    },
    async get(userId: string) {
      assertUserId(userId);
      const record = await backend('getPicture', () => users.getPicture(userId));
      return hasPicture(record) ? record : null; // a tombstone is no picture (record-state.ts)
    },
    url(record: PictureRecord, variant: string, urlOptions: UrlOptions = {}) {
      return urlOf(standIn(urlOptions.still && record.stills ? { ...record, variants: record.stills } : record, variant).key);
    },
    srcset(record: PictureRecord) {
      const byWidth = new Map<number, PictureVariant>();
      for (const name of Object.keys(resolved.variants)) {
        const entry = standIn(record, name);
        if (!byWidth.has(entry.width)) byWidth.set(entry.width, entry);
      }
      return [...byWidth.values()]
        .sort((a, b) => a.width - b.width)
        .map((entry) => `${urlOf(entry.key)} ${entry.width}w`)
        .join(', ');
    },
    placeholder: renderPlaceholder,
    serve(key: string, request?: ServeRequest) {
      // A body that arrives after the timeout was answered with 502: close it rather than leak its file handle.
      return backend('get', () => serveObject(storage, resolved.prefix, key, request), { late: (result) => result.body?.destroy() });
    },
    async history(userId: string) {
      assertUserId(userId);
      return history.list(userId);
    },
    async restore(userId: string, version: string) {
      assertUserId(userId);
      return history.restore(userId, version);
    },
    async erase(userId: string, eraseOptions?: EraseOptions) {
      assertUserId(userId);
      return privacy.erase(userId, eraseOptions);
    },
    async export(userId: string) {
      assertUserId(userId);
      return privacy.export(userId);
    },
    sweep,
    stats,
    regenerate: createRegenerate({ resolved, fail, backend, publish }),
    flush: cleanup.flush,
    options: resolved,
  });
}

// --- internal ---

/** The objects of one upload being written, as `publish()` hands them to its renderer (see `startWrites`). */
interface Writes {
  /** Stores one variant at once (the renderer's `onVariant`). */
  write(name: string, variant: RenderedVariant): void;
  /** Stores the still (first frame) of an animated variant. */
  writeStill(name: string, variant: RenderedVariant): void;
  /** Stores the master; `crop` is recorded with it. */
  writeMaster(master: RenderedMaster, crop?: CropRect): void;
}

/** What one upload stored: the record's variants, and its stills (animated) or master when it has them. */
type Stored = Pick<PictureRecord, 'variants' | 'stills' | 'master'>;

/** A rendered, stored picture's record, less what only the commit knows (`createdAt`, `updatedAt`). */
type NewPicture = Omit<PictureRecord, 'createdAt' | 'updatedAt'>;

/**
 * The keys a record references: its variants, stills and master, and those of each previous picture in its history
 * (held until pruned: history.ts). Tolerates a malformed record from the app's database (it references nothing).
 */
function keysOf(record: PictureRecord | null): string[] {
  const entries = (map: unknown): unknown[] => (map && typeof map === 'object' ? Object.values(map) : []);
  const pictures: Partial<PictureRecord>[] = record ? [record, ...(Array.isArray(record.history) ? record.history : [])] : [];
  const variants = pictures.flatMap((picture) => [...entries(picture?.variants), ...entries(picture?.stills), picture?.master]);
  return variants.flatMap((variant) => {
    const key = (variant as { key?: unknown } | null)?.key;
    return typeof key === 'string' ? [key] : [];
  });
}

/** `items` in consecutive groups of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
  return groups;
}

/** Keys in exactly one of `a` and `b`. */
function symmetricDifference(a: string[], b: string[]): string[] {
  return [...a.filter((key) => !b.includes(key)), ...b.filter((key) => !a.includes(key))];
}

function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new TypeError(`[profile-picture] Expected a non-empty string user id but received ${typeof userId}`);
  }
}
