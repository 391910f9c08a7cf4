/**
 * A user's stored record holds two kinds of state: the **current picture** (variants, stills, master, preview…) and
 * **state that outlives a picture** — history (issue 11 §3), a lock and the change times (§5), the last erase's
 * marker. Keeping both in one record lets one compare-and-set cover everything (DESIGN invariant 7: no in-process
 * lock is needed for any of it, across any number of app instances).
 *
 * So removing a picture does not always clear the record: when user state remains, the record becomes a
 * **tombstone** — `variants: {}` and no other picture field — which `get()` answers as `null` (no picture). A
 * repository stores it like any record; `listPictures()` yields it; code reading records must check
 * {@link hasPicture}.
 */
import type { PictureRecord } from './users/types.js';

/**
 * Record fields that belong to the user rather than to the current picture: carried into every record written for the
 * user (upload, regenerate, restore) and kept in a tombstone when the picture goes.
 */
export const USER_STATE_FIELDS = ['history', 'lock', 'changes', 'erasure'] as const;

/** The user state a record carries (see {@link USER_STATE_FIELDS}); `{}` for null or a record without any. */
export function userStateOf(record: PictureRecord | null): Partial<Pick<PictureRecord, (typeof USER_STATE_FIELDS)[number]>> {
  const state: Record<string, unknown> = {};
  if (!record) return state;
  for (const field of USER_STATE_FIELDS) {
    if (record[field] !== undefined) state[field] = record[field];
  }
  return state;
}

/**
 * A record that holds a current picture: what {@link hasPicture} narrows to. Only a tombstone has `removedAt`, so a
 * record without it is what a tombstone is not — which is why, when `hasPicture()` is false, TypeScript still lets you
 * read the tombstone's `lock` or `history` (a guard to plain `PictureRecord` would narrow it to `never`).
 */
export type CurrentPicture = PictureRecord & { removedAt?: undefined };

/**
 * True when the record has a current picture; false for null and for a **tombstone** (a record kept for the user's
 * history, lock, change times or erase marker, with `variants: {}`). Use it on records read from the repository or
 * your own database (`pictures.get()` already answers null for a tombstone). Tolerates a malformed record from the
 * app's database (no `variants` object: no picture). A type guard: `record` is a {@link CurrentPicture} when it is
 * true, and stays `PictureRecord | null` (a tombstone, or nothing) when it is false.
 * @example
 * ```ts
 * import { hasPicture } from 'profile-picture';
 * const record = await pictures.options.users.getPicture('42'); // the stored record, tombstone or not
 * const src = hasPicture(record) ? pictures.url(record, 'md') : null;
 * if (!hasPicture(record)) console.log(record?.lock?.reason); // a user without a picture may be locked too
 * ```
 * @throws nothing.
 */
export function hasPicture(record: PictureRecord | null | undefined): record is CurrentPicture {
  const variants = record?.variants;
  return !!variants && typeof variants === 'object' && Object.keys(variants).length > 0;
}

/**
 * What a record becomes when its picture goes: `null` when it holds no user state, else a tombstone keeping that
 * state (and `createdAt`, when the user first got a picture), stamped `removedAt` and given a new `version`.
 * `state` overrides the kept user state (e.g. `{ history }` with the removed picture pushed onto it).
 */
export function withoutPicture(
  record: PictureRecord,
  version: string,
  now: string,
  state: Partial<PictureRecord> = userStateOf(record),
): PictureRecord | null {
  const kept = Object.fromEntries(Object.entries(state).filter(([, value]) => value !== undefined));
  if (Object.keys(kept).length === 0) return null;
  return {
    version,
    contentHash: '',
    contentType: '',
    variants: {},
    createdAt: record.createdAt,
    updatedAt: now,
    removedAt: now,
    ...kept,
  };
}
