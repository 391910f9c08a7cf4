/**
 * Previous pictures and restoring one (issue 11 §3, option `history: { keep }`).
 *
 * The history lives **inside the user's record** (`record.history`, newest first), so one compare-and-set moves a
 * picture between "current" and "history" together with everything else: no second write that could half-land, no
 * in-process lock needed (DESIGN invariant 7). Its objects stay where the upload wrote them. A history entry is the
 * picture fields of the record it was (variants, stills, master, preview, rendition…) plus `replacedAt`, so a
 * restore writes no object: the entry's keys move from `history` to the current picture inside one record, never
 * referenced twice (invariant 5), and get a new `version` (the compare-and-set token is never reused).
 *
 * Pruning to `keep` happens in the same record write; the pruned entries' keys are then in the previous record and
 * not in the next, so the clean-up that follows every commit deletes them — after the record stopped referencing
 * them (invariant 2). `keysOf()` in pictures.ts counts history keys as referenced, so `sweep()` never takes them.
 *
 * `remove()` does not push the removed picture into history (removing means its objects go); earlier entries stay
 * in the tombstone (record-state.ts) and can still be restored.
 */
import { randomUUID } from 'node:crypto';
import type { BackendCall } from './backend-call.js';
import { withChange } from './change-limit.js';
import type { ErrorFactory } from './errors.js';
import type { KeyedMutex } from './mutex.js';
import type { ResolvedOptions } from './options.js';
import { hasPicture, USER_STATE_FIELDS, userStateOf } from './record-state.js';
import { refuseChange, type GateSettings } from './upload-gate.js';
import type { PictureHistoryEntry, PictureRecord } from './users/types.js';

/**
 * A previous picture as {@link ProfilePictures.history} answers it: a {@link PictureRecord} (so `pictures.url()` and
 * `pictures.srcset()` take it) whose `version` is what `restore()` takes, `updatedAt` when it became the current
 * picture (its upload, or a restore) and `replacedAt` when it stopped being the current picture.
 */
export type PreviousPicture = PictureRecord & Pick<PictureHistoryEntry, 'replacedAt'>;

/**
 * The user state (record-state.ts) of the record that replaces `current`: its history with `current`'s picture (if
 * it has one) pushed to the front, pruned to `keep` entries; no `history` field when that leaves none.
 */
export function stateAfterReplacing(current: PictureRecord | null, keep: number, now: string): Partial<PictureRecord> {
  const earlier = historyOf(current);
  return withHistory(userStateOf(current), hasPicture(current) ? [entryOf(current, now), ...earlier] : earlier, keep);
}

/**
 * The record that makes `current`'s history entry `version` the current picture again: a new `version`, `updatedAt`
 * now, the entry out of the history and `current`'s picture (if any) pushed to its front, pruned to `keep`.
 * `undefined` when `current` has no such entry.
 */
export function restoredRecord(
  current: PictureRecord | null,
  version: string,
  { keep, now, newVersion }: { keep: number; now: string; newVersion: string },
): PictureRecord | undefined {
  const earlier = historyOf(current);
  const entry = earlier.find((candidate) => candidate.version === version);
  if (!current || !entry) return undefined;
  const others = earlier.filter((candidate) => candidate !== entry);
  const history = hasPicture(current) ? [entryOf(current, now), ...others] : others;
  const { replacedAt: _replacedAt, updatedAt: _updatedAt, version: _version, ...picture } = entry;
  return {
    // A restore swaps one entry for another: it never prunes, so a process configured with a smaller `keep` than
    // the app (a CLI, a script) cannot delete pictures by restoring one. Uploads prune to `keep`.
    ...withHistory(userStateOf(current), history, Math.max(keep, earlier.length)),
    ...picture,
    version: newVersion,
    restoredFrom: version,
    createdAt: current.createdAt,
    updatedAt: now,
  };
}

