/** `profile-picture erase <userId>`: `pictures.erase()`, printing its receipt. */
import type { Command } from '../command.js';
import { formatBytes, plural } from '../format.js';

export const erase: Command = {
  name: 'erase',
  summary: "Delete everything stored for one user (record and every object under the user's prefix)",
  description:
    "Clears the user's record and deletes every object under the user's prefix (the current picture and any " +
    'leftover of a crashed or replaced upload); prints the receipt (objects and bytes deleted). Sign the user out ' +
    'first, and run it again once no upload started before can still be running: an upload another app instance ' +
    'commits during the erase can leave a record behind.',
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
