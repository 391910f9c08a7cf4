/**
 * An in-process keyed mutex. It serialises one user's commits inside this process so concurrent uploads do not
 * spin on compare-and-set; across processes the repository's compare-and-set remains the real guarantee.
 */

/** Runs `run` once every earlier holder of `key` has finished. */
export type KeyedMutex = <T>(key: string, run: () => Promise<T>) => Promise<T>;

/**
 * Creates a mutex keyed by string: `run`s for the same key execute one at a time in call order, different keys run
 * in parallel. A rejected `run` releases the key like a resolved one. Idle keys hold no memory.
 *
 * @example
 * ```ts
 * const lock = createKeyedMutex();
 * await lock(userId, () => commit(userId));
 * ```
 */
export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<void>>();
  return async (key, run) => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    await previous;
    try {
      return await run();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
