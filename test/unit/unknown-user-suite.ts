/**
 * What the service answers for a user the repository has no row for (a picture column on the app's users table):
 * called by unknown-user.test.ts (the example app's SQLite repository) and unknown-user-postgres.test.ts
 * (`postgresUserRepository` with `column`). Writes for such a user are `NOT_FOUND` (404) at once, never retried into
 * `CONFLICT` nor reported as a backend failure, and change nothing; operations with nothing to write answer as for a
 * user with no picture; `erase()` still deletes what is left under the user's prefix.
 */
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  type OrphanEvent,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { variantKey } from '../../src/keys.js';
import { listKeys, rejectionOf } from '../fixtures/service.js';
import { solidJpeg } from '../helpers/images.js';

/** Backends whose repository has a row for `u1` only. */
export type CreateKnownOnlyU1 = () => Promise<{ storage: StorageAdapter; users: UserRepository; dispose?(): Promise<void> }>;

const GHOST = 'ghost';
const NO_SUCH_USER = { code: 'NOT_FOUND', status: 404, details: { reason: 'no-such-user', userId: GHOST } };

export function describeUnknownUser(name: string, create: CreateKnownOnlyU1): void {
  describe(`a user without a row on ${name}`, () => {
    /** A service on fresh backends that counts `setPicture` calls and collects orphan reports. */
    async function setup(options: Partial<ProfilePicturesOptions> = {}) {
      const backends = await create();
      let writes = 0;
      const users: UserRepository = {
        ...backends.users,
        setPicture: (...args) => (writes++, backends.users.setPicture(...args)),
      };
      const orphans: OrphanEvent[] = [];
      const pictures = createProfilePictures({ storage: backends.storage, users, onOrphan: (event) => orphans.push(event), ...options });
      return { ...backends, pictures, orphans, writes: () => writes };
    }

    function scenario(title: string, body: (context: Awaited<ReturnType<typeof setup>>) => Promise<void>) {
      it(title, async () => {
        const context = await setup();
        try {
          await body(context);
        } finally {
          await context.dispose?.();
        }
      });
    }

    scenario('lock(): NOT_FOUND (404) naming the user after one write attempt, nothing stored', async ({ pictures, users, writes }) => {
      const error = await rejectionOf(pictures.lock(GHOST, 'Impersonation'));
      expect(error).toMatchObject(NO_SUCH_USER);
      expect(error.message).toBe('There is no user with the id "ghost".');
      expect(error.cause).toMatchObject(NO_SUCH_USER); // the repository's own error, for logs
      expect(writes()).toBe(1); // not retried as a lost compare-and-set
      expect(await users.getPicture(GHOST)).toBeNull();
      // The known user is locked as usual.
      expect(await pictures.lock('u1', 'Impersonation')).toBe(true);
    });

    scenario('unlock(), remove(), history(), restore(): answered as for a user without a picture, nothing written', async ({ pictures, writes }) => {
      expect(await pictures.unlock(GHOST)).toBe(false);
      expect(await pictures.remove(GHOST)).toBe(false);
      expect(await pictures.history(GHOST)).toEqual([]);
      expect(await rejectionOf(pictures.restore(GHOST, 'v1'))).toMatchObject({ code: 'NOT_FOUND', details: { reason: 'no-such-version' } });
      expect(await pictures.get(GHOST)).toBeNull();
      expect(writes()).toBe(0);
    });

    scenario('upload(): NOT_FOUND at the commit, and every object it wrote deleted before it rejects', async ({ pictures, storage, orphans, writes }) => {
      const error = await rejectionOf(pictures.upload(GHOST, await solidJpeg([200, 40, 40])));
      expect(error).toMatchObject(NO_SUCH_USER);
      expect(writes()).toBe(1);
      expect(await listKeys(storage)).toEqual([]);
      expect(orphans).toEqual([]);
    });

    scenario('erase(): deletes what is left under the user’s prefix (the app deleted the row first) and resolves', async ({ pictures, storage }) => {
      const leftover = variantKey('profile_pictures', GHOST, 'b'.repeat(32), 'md', 'webp');
      await storage.put(leftover, new Uint8Array([1, 2, 3]), { contentType: 'image/webp', cacheControl: 'no-cache' });
      await pictures.upload('u1', await solidJpeg([40, 40, 200]));
      await pictures.flush();
      const kept = await listKeys(storage);
      expect(await pictures.erase(GHOST)).toEqual({ objects: 1, bytes: 3, temporary: 0 });
      expect(await listKeys(storage)).toEqual(kept.filter((key) => key !== leftover));
    });

    it('the message is the app’s own through `messages`', async () => {
      const context = await setup({ messages: { NOT_FOUND: ({ userId }) => `Kein Benutzer ${String(userId)}.` } });
      try {
        expect((await rejectionOf(context.pictures.lock(GHOST))).message).toBe('Kein Benutzer ghost.');
      } finally {
        await context.dispose?.();
      }
    });
  });
}
