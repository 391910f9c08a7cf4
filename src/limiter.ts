/**
 * Bounded concurrency with a bounded FIFO queue.
 *
 * `uploadRequest()` uses two (see `intake/admission.ts`): body slots, held from the first body byte to the end of
 * the upload, so memory stays bounded by `bodyConcurrency × limits.fileSize` however many clients connect; and
 * processing slots, taken only once a body is complete, so the CPU-bound work is bounded by `concurrency` and slow
 * senders never hold it. Requests beyond the queue are refused at once (the caller answers 503) rather than piling
 * up sockets and buffers: a full queue is a signal to back off, not a place to wait.
 */

/** Gives a slot back. Idempotent: calling it again does nothing. */
export type Release = () => void;

/** A concurrency limiter created by {@link createLimiter}. */
export interface Limiter {
  /**
   * Takes a slot, waiting in the queue when all are busy.
   * @returns a promise of the release function, or `null` (synchronously) when every slot is busy and the queue is
   *   full — the caller should refuse the work.
   * The promise rejects with `signal.reason` when `signal` aborts while waiting; the waiter then leaves the queue.
   * @example
   * ```ts
   * const waiting = limiter.acquire(signal);
   * if (!waiting) throw busy();
   * const release = await waiting;
   * try { await work() } finally { release() }
   * ```
   */
  acquire(signal?: AbortSignal): Promise<Release> | null;
  /** Slots in use. */
  readonly active: number;
  /** Callers waiting for a slot. */
  readonly queued: number;
}

/** Options of {@link createLimiter}. */
export interface LimiterOptions {
  /** Most slots in use at once; a positive integer. */
  concurrency: number;
  /** Most callers waiting for a slot; 0 refuses whenever every slot is busy. */
  maxQueue: number;
}

interface Waiter {
  grant: (release: Release) => void;
  leave: () => void;
}

/**
 * Creates a limiter with `concurrency` slots and room for `maxQueue` waiters.
 * @throws RangeError when `concurrency` is not a positive integer or `maxQueue` is not a non-negative integer.
 * @example
 * ```ts
 * const limiter = createLimiter({ concurrency: 4, maxQueue: 16 });
 * ```
 */
export function createLimiter({ concurrency, maxQueue }: LimiterOptions): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`[profile-picture] Expected a positive integer for \`concurrency\` but received ${String(concurrency)}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`[profile-picture] Expected a non-negative integer for \`maxQueue\` but received ${String(maxQueue)}`);
  }
  let active = 0;
  const queue: Waiter[] = [];

  function slot(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      if (next) {
        // The slot passes straight to the next waiter, so `active` never dips and a newcomer cannot overtake it.
        next.leave();
        next.grant(slot());
      } else {
        active--;
      }
    };
  }

  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (active < concurrency) {
        active++;
        return Promise.resolve(slot());
      }
      if (queue.length >= maxQueue) return null;
      return new Promise<Release>((resolve, reject) => {
        const onAbort = () => {
          const index = queue.indexOf(waiter);
          if (index !== -1) queue.splice(index, 1);
          reject(signal!.reason);
        };
        const waiter: Waiter = {
          grant: resolve,
          leave: () => signal?.removeEventListener('abort', onAbort),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
  };
}
