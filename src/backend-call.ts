/**
 * The one place every storage and repository call goes through: failures become `STORAGE_FAILED` with the original
 * error as `cause`, and a call that does not settle within its timeout fails the same way, with
 * `details: { operation, timeoutMs }`.
 *
 * Why a timeout and not just an error: a backend promise that never settles would hold the user's commit lock and
 * the upload's processing slot forever, so a few hung requests would turn every other user away with `BUSY`. The
 * timed-out call itself cannot be cancelled and may still complete later; callers that care (a put that may land, a
 * compare-and-set that may commit) recognise the timeout with {@link isBackendTimeout} and act on "unknown".
 */
import { isProfilePictureError, type ErrorFactory, type ProfilePictureError } from './errors.js';

/** Storage methods the service calls, each under `timeouts.storageMs`. */
export const STORAGE_OPERATIONS = ['put', 'get', 'delete', 'deleteMany', 'list', 'sweepTemporary'] as const;
/** Repository methods the service calls, each under `timeouts.repositoryMs`. */
export const REPOSITORY_OPERATIONS = ['getPicture', 'setPicture', 'listPictures'] as const;
/** A storage or repository method, as named in `STORAGE_FAILED`'s `details.operation`. */
export type BackendOperation = (typeof STORAGE_OPERATIONS)[number] | (typeof REPOSITORY_OPERATIONS)[number];

/** Milliseconds a single storage or repository call may take. */
export interface BackendTimeouts {
  readonly storageMs: number;
  readonly repositoryMs: number;
}

/** Options of one {@link BackendCall}. */
export interface CallOptions<T> {
  /** Receives a value that arrived after the call had timed out, e.g. to close a stream nobody will read. */
  late?: (value: T) => void;
  /**
   * Called when the call times out, with a promise that settles (never rejecting) once the call itself does: until
   * then its effect may still land, e.g. a compare-and-set that commits late.
   */
  timedOut?: (pending: Promise<void>) => void;
  /** Overrides the operation's timeout, for a call that walks a whole install at once (sweep's `sweepTemporary`). */
  timeoutMs?: number;
}

/**
 * Runs one backend call under its timeout. `iterate()` does the same for an async iterable, timing each step
 * (`next()`), so a long listing may take as long as it needs while a stalled one still fails.
 */
export interface BackendCall {
  <T>(operation: BackendOperation, run: () => T | Promise<T>, options?: CallOptions<T>): Promise<T>;
  iterate<T>(operation: BackendOperation, open: () => AsyncIterable<T>): AsyncIterable<T>;
}

/**
 * Creates the service's {@link BackendCall}.
 *
 * @example
 * ```ts
 * const backend = createBackendCall(fail, { storageMs: 10_000, repositoryMs: 5_000 });
 * await backend('put', () => storage.put(key, bytes, meta));
 * for await (const object of backend.iterate('list', () => storage.list(prefix))) scanned++;
 * ```
 * @throws nothing itself; the returned function rejects with ProfilePictureError `STORAGE_FAILED` (502).
 */
export function createBackendCall(fail: ErrorFactory, timeouts: BackendTimeouts): BackendCall {
  function call<T>(operation: BackendOperation, run: () => T | Promise<T>, options: CallOptions<T> = {}): Promise<T> {
    const timeoutMs =
      options.timeoutMs ?? ((REPOSITORY_OPERATIONS as readonly string[]).includes(operation) ? timeouts.repositoryMs : timeouts.storageMs);
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      let settled!: () => void;
      const pending = new Promise<void>((done) => (settled = done));
      const timer = setTimeout(() => {
        timedOut = true;
        options.timedOut?.(pending);
        const cause = new Error(`${operation}() did not settle within ${timeoutMs} ms`);
        reject(fail('STORAGE_FAILED', { details: { operation, timeoutMs }, cause }));
      }, timeoutMs);
      // `run` may throw synchronously or return a non-promise (a hand-written storage need not be async).
      new Promise<T>((settle) => settle(run())).then(
        (value) => {
          settled();
          if (timedOut) return options.late?.(value);
          clearTimeout(timer);
          resolve(value);
        },
        (cause: unknown) => {
          settled();
          if (timedOut) return; // already answered; the late failure changes nothing
          clearTimeout(timer);
          reject(isProfilePictureError(cause) ? cause : fail('STORAGE_FAILED', { details: { operation }, cause }));
        },
      );
    });
  }

  async function* iterate<T>(operation: BackendOperation, open: () => AsyncIterable<T>): AsyncGenerator<T> {
    const iterator = await call(operation, () => open()[Symbol.asyncIterator]());
    let finished = false;
    try {
      for (;;) {
        const step = await call(operation, () => iterator.next());
        if (step.done) {
          finished = true;
          return;
        }
        yield step.value;
      }
    } finally {
      // Stopped early (a step failed or timed out, or the consumer broke off): let the source release what it holds,
      // without waiting for it, since a stalled source would stall its `return()` too.
      if (!finished) void Promise.resolve().then(() => iterator.return?.()).catch(() => {});
    }
  }

  return Object.assign(call, { iterate });
}

/**
 * True when `error` is a `STORAGE_FAILED` raised because a call timed out (optionally: a call of `operation`). Such
 * a call's outcome is unknown: it may still take effect.
 * @example
 * ```ts
 * if (isBackendTimeout(err, 'setPicture')) return; // the commit may still land: delete nothing
 * ```
 * @throws nothing.
 */
export function isBackendTimeout(error: unknown, operation?: BackendOperation): error is ProfilePictureError {
  if (!isProfilePictureError(error) || error.code !== 'STORAGE_FAILED') return false;
  const details = error.details ?? {};
  return typeof details.timeoutMs === 'number' && (operation === undefined || details.operation === operation);
}
