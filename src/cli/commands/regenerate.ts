/** `profile-picture regenerate [--concurrency N]`: `pictures.regenerate()` with a progress bar; Ctrl-C stops it. */
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
    const total = await countPictures(pictures.options.users, signal);
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
 * counted: `regenerate()` does not look at them, so counting them would leave the bar short of 100%. A whole pass
 * over the table on a large install, so Ctrl-C stops it too (`regenerate()` then returns at once, aborted).
 */
async function countPictures(
  users: { listPictures?(): AsyncIterable<{ record: PictureRecord }> },
  signal: AbortSignal,
): Promise<number> {
  let count = 0;
  if (!users.listPictures) return count;
  for await (const { record } of users.listPictures()) {
    if (signal.aborted) break;
    if (hasPicture(record)) count++;
  }
  return count;
}
