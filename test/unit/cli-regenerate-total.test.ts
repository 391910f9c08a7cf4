/**
 * The total `profile-picture regenerate` gives its progress display: the users `regenerate()` will look at (a
 * tombstone is not one of them), counted in a pass Ctrl-C can stop — on a large install that pass alone takes as
 * long as reading the whole table.
 */
import { describe, expect, it } from 'vitest';
import { regenerate } from '../../src/cli/commands/regenerate.js';
import { createProfilePictures, memoryStorage, memoryUserRepository, type UserRepository } from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';

/** Runs the command in process, recording every `update(done, total)` its progress display receives. */
async function runRegenerate(users: UserRepository, storage = memoryStorage(), signal = new AbortController().signal) {
  const pictures = createProfilePictures({ storage, users, variants: { sm: 24, md: 40 }, history: { keep: 1 } });
  const updates: Array<[number, number]> = [];
  const outcome = await regenerate.run({
    pictures,
    values: {},
    positionals: [],
    signal,
    progress: () => ({ update: (done, total) => void updates.push([done, total]), stop: () => {} }),
  });
  await pictures.flush();
  return { outcome, updates };
}

describe('profile-picture regenerate: the progress total', () => {
  it('counts the users with a picture, not tombstones, so the display ends at done = total', async () => {
    const storage = memoryStorage();
    const users = memoryUserRepository();
    // Uploaded at the default variants. u3 replaced its picture, then removed it: its previous picture keeps a
    // record (a tombstone) with no current picture.
    const seeding = createProfilePictures({ storage, users, history: { keep: 1 } });
    const images = await distinctImages(4);
    for (const [index, image] of images.entries()) await seeding.upload(`u${index}`, image);
    await seeding.upload('u3', images[0]!);
    await seeding.remove('u3');
    await seeding.flush();
    expect((await users.getPicture('u3'))?.removedAt).toBeDefined();

    const { outcome, updates } = await runRegenerate(users, storage);

    expect(outcome.json).toMatchObject({ scanned: 3, regenerated: 3, failed: [], aborted: false });
    expect(updates.at(-1)).toEqual([3, 3]);
  });

  it('stops counting on Ctrl-C (the aborted signal) instead of reading every record first', async () => {
    const inner = memoryUserRepository();
    const now = new Date().toISOString();
    for (let index = 0; index < 50; index++) {
      const key = `profile_pictures/u${index}/x-sm.webp`;
      const record = { version: `v${index}`, contentHash: '0', contentType: 'image/webp', createdAt: now, updatedAt: now };
      await inner.setPicture(`u${index}`, { ...record, variants: { sm: { key, width: 24, height: 24, bytes: 1 } } }, null);
    }
    let read = 0;
    const users: UserRepository = {
      getPicture: (userId) => inner.getPicture(userId),
      setPicture: (userId, next, expected) => inner.setPicture(userId, next, expected),
      async *listPictures() {
        for await (const entry of inner.listPictures!()) {
          read++;
          yield entry;
        }
      },
    };
    const controller = new AbortController();
    controller.abort();

    const { outcome } = await runRegenerate(users, memoryStorage(), controller.signal);

    expect(outcome.aborted).toBe(true);
    // The count and regenerate()'s own walk each read at most the one record they hold when they see the signal.
    expect(read).toBeLessThanOrEqual(2);
  });
});
