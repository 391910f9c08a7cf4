/** `profile-picture export <userId>`: `pictures.export()`; the whole document with `--json`, a summary without. */
import type { Command } from '../command.js';
import { hasPicture } from '../../record-state.js';
import { formatBytes, plural } from '../format.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'Everything stored about one user: the record and every object (key, size, URL)',
  description:
    "Prints what the service holds about the user: the record, and every object under the user's prefix with its " +
    'size, content type, URL and the record fields that reference it. Use --json for the complete document ' +
    '(e.g. `profile-picture export 42 --json > 42.json`); without it, a summary.',
  positionals: ['userId'],
  needs: ['export'],
  async run({ pictures, positionals }) {
    const userId = positionals[0]!;
    const exported = await pictures.export(userId);
    const lines = [
      `user ${userId}: ${hasPicture(exported.record) ? `picture ${exported.record.version}, updated ${exported.record.updatedAt}` : 'no picture'}`,
      ...exported.objects.map(
        (object) =>
          `  ${object.key}  ${formatBytes(object.size)}  ${object.contentType}  ${object.leftover ? 'leftover' : object.referencedBy.join(', ')}${object.url ? `  ${object.url}` : ''}`,
      ),
      `${plural(exported.objects.length, 'objects')}, ${formatBytes(exported.objects.reduce((sum, object) => sum + object.size, 0))}` +
        (exported.missing.length > 0 ? `; ${plural(exported.missing.length, 'keys')} the record references missing from storage` : ''),
    ];
    return { json: exported, lines };
  },
};
