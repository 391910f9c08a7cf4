/**
 * Who may use the intake's capacity, and for how long they may wait for it. Three gates, in the order an upload
 * passes them:
 *
 * 1. the per-user cap (`limits.uploadsPerUser`), so one account cannot take every slot below;
 * 2. a body slot (`bodyConcurrency`, with `maxQueue` waiters), taken before the first body byte and held until the
 *    upload ends: the body's buffer lives that long, so body slots are what bound memory
 *    (`bodyConcurrency × limits.fileSize`);
 * 3. a processing slot (`concurrency`), taken only once the whole body has arrived and held while the picture is
 *    decoded, rendered and stored. Slow senders therefore never occupy the CPU-bound slots; the uploads waiting
 *    here each hold a body slot, so their number is bounded by `bodyConcurrency` without a queue limit of its own.
 *
 * Refusals are cheap and immediate (`TOO_MANY_UPLOADS` 429, `BUSY` 503). Every wait is bounded by
 * `limits.bodyTimeout`: a request waiting for a body slot is not being read, so a client that hangs up meanwhile is
 * only noticed once reading starts; one waiting for a processing slot holds a body in memory.
 */
import type { ErrorFactory } from '../errors.js';
import { createLimiter, type Limiter, type Release } from '../limiter.js';
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
   * A body slot, waiting in the queue (at most `maxQueue` waiters) for at most `limits.bodyTimeout`.
   * @throws ProfilePictureError `BUSY` synchronously when the queue is full; the promise rejects with `BUSY` (waited
   *   too long) or `ABORTED` (`signal` fired).
   */
  takeBodySlot(signal: AbortSignal): Promise<Release>;
  /**
   * A processing slot, for an upload whose body has arrived (and which holds a body slot), waiting for at most
   * `limits.bodyTimeout`.
   * @throws ProfilePictureError `BUSY` (waited too long) or `ABORTED` (`signal` fired).
   */
  takeProcessingSlot(signal?: AbortSignal): Promise<Release>;
}

/**
 * Creates the gates of one service: `options.bodyConcurrency` body slots with `options.maxQueue` waiters, and
 * `options.concurrency` processing slots.
 * @example
 * ```ts
 * const admission = createAdmission(resolved, fail);
 * const leave = admission.enter(userId);
 * const releaseBody = await admission.takeBodySlot(clientSignal);
 * const bytes = await readBody();
 * const releaseProcessing = await admission.takeProcessingSlot(signal);
 * try { await process(bytes) } finally { releaseProcessing(); releaseBody(); leave() }
 * ```
 */
export function createAdmission(options: ResolvedOptions, fail: ErrorFactory): Admission {
  const bodies = createLimiter({ concurrency: options.bodyConcurrency, maxQueue: options.maxQueue });
  // Its waiters each hold a body slot, so `bodyConcurrency` already bounds them: the queue never refuses.
  const processing = createLimiter({ concurrency: options.concurrency, maxQueue: options.bodyConcurrency });
  const { bodyTimeout, uploadsPerUser } = options.limits;
  const busy = () => fail('BUSY', { details: { retryAfter: BUSY_RETRY_AFTER_SECONDS } });

  /**
   * A slot of `limiter`, waiting at most `bodyTimeout`; `BUSY` when refused or timed out, `ABORTED` on `signal`.
   * Not async: a full queue throws `BUSY` synchronously, so a caller knows before it starts any other work.
   */
  function take(limiter: Limiter, signal: AbortSignal | undefined): Promise<Release> {
    const waitTimeout = new AbortController();
    const waiting = limiter.acquire(signal ? AbortSignal.any([signal, waitTimeout.signal]) : waitTimeout.signal);
    if (!waiting) throw busy();
    const timer = setTimeout(() => waitTimeout.abort(), bodyTimeout);
    return waiting.then(
      (release) => (clearTimeout(timer), release),
      (cause: unknown) => {
        clearTimeout(timer);
        throw signal?.aborted ? fail('ABORTED', { cause }) : busy();
      },
    );
  }

  /** Uploads in flight per user id: one account may hold at most `limits.uploadsPerUser` of the body slots. */
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

  return {
    enter,
    takeBodySlot: (signal) => take(bodies, signal),
    takeProcessingSlot: (signal) => take(processing, signal),
  };
}
