/** `profile-picture erase <userId>`: `pictures.erase()`, printing its receipt. */
import type { Command } from '../command.js';
import { formatBytes, plural } from '../format.js';

export const erase: Command = {
  name: 'erase',
  summary: "Delete everything stored for one user (record and every object under the user's prefix)",
  description:
    "Clears the user's record (keeping only the erase marker and an admin's lock) and deletes every object under " +
    "the user's prefix (the current picture, history and any leftover of a crashed or replaced upload); prints the " +
    'receipt (objects and bytes deleted). Uploads of the user still in flight on any app instance fail instead of ' +
    'committing.',
  positionals: ['userId'],
  needs: ['erase'],
  abortable: true,
  async run({ pictures, positionals, signal }) {
    const userId = positionals[0]!;
    const receipt = await pictures.erase(userId, { signal });
    const lines = [
      `erased user ${userId}: ${plural(receipt.objects, 'objects')}, ${formatBytes(receipt.bytes)}, and ${plural(receipt.temporary, 'temporary files')}`,
    ];
    return { json: receipt, lines };
  },
};
