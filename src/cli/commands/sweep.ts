/** `profile-picture sweep [--dry-run] [--older-than 1h]`: `pictures.sweep()`, printed, with its progress on stderr. */
import { UsageError, type Command } from '../command.js';
import { formatBytes, parseDuration, plural } from '../format.js';
import { createPhaseDisplays } from '../progress.js';

export const sweep: Command = {
  name: 'sweep',
  summary: 'Delete orphans (objects no record references) older than a grace period',
  description:
    'Deletes the objects under the prefix that no record references and that are older than --older-than, then ' +
    "the storage's own leftovers (disk: temp files of writes a crashed process never finished). Objects younger than " +
    'that may belong to an upload another instance has written but not yet committed: keep it far above your ' +
    'longest upload, and never 0 while the app runs. With --dry-run, lists what it would delete and deletes nothing.',
  options: {
    'dry-run': { type: 'boolean', description: 'List what would be deleted; delete nothing' },
    'older-than': {
      type: 'string',
      valueName: 'duration',
      description: 'Only objects older than this: 90s, 30m, 1h, 2d (default 1h)',
    },
  },
  needs: ['sweep'],
  async run({ pictures, values, progress, counter, note }) {
    const olderThanText = (values['older-than'] as string | undefined) ?? '1h';
    const olderThan = parseDuration(olderThanText);
    if (olderThan === undefined) {
      throw new UsageError(`--older-than expects a duration such as 90s, 30m, 1h or 2d, not ${JSON.stringify(olderThanText)}`, 'sweep');
    }
    const dryRun = values['dry-run'] === true;
    const displays = createPhaseDisplays();
    let result;
    try {
      result = await pictures.sweep({
        olderThan,
        dryRun,
        onProgress({ phase, scanned, records, orphans, deleted }) {
          if (phase === 'objects') displays.show(phase, () => counter('sweep: listed', 'objects')).update(scanned);
          else if (phase === 'records') displays.show(phase, () => counter('sweep: read', 'records')).update(records);
          else if (phase === 'deletes') displays.show(phase, () => progress('sweep: deleting')).update(deleted, orphans, 'orphans deleted');
          else {
            displays.stop();
            note("sweep: deleting the storage's own leftovers (disk: temp files of crashed writes)…");
          }
        },
      });
    } finally {
      displays.stop();
    }
    const scanned = `of ${plural(result.scanned, 'objects')} scanned (older than ${olderThanText})`;
    const lines = dryRun
      ? [
          ...result.keys!,
          `would delete ${plural(result.keys!.length, 'orphans')}, ${formatBytes(result.bytes!)}, ${scanned}; nothing deleted`,
        ]
      : [`deleted ${plural(result.deleted, 'orphans')} ${scanned}, and ${plural(result.temporary, 'temporary files')}`];
    return { json: result, lines };
  },
};
