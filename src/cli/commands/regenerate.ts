/** `profile-picture regenerate [--concurrency N]`: `pictures.regenerate()` with a progress bar; Ctrl-C stops it. */
import type { ProfilePictures } from '../../index.js';
import { hasPicture } from '../../record-state.js';
import type { PictureRecord } from '../../users/types.js';
import { UsageError, type Command } from '../command.js';
import { plural } from '../format.js';

export const regenerate: Command = {
  name: 'regenerate',
  summary: "Re-render every picture that does not match today's variants and format",
  description:
    "Re-renders every user whose record does not match today's variants and output format, from the record's master " +
    '(or, for older records, its widest variant), in the same order as an upload, so users keep a whole picture ' +
    'throughout and one who uploads meanwhile keeps the newer picture. Ctrl-C stops after the users in progress; ' +
    'running it again continues where it stopped. Exit code 1 when some users failed (they are listed).',
  options: {
    concurrency: { type: 'string', valueName: 'n', description: 'Users re-rendered at once (default 2)' },
  },
  needs: ['regenerate'],
  abortable: true,
  async run({ pictures, values, signal, progress }) {
    const concurrencyText = values.concurrency as string | undefined;
    const concurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new UsageError(`--concurrency expects a positive integer, not ${JSON.stringify(concurrencyText)}`, 'regenerate');
    }
    const total = await countPictures(pictures, signal);
    const bar = progress('regenerate');
    let result;
    try {
      result = await pictures.regenerate({
        concurrency,
        signal,
        onProgress: ({ scanned, regenerated, skipped, failed, userId }) =>
          bar.update(scanned, total, `${regenerated} regenerated, ${skipped} skipped, ${failed.length} failed (last: ${userId})`),
      });
    } finally {
      bar.stop();
    }
    const { scanned, regenerated, skipped, failed, aborted } = result;
    const lines = [
      ...failed.map((failure) => `failed  ${failure.userId}  ${failure.code}`),
      `${aborted ? 'stopped by Ctrl-C after' : 'looked at'} ${plural(scanned, 'users')}: ${regenerated} regenerated, ${skipped} skipped (already up to date or changed meanwhile), ${failed.length} failed`,
      ...(aborted ? ['run it again to continue where it stopped'] : []),
    ];
    return { json: result, lines, failed: failed.length > 0, aborted };
  },
};

// --- internal ---

/**
 * Users with a picture, for the bar's total (an estimate: uploads and removals go on meanwhile). Tombstones are not
 * counted: `regenerate()` does not look at them, so counting them would leave the bar short of 100%.
 *
 * A whole pass over the table on a large install, so it is bounded as the service bounds its own listings
 * (backend-call.ts): each step within `timeouts.repositoryMs`, else `STORAGE_FAILED` (exit 1) — a hung repository
 * must not hang the CLI. Ctrl-C stops it at once, even in the middle of a step (`regenerate()` then returns at once,
 * aborted). The bound is the CLI's own: this bin bundles none of the library's error classes (one per format, so
 * `instanceof` holds across the entries).
 */
async function countPictures(pictures: ProfilePictures, signal: AbortSignal): Promise<number> {
  const { users, timeouts } = pictures.options;
  let count = 0;
  if (!users.listPictures || signal.aborted) return count;
  let records: AsyncIterator<{ record: PictureRecord }> | undefined;
  try {
    records = users.listPictures()[Symbol.asyncIterator]();
    for (;;) {
      const step = await stepWithin(records.next(), timeouts.repositoryMs, signal);
      if (step === STOPPED || step.done) return count;
      if (hasPicture(step.value.record)) count++;
    }
  } catch (error) {
    throw error instanceof CountFailed ? error : new CountFailed(error);
  } finally {
    // Not awaited: a step still pending (stopped by Ctrl-C, or timed out) would hold the return up as long as it hangs.
    void Promise.resolve().then(() => records?.return?.()).catch(() => {});
  }
}

const STOPPED = Symbol('stopped');

/** `step`'s outcome, or {@link STOPPED} once `signal` aborts, or a {@link CountFailed} after `timeoutMs`. */
function stepWithin<T>(step: Promise<T>, timeoutMs: number, signal: AbortSignal): Promise<T | typeof STOPPED> {
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      settle();
    };
    const stop = () => finish(() => resolve(STOPPED));
    const timer = setTimeout(() => {
      const cause = new Error(`listPictures() did not settle within ${timeoutMs} ms`);
      finish(() => reject(new CountFailed(cause, { operation: 'listPictures', timeoutMs })));
    }, timeoutMs);
    signal.addEventListener('abort', stop, { once: true });
    step.then((value) => finish(() => resolve(value)), (error: unknown) => finish(() => reject(error)));
  });
}

/** The count's failure, shaped as the service's `STORAGE_FAILED` so the runner reports it alike (code and cause). */
class CountFailed extends Error {
  readonly code = 'STORAGE_FAILED';
  constructor(
    override readonly cause: unknown,
    readonly details: { operation: 'listPictures'; timeoutMs?: number } = { operation: 'listPictures' },
  ) {
    super('Counting the users with a picture (for the progress total) failed.');
    this.name = 'CountFailed';
  }
}
