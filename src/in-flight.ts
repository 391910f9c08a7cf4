/**
 * Keys written by uploads in this process that are not committed yet, so `sweep()` leaves them alone even with a
 * grace period shorter than an upload.
 *
 * An optimisation, not a guarantee: across processes only `sweep()`'s grace period (`olderThan`, longer than any
 * upload can take) protects an upload's objects until its record references them. Nothing else needs coordinating:
 * every upload writes keys of its own (see keys.ts), so one upload's clean-up can never delete another's objects.
 */

/** See the module comment. */
export interface InFlightKeys {
  /** Records `keys` as written by an upload in progress; returns the function that forgets them (idempotent). */
  add(keys: readonly string[]): () => void;
  /**
   * Starts recording every key in flight from now on, besides those in flight already. A sweep reads which keys are
   * referenced before it deletes; an upload may write, commit and forget a candidate in between, and `stop()` names
   * every key the sweep must therefore leave alone.
   */
  watch(): { stop(): ReadonlySet<string> };
}

/**
 * Creates an empty {@link InFlightKeys}.
 * @example
 * ```ts
 * const inFlight = createInFlightKeys();
 * const forget = inFlight.add([key]);
 * try { await commit() } finally { forget() }
 * ```
 */
export function createInFlightKeys(): InFlightKeys {
  const counts = new Map<string, number>();
  const watchers = new Set<Set<string>>();
  return {
    add(keys) {
      for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
      for (const seen of watchers) for (const key of keys) seen.add(key);
      let forgotten = false;
      return () => {
        if (forgotten) return;
        forgotten = true;
        for (const key of keys) {
          const count = (counts.get(key) ?? 1) - 1;
          if (count > 0) counts.set(key, count);
          else counts.delete(key);
        }
      };
    },
    watch() {
      const seen = new Set(counts.keys());
      watchers.add(seen);
      return {
        stop() {
          watchers.delete(seen);
          return seen;
        },
      };
    },
  };
}
