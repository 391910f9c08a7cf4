/** `profile-picture stats`: `pictures.stats()`, printed, with the count so far on stderr. */
import type { Command } from '../command.js';
import { formatBytes, plural, table } from '../format.js';
import { createPhaseDisplays } from '../progress.js';

export const stats: Command = {
  name: 'stats',
  summary: 'Users with pictures, objects and bytes by variant, orphans',
  description:
    'Counts the users with a picture, every object under the prefix with its size (as storage reports it), the ' +
    'referenced ones by variant, the orphans (objects no record references; `sweep` deletes them once old enough) ' +
    'and the keys records reference that storage lacks. Reads only.',
  needs: ['stats'],
  async run({ pictures, counter }) {
    const displays = createPhaseDisplays();
    let result;
    try {
      result = await pictures.stats({
        onProgress: ({ phase, objects, records }) =>
          phase === 'objects'
            ? displays.show(phase, () => counter('stats: listed', 'objects')).update(objects)
            : displays.show(phase, () => counter('stats: read', 'records')).update(records),
      });
    } finally {
      displays.stop();
    }
    const tally = (objects: number, bytes: number) => `${plural(objects, 'objects')}, ${formatBytes(bytes)}`;
    const lines = table([
      ['users with a picture', String(result.users)],
      ['stored', tally(result.objects, result.bytes)],
      ['referenced', tally(result.referenced.objects, result.referenced.bytes)],
      ...Object.entries(result.variants).map(([name, variant]) => [`  ${name}`, tally(variant.objects, variant.bytes)] as const),
      ...(result.stills.objects > 0 ? [['  stills', tally(result.stills.objects, result.stills.bytes)] as const] : []),
      ...(result.masters.objects > 0 ? [['  masters', tally(result.masters.objects, result.masters.bytes)] as const] : []),
      ...(result.history.objects > 0 ? [['  history', tally(result.history.objects, result.history.bytes)] as const] : []),
      ['orphans', tally(result.orphans.objects, result.orphans.bytes)],
      ['missing', `${plural(result.missing, 'objects')}${result.missing > 0 ? ' (records reference them; storage lacks them)' : ''}`],
    ]);
    return { json: result, lines };
  },
};
