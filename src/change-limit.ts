/**
 * `limits.changes`: at most `max` picture changes per user per `perMs` window (issue 11 §5).
 *
 * The count lives in the user's record (`changes`: ISO-8601 times, oldest first, pruned to the window at every
 * write), so the compare-and-set that commits a change also counts it: the limit holds across any number of app
 * instances with no cache or shared counter, and two racing uploads cannot both take the last slot (one of them
 * re-reads the record and finds it full). The helpers here are pure; `upload-gate.ts` turns their answer into the
 * `TOO_MANY_CHANGES` error.
 */
import type { PictureRecord } from './users/types.js';
import { invalidOption, isPlainObject, optionNames, positiveInteger, rejectUnknownKeys } from './validate.js';

/** The option `limits.changes`. */
export interface ChangeLimit {
  /** Most picture changes (uploads) one user may make per window. */
  max: number;
  /** The window, in milliseconds (e.g. `24 * 60 * 60 * 1000` for a day). */
  perMs: number;
}

const CHANGE_LIMIT_NAMES = optionNames<ChangeLimit>({ max: 1, perMs: 1 });

/**
 * Validates `limits.changes`: `undefined` or `false` is no limit (null), else `{ max, perMs }` of positive integers.
 * @throws TypeError or RangeError naming the option (an unknown key with a suggestion).
 * @example
 * ```ts
 * resolveChangeLimit({ max: 5, perMs: 86_400_000 }); // { max: 5, perMs: 86400000 }, frozen
 * resolveChangeLimit({ max: 5, per: 1 }); // TypeError: Unknown option `limits.changes.per`; did you mean `limits.changes.perMs`?
 * ```
 */
export function resolveChangeLimit(value: unknown): Readonly<ChangeLimit> | null {
  if (value === undefined || value === false) return null;
  if (!isPlainObject(value)) throw invalidOption('limits.changes', 'an object { max, perMs } or false', value);
  rejectUnknownKeys('limits.changes', value, CHANGE_LIMIT_NAMES);
  return Object.freeze({
    max: positiveInteger('limits.changes.max', value.max),
    perMs: positiveInteger('limits.changes.perMs', value.perMs),
  });
}

/**
 * Seconds until the user may change their picture again — until the oldest change counted in the window leaves it —
 * or 0 when a change is allowed now (always, without a limit). Pure: reads `current.changes` only.
 * @example
 * ```ts
 * const wait = checkChanges(current, { max: 2, perMs: 3_600_000 }, Date.now());
 * if (wait > 0) throw fail('TOO_MANY_CHANGES', { details: { retryAfter: wait, limit: 2 } });
 * ```
 */
export function checkChanges(current: PictureRecord | null, limit: ChangeLimit | null, now: number): number {
  if (!limit) return 0;
  const recent = recentChanges(current, limit, now);
  if (recent.length < limit.max) return 0;
  // The oldest of the last `max` changes is the one whose leaving frees a slot.
  const oldest = recent[recent.length - limit.max]!;
  return Math.max(1, Math.ceil((oldest + limit.perMs - now) / 1000));
}

/**
 * The `changes` field of a record that makes one more change at `now`: the record's changes still in the window,
 * plus `now`. `{}` without a limit (the record's field, if any, is left as it is). Spread it over the new record.
 * @example
 * ```ts
 * const next = { ...userStateOf(current), ...made, ...withChange(current, limit, Date.now()) };
 * ```
 */
export function withChange(current: PictureRecord | null, limit: ChangeLimit | null, now: number): Pick<PictureRecord, 'changes'> {
  if (!limit) return {};
  // Only the last `max` matter for the next check; older ones would only grow the record.
  const kept = limit.max > 1 ? recentChanges(current, limit, now).slice(-(limit.max - 1)) : [];
  return { changes: [...kept, now].map((time) => new Date(time).toISOString()) };
}

// --- internal ---

/**
 * The times (ms) of the record's changes inside the window ending at `now`, oldest first. Tolerates a malformed
 * field from the app's database (no array, unparsable entries): those count as no change.
 */
function recentChanges(record: PictureRecord | null, { perMs }: ChangeLimit, now: number): number[] {
  const changes: unknown = record?.changes;
  if (!Array.isArray(changes)) return [];
  return changes
    .map((change) => (typeof change === 'string' ? Date.parse(change) : Number.NaN))
    // A time ahead of `now` (another instance's clock) counts; one beyond a window ahead is nonsense and must not
    // lock the user out for longer than a window.
    .filter((time) => Number.isFinite(time) && time > now - perMs && time <= now + perMs)
    .sort((a, b) => a - b);
}
