/**
 * Who may use the intake's capacity, and for how long they may wait for it: the per-user cap on uploads in flight
 * and the processing slots. Refusals are cheap and immediate (`TOO_MANY_UPLOADS` 429, `BUSY` 503); every wait is
 * bounded, because a waiting request's socket is not being read and a client that hangs up meanwhile is only
 * noticed once reading starts.
 */
import type { ErrorFactory } from '../errors.js';
import { createLimiter, type Release } from '../limiter.js';
import type { ResolvedOptions } from '../options.js';

/**
 * Seconds a client refused with `BUSY` (503) should wait before retrying; also in the error's `details.retryAfter`.
 * Adapters send it as the `Retry-After` header.
 */
export const BUSY_RETRY_AFTER_SECONDS = 5;

/** The capacity gates of one service's `uploadRequest()`. */
export interface Admission {
  /**
   * Counts an upload in flight for `userId`.
   * @returns the function that counts it out again (idempotent).
   * @throws ProfilePictureError `TOO_MANY_UPLOADS` when the user already has `limits.uploadsPerUser` in flight.
   */
  enter(userId: string): () => void;
  /**
   * A processing slot, waiting in the queue for at most `limits.bodyTimeout`.
   * @throws ProfilePictureError `BUSY` (queue full, or waited too long) or `ABORTED` (`signal` fired).
   */
  takeSlot(signal: AbortSignal): Promise<Release>;
}

/**
 * Creates the gates with `options.concurrency` processing slots and `options.maxQueue` waiters.
 * @example
 * ```ts
 * const admission = createAdmission(resolved, fail);
 * const leave = admission.enter(userId);
 * const release = await admission.takeSlot(signal);
 * try { await work() } finally { release(); leave() }
 * ```
 */
export function createAdmission(options: ResolvedOptions, fail: ErrorFactory): Admission {
  const limiter = createLimiter({ concurrency: options.concurrency, maxQueue: options.maxQueue });
  const { bodyTimeout, uploadsPerUser } = options.limits;
  const busy = () => fail('BUSY', { details: { retryAfter: BUSY_RETRY_AFTER_SECONDS } });

  async function takeSlot(signal: AbortSignal): Promise<Release> {
    const queueTimeout = new AbortController();
    const waiting = limiter.acquire(AbortSignal.any([signal, queueTimeout.signal]));
    if (!waiting) throw busy();
    const timer = setTimeout(() => queueTimeout.abort(), bodyTimeout);
    try {
      return await waiting;
    } catch (cause) {
      throw signal.aborted ? fail('ABORTED', { cause }) : busy();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Uploads in flight per user id: one account may hold at most `limits.uploadsPerUser` of the slots. */
  const inFlight = new Map<string, number>();
  function enter(userId: string): () => void {
    const count = inFlight.get(userId) ?? 0;
    if (count >= uploadsPerUser) {
      throw fail('TOO_MANY_UPLOADS', { details: { retryAfter: BUSY_RETRY_AFTER_SECONDS, limit: uploadsPerUser } });
    }
    inFlight.set(userId, count + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const remaining = (inFlight.get(userId) ?? 1) - 1;
      if (remaining > 0) inFlight.set(userId, remaining);
      else inFlight.delete(userId);
    };
  }

  return { enter, takeSlot };
}
