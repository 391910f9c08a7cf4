/**
 * The total `profile-picture regenerate` gives its progress display: the users `regenerate()` will look at (a
 * tombstone is not one of them), counted in a pass Ctrl-C can stop — on a large install that pass alone takes as
 * long as reading the whole table, so each of its steps is bounded by `timeouts.repositoryMs`, and Ctrl-C stops it even
 * in the middle of a step that hangs.
 */
import { describe, expect, it } from 'vitest';
import { regenerate } from '../../src/cli/commands/regenerate.js';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type ProfilePicturesOptions,
  type UserRepository,
} from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';

/** A memory repository holding `count` records (one `sm` variant each, its object not stored). */
async function usersWithPictures(count: number): Promise<UserRepository> {
  const users = memoryUserRepository();
  const now = new Date().toISOString();
  for (let index = 0; index < count; index++) {
    const key = `profile_pictures/u${index}/x-sm.webp`;
    const record = { version: `v${index}`, contentHash: '0', contentType: 'image/webp', createdAt: now, updatedAt: now };
    await users.setPicture(`u${index}`, { ...record, variants: { sm: { key, width: 24, height: 24, bytes: 1 } } }, null);
  }
  return users;
}

/**
 * `inner`, counting the records its listing yields; with `hang`, the listing yields the first record and then never
 * yields again nor ends (a hung database).
 */
function countingListing(inner: UserRepository, { hang = false } = {}): UserRepository & { steps(): number } {
  let steps = 0;
  return {
    getPicture: (userId) => inner.getPicture(userId),
    setPicture: (userId, next, expected) => inner.setPicture(userId, next, expected),
    async *listPictures() {
      for await (const entry of inner.listPictures!()) {
        steps++;
        yield entry;
        if (hang) await new Promise(() => {});
      }
    },
    steps: () => steps,
  };
}

/** Runs the command in process, recording every `update(done, total)` its progress display receives. */
async function runRegenerate(
  users: UserRepository,
  storage = memoryStorage(),
  signal = new AbortController().signal,
  timeouts: ProfilePicturesOptions['timeouts'] = {},
) {
  const pictures = createProfilePictures({ storage, users, variants: { sm: 24, md: 40 }, history: { keep: 1 }, timeouts });
  const updates: Array<[number, number]> = [];
  const outcome = await regenerate.run({
    pictures,
    values: {},
    positionals: [],
    signal,
    progress: () => ({ update: (done, total) => void updates.push([done, total]), stop: () => {} }),
    counter: () => ({ update: () => {}, stop: () => {} }),
    note: () => {},
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
    const users = countingListing(await usersWithPictures(50));
    const controller = new AbortController();
    controller.abort();

    const { outcome } = await runRegenerate(users, memoryStorage(), controller.signal);

    expect(outcome.aborted).toBe(true);
    // The count and regenerate()'s own walk each read at most the one record they hold when they see the signal.
    expect(users.steps()).toBeLessThanOrEqual(2);
  });

  it('a listing that hangs fails the count with STORAGE_FAILED after timeouts.repositoryMs, as the service bounds its own calls', async () => {
    const users = countingListing(await usersWithPictures(3), { hang: true });
    const started = Date.now();
    const failure = await runRegenerate(users, memoryStorage(), new AbortController().signal, { repositoryMs: 200 }).then(
      () => undefined,
      (error: unknown) => error as { code?: string; details?: unknown },
    );
    expect(failure).toMatchObject({ code: 'STORAGE_FAILED', details: { operation: 'listPictures', timeoutMs: 200 } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(users.steps()).toBe(1);
    expect(await users.getPicture('u0')).toMatchObject({ version: 'v0' }); // nothing re-rendered
  });

  it('Ctrl-C during a step that hangs stops the count at once, long before the timeout; the run ends aborted', async () => {
    const users = countingListing(await usersWithPictures(3), { hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();

    const { outcome, updates } = await runRegenerate(users, memoryStorage(), controller.signal, { repositoryMs: 60_000 });

    expect(outcome).toMatchObject({ aborted: true, json: { scanned: 0, regenerated: 0, failed: [], aborted: true } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(updates).toEqual([]);
  });
});
