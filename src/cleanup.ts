/**
 * Deleting objects no record references any more, and reporting the ones left for `sweep()`.
 *
 * Once the record is committed the request answers; removing the replaced objects is not worth a client's wait, and
 * a storage that hangs must not hold the request, the user's lock or the processing slot. So `schedule()` deletes in
 * the background: {@link CLEANUP_CONCURRENCY} at a time, each under the storage timeout, with at most
 * {@link CLEANUP_BACKLOG} waiting. Beyond the backlog a key is not deleted at all. Whatever is left behind (a delete
 * that failed, timed out or never ran, objects of an upload whose outcome is unknown) is an unreferenced object that
 * `sweep()` removes, and is reported once to `onOrphan` (by default one `console.warn` line).
 *
 * Deleting late is always safe: every upload writes keys of its own (see keys.ts), so a key scheduled here is
 * referenced by no record and will never be written again, however long the delete waits or takes.
 */
import { isBackendTimeout, type BackendCall } from './backend-call.js';
import { isProfilePictureError } from './errors.js';
import type { StorageAdapter } from './storage/types.js';

/** Background deletes running at once. Small: clean-up competes with uploads for the storage. */
export const CLEANUP_CONCURRENCY = 4;
/**
 * Background deletes waiting for a worker (three per replaced picture with the default variants). Beyond it keys
 * are reported as `'backlog-full'` and left for `sweep()`, so a storage outage cannot grow memory without bound.
 */
export const CLEANUP_BACKLOG = 1_000;

/**
 * Why an object was left in storage:
 * - `'delete-failed'`: a clean-up delete rejected (`cause` is the storage's error);
 * - `'timeout'`: a clean-up delete did not settle within `timeouts.storageMs` (it may still land);
 * - `'backlog-full'`: too many clean-ups were waiting, so this one was not attempted;
 * - `'commit-unknown'`: `setPicture` timed out or failed without saying whether it wrote, so it is unknown whether the
 *   record now points at the new objects or still at the old ones; both stay, and the set that ends up
 *   unreferenced is an orphan;
 * - `'write-unknown'`: a `put` timed out and may still land after its upload failed.
 */
export type OrphanReason = 'delete-failed' | 'timeout' | 'backlog-full' | 'commit-unknown' | 'write-unknown';

/**
 * One object the service left in storage for `sweep()`, as passed to the `onOrphan` option.
 * @example { key: 'profile_pictures/42/3f9c…-md.webp', reason: 'timeout', cause: Error('delete() did not settle within 10000 ms') }
 */
export interface OrphanEvent {
  /** The storage key. `sweep()` deletes it once it is unreferenced and older than its grace period. */
  key: string;
  reason: OrphanReason;
  /** The storage or repository error, or the timeout error, behind `reason`. */
  cause?: unknown;
}

/** What {@link createCleanup} needs from the service. */
export interface CleanupDependencies {
  storage: StorageAdapter;
  backend: BackendCall;
  /** The app's hook; undefined for the default warning. */
  onOrphan: ((event: OrphanEvent) => void) | undefined;
}

/** The service's clean-up. See the module comment. */
export interface Cleanup {
  /** Deletes `keys` in the background; never throws. */
  schedule(keys: readonly string[]): void;
  /** Deletes `keys` now, each under the storage timeout, reporting failures; never rejects. */
  deleteNow(keys: readonly string[]): Promise<void>;
  /** Reports `keys` as left in storage. */
  report(keys: readonly string[], reason: OrphanReason, cause?: unknown): void;
  /** Resolves once every background delete scheduled so far has succeeded, failed or timed out. */
  flush(): Promise<void>;
}

/**
 * Creates the clean-up of one service.
 *
 * @example
 * ```ts
 * const cleanup = createCleanup({ storage, backend, onOrphan: undefined });
 * cleanup.schedule(keysOf(previous)); // after the commit; the request answers at once
 * await cleanup.flush();             // in tests and at shutdown
 * ```
 * @throws nothing; failures are reported, never thrown.
 */
export function createCleanup({ storage, backend, onOrphan }: CleanupDependencies): Cleanup {
  const waiting: Array<() => Promise<void>> = [];
  let running = 0;
  const unfinished = new Set<Promise<void>>();

  function report(keys: readonly string[], reason: OrphanReason, cause?: unknown): void {
    for (const key of new Set(keys)) {
      try {
        const result: unknown = onOrphan ? onOrphan({ key, reason, cause }) : warn(key, reason);
        // An async hook that rejects is ignored like one that throws, not left as an unhandled rejection.
        if (isThenable(result)) result.then(undefined, () => {});
      } catch {
        // A broken hook must not turn a clean-up into a failure, let alone fail the request that triggered it.
      }
    }
  }

  /** Deletes `key` under the storage timeout; reports it when the delete failed or timed out. Never rejects. */
  async function deleteOne(key: string): Promise<void> {
    try {
      await backend('delete', () => storage.delete(key));
    } catch (error) {
      report([key], isBackendTimeout(error) ? 'timeout' : 'delete-failed', causeOf(error));
    }
  }

  function pump(): void {
    while (running < CLEANUP_CONCURRENCY && waiting.length > 0) {
      running++;
      void waiting.shift()!().finally(() => {
        running--;
        pump();
      });
    }
  }

  /** Queues one delete, or reports the key when the backlog is full. */
  function enqueue(key: string): void {
    if (waiting.length >= CLEANUP_BACKLOG) {
      report([key], 'backlog-full');
      return;
    }
    const finished = new Promise<void>((resolve) => waiting.push(() => deleteOne(key).finally(resolve)));
    unfinished.add(finished);
    void finished.then(() => unfinished.delete(finished));
    pump();
  }

  return {
    schedule(keys) {
      for (const key of new Set(keys)) enqueue(key);
    },
    async deleteNow(keys) {
      await Promise.all([...new Set(keys)].map(deleteOne));
    },
    report,
    async flush() {
      await Promise.all([...unfinished]);
    },
  };
}

// --- internal ---

function warn(key: string, reason: OrphanReason): void {
  console.warn(`[profile-picture] Left ${key} in storage (${reason}); sweep() will remove it once no record references it.`);
}

/** The error a report should carry: the storage's own (or the timeout) rather than our STORAGE_FAILED wrapper. */
function causeOf(error: unknown): unknown {
  return isProfilePictureError(error) && error.cause !== undefined ? error.cause : error;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