/** What {@link createHistory} needs from the service (pictures.ts). */
export interface HistoryDependencies {
  resolved: ResolvedOptions;
  backend: BackendCall;
  fail: ErrorFactory;
  lock: KeyedMutex;
  /** pictures.ts `swapRecord`: compare-and-set `decide(current)`, re-reading and retrying when another write won. */
  swapRecord(
    userId: string,
    onPending: (pending: Promise<void>) => void,
    decide: (current: PictureRecord | null) => PictureRecord | undefined,
  ): Promise<{ previous: PictureRecord | null; next: PictureRecord } | undefined>;
  /** The lock and change limit an upload obeys (upload-gate.ts): a restore changes the picture too. */
  gate: GateSettings;
  /** Deletes, in the background, what `previous` referenced and `next` does not (as after an upload). */
  cleanUp(previous: PictureRecord | null, next: PictureRecord): void;
}

/**
 * `history()` and `restore()` for one service. See the module comment.
 * @example
 * ```ts
 * const history = createHistory({ resolved, backend, fail, lock, swapRecord, gate, cleanUp });
 * const [previous] = await history.list('42');
 * if (previous) await history.restore('42', previous.version);
 * ```
 */
export function createHistory({ resolved, backend, fail, lock, swapRecord, gate, cleanUp }: HistoryDependencies) {
  async function list(userId: string): Promise<PreviousPicture[]> {
    const record = await backend('getPicture', () => resolved.users.getPicture(userId));
    // A tombstone (no current picture) still has its history.
    return historyOf(record).map((entry) => ({ ...entry, createdAt: record!.createdAt }));
  }

  async function restore(userId: string, version: string): Promise<PictureRecord> {
    if (typeof version !== 'string' || version === '') {
      throw new TypeError(`[profile-picture] Expected a non-empty string version but received ${typeof version}`);
    }
    return lock(userId, async () => {
      let already: PictureRecord | undefined;
      const swapped = await swapRecord(userId, () => {}, (current) => {
        const now = new Date();
        const next = restoredRecord(current, version, { keep: resolved.history.keep, now: now.toISOString(), newVersion: randomUUID() });
        if (next) {
          // A restore is a picture change: refused while locked or over `limits.changes`, and counted.
          refuseChange(current, gate, now.getTime());
          return { ...next, ...withChange(current, gate.limit, now.getTime()) };
        }
        // The same restore landed already (a double click, another instance, a retry after a timeout that committed):
        // answer its record rather than "no such version".
        if (hasPicture(current) && current.restoredFrom === version) return (already = current), undefined;
        throw fail('NOT_FOUND', { details: { reason: 'no-such-version', version: version.slice(0, 100) } });
      });
      if (!swapped) return already!;
      cleanUp(swapped.previous, swapped.next);
      return swapped.next;
    });
  }

  return { list, restore };
}

// --- internal ---

/**
 * A record's history entries; none for null or a malformed field, and only well-formed entries (a record from the
 * app's own database): a picture `url()` could not name, once listed or restored, would break every page showing it.
 */
function historyOf(record: PictureRecord | null): PictureHistoryEntry[] {
  const history = record?.history;
  return Array.isArray(history) ? history.filter(isWellFormed) : [];
}

function isWellFormed(entry: unknown): entry is PictureHistoryEntry {
  const candidate = entry as Partial<PictureHistoryEntry> | null;
  if (typeof candidate?.version !== 'string' || !hasPicture(candidate as PictureRecord)) return false;
  return Object.values(candidate.variants!).every(
    (variant: unknown) => typeof (variant as { key?: unknown })?.key === 'string' && Number.isFinite((variant as { width?: unknown }).width),
  );
}

/**
 * The history entry of `record`'s picture: every field but the user's state and the record-level times (so a
 * picture field added later is kept without this function knowing it), stamped `replacedAt`.
 */
function entryOf(record: PictureRecord, replacedAt: string): PictureHistoryEntry {
  const dropped = new Set<string>([...USER_STATE_FIELDS, 'createdAt', 'removedAt']);
  const picture = Object.fromEntries(Object.entries(record).filter(([field]) => !dropped.has(field)));
  return { ...(picture as Omit<PictureHistoryEntry, 'replacedAt'>), replacedAt };
}

/** `state` with `history` set to the first `keep` of `entries`, or without `history` when that leaves none. */
function withHistory(state: Partial<PictureRecord>, entries: PictureHistoryEntry[], keep: number): Partial<PictureRecord> {
  const { history: _history, ...rest } = state;
  const kept = entries.slice(0, keep);
  return kept.length > 0 ? { ...rest, history: kept } : rest;
}
