/**
 * Which uploads in this process overlapped an `erase()` of their user, so they fail at their commit instead of
 * committing a record that points at objects the erase deleted.
 *
 * An upload writes its objects before it commits. Had an erase listed and deleted some of them meanwhile, the commit
 * would make the record point at missing objects (DESIGN invariant 2). So an upload that was in flight when an erase
 * of its user began, or began while one ran, is marked, and its commit refuses (`CONFLICT`): its rollback then
 * deletes what it wrote, and the user ends with no picture, as the erase promised.
 *
 * In this process only, and not needed for correctness: the record's erase marker refuses such a commit in any
 * process (upload-gate.ts, privacy.ts). This guard only fails this process's overlapping uploads and regenerations
 * without a re-read, and costs them nothing but a map entry.
 */

/** An upload's view of the guard, from {@link EraseGuard.track}. */
export interface UploadTicket {
  /** True once an erase of the user overlapped this upload: its commit must not happen. */
  readonly overlapped: boolean;
  /** Stops tracking the upload (committed or rolled back). Idempotent. */
  done(): void;
}

/** See the module comment. */
export interface EraseGuard {
  /** Tracks one upload of `userId` from before its first write to its end. */
  track(userId: string): UploadTicket;
  /** Marks every upload of `userId` in flight now or starting before the returned function is called. */
  begin(userId: string): () => void;
}

/**
 * Creates an empty {@link EraseGuard}. Idle users hold no memory.
 * @example
 * ```ts
 * const ticket = guard.track(userId);
 * try { await lock(userId, () => { if (ticket.overlapped) throw fail('CONFLICT'); return commit() }) }
 * finally { ticket.done() }
 * ```
 */
export function createEraseGuard(): EraseGuard {
  const uploads = new Map<string, Set<{ overlapped: boolean }>>();
  const erasing = new Map<string, number>();
  return {
    track(userId) {
      const ticket = { overlapped: erasing.has(userId) };
      const set = uploads.get(userId) ?? new Set();
      uploads.set(userId, set.add(ticket));
      return {
        get overlapped() {
          return ticket.overlapped;
        },
        done() {
          set.delete(ticket);
          if (set.size === 0 && uploads.get(userId) === set) uploads.delete(userId);
        },
      };
    },
    begin(userId) {
      erasing.set(userId, (erasing.get(userId) ?? 0) + 1);
      for (const ticket of uploads.get(userId) ?? []) ticket.overlapped = true;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        const count = erasing.get(userId)! - 1;
        if (count > 0) erasing.set(userId, count);
        else erasing.delete(userId);
      };
    },
  };
}
