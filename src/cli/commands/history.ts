/** `profile-picture history <userId>`: `pictures.history()`, one line per previous picture. */
import type { Command } from '../command.js';

export const history: Command = {
  name: 'history',
  summary: "One user's previous pictures (option history): version, dates, URLs",
  description:
    "Lists the user's previous pictures, newest first: the version (what `restore` takes), when it was uploaded, " +
    'when it was replaced, and the URL of each variant. With --json, the entries as `pictures.history()` resolves ' +
    'them, each with its `urls`. Empty when the service keeps no history (`history: { keep: 0 }`, the default).',
  positionals: ['userId'],
  needs: ['history'],
  async run({ pictures, positionals }) {
    const userId = positionals[0]!;
    const previous = await pictures.history(userId);
    const entries = previous.map((picture) => ({
      ...picture,
      urls: Object.fromEntries(Object.keys(pictures.options.variants).map((name) => [name, pictures.url(picture, name)])),
    }));
    const lines = entries.length === 0
      ? [`user ${userId}: no previous pictures`]
      : entries.flatMap((entry) => [
          `${entry.version}  uploaded ${entry.updatedAt}  replaced ${entry.replacedAt}`,
          ...Object.entries(entry.urls).map(([name, url]) => `  ${name}  ${url}`),
        ]);
    return { json: entries, lines };
  },
};
