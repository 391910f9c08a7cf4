/**
 * `pictures.lock()` / `unlock()`: an admin stops a user from changing their picture (issue 11 §5).
 *
 * The lock is a field of the user's record (`lock: { reason, at }`), written by compare-and-set like any other change,
 * so every app instance sees it on its next read with no shared cache, and an upload that was rendering when the lock
 * landed re-reads it in its commit and rolls back (upload-gate.ts). Locking does not remove the picture (`remove()`
 * does, and is allowed while locked). A user without a record gets a tombstone holding the lock (record-state.ts);
 * unlocking a tombstone that then holds no user state clears the record.
 */
import { randomUUID } from 'node:crypto';
import { hasPicture, userStateOf, withoutPicture } from './record-state.js';
import type { PictureRecord } from './users/types.js';
import { describe } from './validate.js';

/**
 * Longest reason `pictures.lock(userId, reason)` takes, in characters (UTF-16 code units, as `String.length` and an
 * HTML `maxlength` count them): it is stored in the record and shown to the user, not an essay. A longer one throws a
 * RangeError. Give a form's reason field this `maxlength`.
 * @example
 * ```ts
 * import { LOCK_REASON_MAX_LENGTH } from 'profile-picture';
 * const field = `<textarea name="reason" maxlength="${LOCK_REASON_MAX_LENGTH}"></textarea>`; // 500
 * ```
 */
export const LOCK_REASON_MAX_LENGTH = 500;

/**
 * Checks a lock reason (`''` when none was given).
 * @throws TypeError when not a string, RangeError when longer than {@link LOCK_REASON_MAX_LENGTH}.
 */
export function lockReason(reason: unknown): string {
  if (reason === undefined) return '';
  if (typeof reason !== 'string') {
    throw new TypeError(`[profile-picture] Expected a string for \`lock(userId, reason)\` but received ${describe(reason)}`);
  }
  if (reason.length > LOCK_REASON_MAX_LENGTH) {
    throw new RangeError(`[profile-picture] Expected at most ${LOCK_REASON_MAX_LENGTH} characters for \`lock(userId, reason)\` but received ${reason.length}`);
  }
  return reason;
}

/**
 * The record with the user locked for `reason`, or `undefined` when it already is, for that reason (nothing to
 * write). A user without a record gets a tombstone holding only the lock.
 */
export function lockedRecord(current: PictureRecord | null, reason: string, version: string, now: string): PictureRecord | undefined {
  if (current?.lock && current.lock.reason === reason) return undefined;
  const lock = { reason, at: now };
  if (!current) return withoutPicture({ createdAt: now } as PictureRecord, version, now, { lock })!;
  // A new version, so a writer that read the record before the lock cannot compare-and-set over it.
  return { ...current, version, lock };
}

/**
 * The record without the lock, `null` when what is left is a tombstone holding no user state, or `undefined` when the
 * user is not locked (nothing to write).
 */
export function unlockedRecord(current: PictureRecord | null, version: string): PictureRecord | null | undefined {
  if (!current?.lock) return undefined;
  const { lock: _lock, ...rest } = current;
  if (!hasPicture(rest) && Object.keys(userStateOf(rest)).length === 0) return null;
  return { ...rest, version }; // `updatedAt` stays the picture's upload time
}

/** Compare-and-sets a user's record to `decide(current)`; `undefined` from `decide` writes nothing and resolves undefined. */
type SwapRecord = (userId: string, decide: (current: PictureRecord | null) => PictureRecord | null | undefined) => Promise<unknown>;

/**
 * The service's `lock()` and `unlock()` over its compare-and-set.
 * @example
 * ```ts
 * const { lock, unlock } = createUserLocks((userId, decide) => swapRecord(userId, () => {}, decide));
 * await lock('42', 'Impersonation'); // true
 * ```
 */
export function createUserLocks(swap: SwapRecord) {
  return {
    /** Resolves true when the record changed (false: already locked for that reason). */
    async lock(userId: string, reason?: string): Promise<boolean> {
      const why = lockReason(reason);
      const swapped = await swap(userId, (current) => lockedRecord(current, why, randomUUID(), new Date().toISOString()));
      return swapped !== undefined;
    },
    /** Resolves true when the user was locked. */
    async unlock(userId: string): Promise<boolean> {
      return (await swap(userId, (current) => unlockedRecord(current, randomUUID()))) !== undefined;
    },
  };
}
