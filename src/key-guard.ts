/**
 * Keeps clean-up deletes from destroying objects that another upload in this process has just written.
 *
 * Keys are content-hashed, so two uploads can legitimately write the same key: re-uploading the current picture, or
 * going back to the previous one while another upload replaces it. Without coordination a clean-up step (old
 * objects after a commit, a rollback, `remove()`, `sweep()`) could delete a key that an in-flight upload wrote a
 * moment earlier, and that upload would then commit a record pointing at a missing object.
 *
 * An upload `hold()`s its keys before writing them. Deletes skip held keys; a delete that was already running when
 * the hold arrived is remembered as having possibly removed the new bytes, and `settle()` (called by the upload
 * after its writes and before its commit) waits for such deletes and names the keys to write again.
 * A delete counts as running until the storage's own promise settles, not until a caller stopped waiting for it: a
 * delete that timed out may still land, and an upload must not commit the key before it has.
 * This covers one process; across processes the grace period of `sweep()` and the repository's compare-and-set are
 * what protect the record.
 */

/** See the module comment. */
export interface KeyGuard {
  /** Marks `keys` as written-but-not-committed by one upload. Returns the release function (idempotent). */
  hold(keys: readonly string[]): () => void;
  /**
   * Starts deleting every key in `keys` that nobody holds, with `remove`, and returns those deletes (held keys are
   * skipped and not returned). The caller decides how long to wait for `done`, which rejects when `remove` does.
   */
  deleteUnheld(keys: readonly string[], remove: (key: string) => Promise<void>): StartedDelete[];
  /**
   * Waits for deletes of `keys` that are still running and returns the held keys among them that a delete may have
   * removed after they were written: the caller must write those again before committing.
   */
  settle(keys: readonly string[]): Promise<string[]>;
  /**
   * Starts recording every key held from now on (held already or newly). A sweep takes its snapshot of referenced
   * keys before it deletes; an upload may hold, commit and release a candidate in between, and `stop()` returns the
   * keys the sweep must therefore leave alone.
   */
  track(): { stop(): Set<string> };
}

/** A delete started by {@link KeyGuard.deleteUnheld}. */
export interface StartedDelete {
  key: string;
  /** Settles with the storage's delete. */
  done: Promise<void>;
}

/** Creates an empty {@link KeyGuard}. */
export function createKeyGuard(): KeyGuard {
  const holds = new Map<string, number>();
  /** Every delete of a key still running: a second delete of the same key must not hide a first one that hangs. */
  const deleting = new Map<string, Set<Promise<unknown>>>();
  const lost = new Set<string>();
  const trackers = new Set<Set<string>>();

  function deleteOne(key: string, remove: (key: string) => Promise<void>): Promise<void> {
    const running = deleting.get(key) ?? new Set<Promise<unknown>>();
    deleting.set(key, running);
    const tracked = (async () => remove(key))().finally(() => {
      running.delete(settled);
      if (running.size === 0 && deleting.get(key) === running) deleting.delete(key);
      // A hold taken while the delete ran may have written its bytes before the delete landed.
      if (holds.has(key)) lost.add(key);
    });
    const settled = tracked.catch(() => {});
    running.add(settled);
    return tracked;
  }

  return {
    hold(keys) {
      for (const key of keys) holds.set(key, (holds.get(key) ?? 0) + 1);
      for (const tracked of trackers) for (const key of keys) tracked.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const key of keys) {
          const count = (holds.get(key) ?? 1) - 1;
          if (count > 0) holds.set(key, count);
          else {
            holds.delete(key);
            lost.delete(key);
          }
        }
      };
    },
    deleteUnheld(keys, remove) {
      const targets = [...new Set(keys)].filter((key) => !holds.has(key));
      return targets.map((key) => ({ key, done: deleteOne(key, remove) }));
    },
    track() {
      const tracked = new Set(holds.keys());
      trackers.add(tracked);
      return {
        stop() {
          trackers.delete(tracked);
          return tracked;
        },
      };
    },
    async settle(keys) {
      await Promise.all(keys.flatMap((key) => [...(deleting.get(key) ?? [])]));
      // Not cleared here: every holder of a lost key writes it again (idempotent); the last release forgets it.
      return keys.filter((key) => lost.has(key));
    },
  };
}
