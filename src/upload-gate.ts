/**
 * What an upload must check in the user's record besides the picture: a lock (`pictures.lock()`), the change limit
 * (`limits.changes`) and the erase marker (`pictures.erase()`). Each is checked twice:
 *
 * 1. **at the start** ({@link openUpload}), from one read of the record before any body byte is read or any object
 *    written — so a locked or over-limit user is refused cheaply, and the upload remembers the record's `erasure`;
 * 2. **at the commit** ({@link commitUpload}), inside the compare-and-set's `decide`, against the record being
 *    replaced — authoritative, whatever happened meanwhile in this process or another (DESIGN invariant 7): a lock
 *    that landed while the picture rendered wins, the last free change is taken once, and an upload that an erase
 *    overlapped (the marker changed since its start) commits nothing and rolls back.
 *
 * Why the marker closes erase's cross-process gap: every erase pass writes a fresh `erasure` before it lists the
 * user's objects (privacy.ts). An upload writes its objects only after it read the marker; if an erase pass wrote a
 * new one after that, the upload's commit sees a different marker and refuses. If not, the upload read the marker of
 * the erase's last pass, so its objects were written after that pass began: either that pass listed them (then it was
 * not the last) or they were written after the erase's last look, and the upload is simply a new picture. An erase
 * that stops early (a failed delete, `ABORTED`) after a pass deleted objects writes one more marker before it rejects,
 * so that pass is not the last.
 */
import { checkChanges, withChange, type ChangeLimit } from './change-limit.js';
import type { ErrorFactory } from './errors.js';
import type { PictureRecord } from './users/types.js';

/** What an upload saw of its user's record when it started (see {@link openUpload}). */
export interface UploadStart {
  /** The record's `erasure` marker then; the commit refuses when it changed. */
  readonly erasure: string | undefined;
}

/** The gate's settings: the change limit (null for none) and the service's error factory. */
export interface GateSettings {
  limit: Readonly<ChangeLimit> | null;
  fail: ErrorFactory;
}

/**
 * The early check, on the record as the upload starts.
 * @returns what the commit must compare against.
 * @throws ProfilePictureError `LOCKED` (403, `details.reason`), `TOO_MANY_CHANGES` (429, `details.retryAfter`).
 * @example
 * ```ts
 * const start = openUpload(await users.getPicture(userId), { limit, fail }, Date.now());
 * ```
 */
export function openUpload(current: PictureRecord | null, settings: GateSettings, now: number): UploadStart {
  refuseChange(current, settings, now);
  return { erasure: current?.erasure };
}

/**
 * The authoritative check, in the commit's `decide` against the record being replaced.
 * @returns the fields to spread over the new record (the updated `changes`).
 * @throws ProfilePictureError `CONFLICT` (`details.reason: 'erased'`) when an erase ran since `start`; `LOCKED`,
 *   `TOO_MANY_CHANGES` as {@link openUpload}.
 * @example
 * ```ts
 * (current, made) => ({ ...userStateOf(current), ...made, ...commitUpload(current, start, settings, Date.now()) })
 * ```
 */
export function commitUpload(
  current: PictureRecord | null,
  start: UploadStart,
  settings: GateSettings,
  now: number,
): Pick<PictureRecord, 'changes'> {
  // An erase ran after this upload read the record: some of its objects may be deleted already.
  if (current?.erasure !== start.erasure) throw settings.fail('CONFLICT', { details: { reason: 'erased' } });
  refuseChange(current, settings, now);
  return withChange(current, settings.limit, now);
}

/**
 * Throws when the record's user may not change their picture now: locked, or at the change limit. For callers
 * outside an upload (e.g. a restore) that change the picture too.
 * @throws ProfilePictureError `LOCKED`, `TOO_MANY_CHANGES`.
 * @example
 * ```ts
 * // in a restore's compare-and-set: refuse, then count the change
 * (current) => { refuseChange(current, gate, now); return { ...restored, ...withChange(current, gate.limit, now) } }
 * ```
 */
export function refuseChange(current: PictureRecord | null, { limit, fail }: GateSettings, now: number): void {
  const lock = current?.lock;
  if (lock) throw fail('LOCKED', { details: { reason: typeof lock.reason === 'string' ? lock.reason : '' } });
  const retryAfter = checkChanges(current, limit, now);
  if (retryAfter > 0) throw fail('TOO_MANY_CHANGES', { details: { retryAfter, limit: limit!.max } });
}
