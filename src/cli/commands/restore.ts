/** `profile-picture restore <userId> <version>`: `pictures.restore()`, printing the new current picture. */
import type { Command } from '../command.js';

export const restore: Command = {
  name: 'restore',
  summary: "Make one of a user's previous pictures (see `history`) the current one again",
  description:
    "Makes the user's previous picture <version> (as `history` lists it) the current picture again; the current " +
    'picture becomes the newest previous one, and the oldest beyond the configured `history.keep` is deleted. ' +
    'Prints the new current version and its URLs; with --json, the new record. An unknown version fails with ' +
    'NOT_FOUND (exit code 1) and changes nothing.',
  positionals: ['userId', 'version'],
  needs: ['restore'],
  async run({ pictures, positionals }) {
    const [userId, version] = positionals as [string, string];
    const record = await pictures.restore(userId, version);
    const lines = [
      `restored ${version} for user ${userId}: now version ${record.version}`,
      ...Object.keys(pictures.options.variants).map((name) => `  ${name}  ${pictures.url(record, name)}`),
    ];
    return { json: record, lines };
  },
};
