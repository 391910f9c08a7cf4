/**
 * `lock()` / `unlock()` and `limits.changes` (issue 11 §5) against one storage and one repository: called by
 * lock-limits.test.ts (memory and disk storage × memory and SQLite repositories) and lock-limits-postgres.test.ts.
 * Every case checks the records and what storage holds. Two service instances on one storage and one repository
 * stand for two app processes (no in-process state is shared between them).
 */
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { listKeys, recordKeys, rejectionOf } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';

/** A fresh storage and repository; the repository can hold records for `u1` and `u2`. */
export type CreateBackends = () => Promise<{ storage: StorageAdapter; users: UserRepository }>;

const images = await distinctImages(6);
const variants = { sm: 16, md: 32 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeLockLimits(title: string, create: CreateBackends): void {
  describe(title, () => {
    async function setup(options: Partial<ProfilePicturesOptions> = {}) {
      const { storage, users } = await create();
      const service = (extra: Partial<ProfilePicturesOptions> = {}) =>
        createProfilePictures({ master: false, storage, users, variants, ...options, ...extra });
      return { storage, users, pictures: service(), service };
    }

    describe('lock and unlock', () => {
      it('lock without a record writes a tombstone holding the lock; unlock clears it again', async () => {
        const { users, pictures } = await setup();
        expect(await pictures.lock('u1', 'spam')).toBe(true);
        const stored = await users.getPicture('u1');
        expect(stored).toMatchObject({ variants: {}, contentHash: '', lock: { reason: 'spam' } });
        expect(Date.parse(stored!.lock!.at)).toBeGreaterThan(Date.now() - 10_000);
        expect(await pictures.get('u1')).toBeNull();
        expect(await pictures.lock('u1', 'spam')).toBe(false); // already, for that reason: no write
        expect((await users.getPicture('u1'))!.version).toBe(stored!.version);
        expect(await pictures.lock('u1', 'impersonation')).toBe(true);
        expect((await users.getPicture('u1'))!.lock!.reason).toBe('impersonation');
        expect(await pictures.unlock('u1')).toBe(true);
        expect(await users.getPicture('u1')).toBeNull();
        expect(await pictures.unlock('u1')).toBe(false);
      });

      it('a locked user keeps their picture; uploads get 403 LOCKED with the reason and store nothing; remove is allowed', async () => {
        const { storage, users, pictures } = await setup();
        const before = await pictures.upload('u1', images[0]!);
        expect(await pictures.lock('u1', 'Reported; contact support.')).toBe(true);
        const locked = (await pictures.get('u1'))!;
        expect(locked).toMatchObject({ variants: before.variants, lock: { reason: 'Reported; contact support.' } });
        expect(locked.version).not.toBe(before.version); // a writer that read the record before the lock cannot overwrite it
        const error = await rejectionOf(pictures.upload('u1', images[1]!));
        expect([error.code, error.status, error.details]).toEqual(['LOCKED', 403, { reason: 'Reported; contact support.' }]);
        expect(error.message).toBe('Your profile picture is locked: Reported; contact support.');
        expect(await listKeys(storage)).toEqual(recordKeys(before));
        expect(await pictures.get('u1')).toEqual(locked);
        // Another user is not affected.
        await pictures.upload('u2', images[2]!);

        expect(await pictures.remove('u1')).toBe(true);
        await pictures.flush();
        expect(await pictures.get('u1')).toBeNull();
        expect(await users.getPicture('u1')).toMatchObject({ variants: {}, lock: { reason: 'Reported; contact support.' } });
        expect((await rejectionOf(pictures.upload('u1', images[1]!))).code).toBe('LOCKED');
        expect((await listKeys(storage)).filter((key) => key.includes('/u1/'))).toEqual([]);
      });

      it('a lock that lands while the upload renders wins: the upload rolls back, nothing of it stays', async () => {
        const { storage, users, service } = await setup();
        const admin = service();
        let pictures = service();
        const before = await pictures.upload('u1', images[0]!);
        // The app's moderation hook runs after every object is written and before the commit: the admin locks then.
        pictures = service({
          moderate: async () => {
            await admin.lock('u1', 'locked meanwhile');
            return 'allow' as const;
          },
        });
        const error = await rejectionOf(pictures.upload('u1', images[1]!));
        expect([error.code, error.details?.reason]).toEqual(['LOCKED', 'locked meanwhile']);
        expect(await listKeys(storage)).toEqual(recordKeys(before));
        expect(await users.getPicture('u1')).toMatchObject({ variants: before.variants, lock: { reason: 'locked meanwhile' } });
      });

      it('after unlock, uploads work again and the record no longer carries the lock', async () => {
        const { storage, pictures } = await setup();
        await pictures.lock('u1', 'x');
        expect((await rejectionOf(pictures.upload('u1', images[0]!))).code).toBe('LOCKED');
        expect(await pictures.unlock('u1')).toBe(true);
        const record = await pictures.upload('u1', images[0]!);
        expect(record).not.toHaveProperty('lock');
        expect(await listKeys(storage)).toEqual(recordKeys(record));
        // Unlocking a user with a picture keeps the picture (and its upload time).
        await pictures.lock('u1', 'y');
        expect(await pictures.unlock('u1')).toBe(true);
        const after = (await pictures.get('u1'))!;
        expect({ ...after, version: record.version }).toEqual(record);
      });

      it('a lock written by one instance refuses the other instance at once (no cache)', async () => {
        const { service } = await setup();
        const [a, b] = [service(), service()];
        await a.lock('u1', 'x');
        expect((await rejectionOf(b.upload('u1', images[0]!))).code).toBe('LOCKED');
        await a.unlock('u1');
        await b.upload('u1', images[0]!);
      });

      it('checks the reason', async () => {
        const { pictures } = await setup();
        await expect(pictures.lock('u1', 5 as unknown as string)).rejects.toThrow(
          new TypeError('[profile-picture] Expected a string for `lock(userId, reason)` but received 5 (number)'),
        );
        await expect(pictures.lock('u1', 'x'.repeat(501))).rejects.toThrow(RangeError);
        await expect(pictures.lock('', 'x')).rejects.toThrow(TypeError);
        expect(await pictures.lock('u1')).toBe(true); // no reason: ''
        const error = await rejectionOf(pictures.upload('u1', images[0]!));
        expect([error.details, error.message]).toEqual([{ reason: '' }, 'Your profile picture is locked and cannot be changed.']);
      });
    });

    describe('limits.changes', () => {
      it('holds across two instances sharing one repository; the window frees a slot again', async () => {
        const perMs = 1_500;
        const { storage, users, service } = await setup({ limits: { changes: { max: 2, perMs } } });
        const [a, b] = [service(), service()];
        await a.upload('u1', images[0]!);
        const second = await a.upload('u1', images[1]!);
        await a.flush();
        expect((await users.getPicture('u1'))!.changes).toHaveLength(2);
        const error = await rejectionOf(b.upload('u1', images[2]!));
        expect([error.code, error.status]).toEqual(['TOO_MANY_CHANGES', 429]);
        expect(error.details).toEqual({ retryAfter: expect.any(Number), limit: 2 });
        expect(error.details!.retryAfter).toBeGreaterThanOrEqual(1);
        expect(error.details!.retryAfter).toBeLessThanOrEqual(Math.ceil(perMs / 1000));
        expect(error.message).toMatch(/^You have changed your profile picture too often; try again in \d+ seconds?\.$/);
        expect(await listKeys(storage)).toEqual(recordKeys(second));
        // Another user has slots of their own.
        await b.upload('u2', images[3]!);

        await sleep(perMs + 50);
        const third = await b.upload('u1', images[2]!);
        await b.flush();
        // The first two left the window: pruned at this write.
        expect(third.changes).toHaveLength(1);
        expect((await listKeys(storage)).filter((key) => key.includes('/u1/'))).toEqual(recordKeys(third));
      });

      it('two instances racing for the last change: exactly one commits, the other rolls back', async () => {
        const { storage, users, service } = await setup({ limits: { changes: { max: 1, perMs: 60_000 } } });
        const [a, b] = [service(), service()];
        // Both read the record (no change yet) before either commits: only the commit can tell them apart.
        const outcomes = await Promise.all(
          [a, b].map((pictures, i) =>
            pictures.upload('u1', images[i]!).then(
              () => 'committed',
              (error: { code?: string }) => error.code,
            ),
          ),
        );
        expect(outcomes.sort()).toEqual(['TOO_MANY_CHANGES', 'committed']);
        const record = await users.getPicture('u1');
        expect(record!.changes).toHaveLength(1);
        expect(await listKeys(storage)).toEqual(recordKeys(record));
      });

      it('remove() does not count; an upload after it does', async () => {
        const { users, pictures } = await setup({ limits: { changes: { max: 2, perMs: 60_000 } } });
        await pictures.upload('u1', images[0]!);
        await pictures.remove('u1');
        expect(await users.getPicture('u1')).toMatchObject({ variants: {}, changes: [expect.any(String)] });
        await pictures.upload('u1', images[1]!);
        expect((await rejectionOf(pictures.upload('u1', images[2]!))).code).toBe('TOO_MANY_CHANGES');
      });
    });
  });
}
