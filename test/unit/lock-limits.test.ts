/**
 * `lock()` / `unlock()` and `limits.changes` (issue 11 §5) on memory and disk storage × the memory repository and
 * the example app's SQLite repository: every case checks the records and what storage holds. Two service instances
 * on one storage and one repository stand for two app processes (no in-process state is shared between them).
 * Over HTTP: lock-limits-http.test.ts; in real processes: lock-limits-processes.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import { checkChanges, withChange } from '../../src/change-limit.js';
import {
  createProfilePictures,
  diskStorage,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { listKeys, recordKeys, rejectionOf } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';

const images = await distinctImages(6);
const variants = { sm: 16, md: 32 };
const USERS = ['u1', 'u2'];
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-lock-'));
afterAll(() => rm(sandbox, { recursive: true, force: true }));

let counter = 0;
const storages: Record<string, () => StorageAdapter> = {
  memory: () => memoryStorage(),
  disk: () => diskStorage({ root: path.join(sandbox, `d${++counter}`) }),
};
const repositories: Record<string, () => UserRepository> = {
  memory: () => memoryUserRepository(),
  sqlite: () => {
    const db = openDatabase(':memory:');
    const insert = db.prepare("INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'unused', ?, ?)");
    const now = new Date().toISOString();
    for (const id of USERS) insert.run(id, `user ${id}`, now, now);
    return sqliteUserRepository(db);
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const [storageName, createStorage] of Object.entries(storages)) {
  for (const [usersName, createUsers] of Object.entries(repositories)) {
    describe(`${storageName} storage + ${usersName} repository`, () => {
      function setup(options: Partial<ProfilePicturesOptions> = {}) {
        const storage = createStorage();
        const users = createUsers();
        const service = (extra: Partial<ProfilePicturesOptions> = {}) =>
          createProfilePictures({ master: false, storage, users, variants, ...options, ...extra });
        return { storage, users, pictures: service(), service };
      }

      describe('lock and unlock', () => {
        it('lock without a record writes a tombstone holding the lock; unlock clears it again', async () => {
          const { users, pictures } = setup();
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
          const { storage, users, pictures } = setup();
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
          const { storage, users, service } = setup();
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
          const { storage, pictures } = setup();
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
          const { service } = setup();
          const [a, b] = [service(), service()];
          await a.lock('u1', 'x');
          expect((await rejectionOf(b.upload('u1', images[0]!))).code).toBe('LOCKED');
          await a.unlock('u1');
          await b.upload('u1', images[0]!);
        });

        it('checks the reason', async () => {
          const { pictures } = setup();
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
          const { storage, users, service } = setup({ limits: { changes: { max: 2, perMs } } });
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
          const { storage, users, service } = setup({ limits: { changes: { max: 1, perMs: 60_000 } } });
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
          const { users, pictures } = setup({ limits: { changes: { max: 2, perMs: 60_000 } } });
          await pictures.upload('u1', images[0]!);
          await pictures.remove('u1');
          expect(await users.getPicture('u1')).toMatchObject({ variants: {}, changes: [expect.any(String)] });
          await pictures.upload('u1', images[1]!);
          expect((await rejectionOf(pictures.upload('u1', images[2]!))).code).toBe('TOO_MANY_CHANGES');
        });
      });
    });
  }
}

describe('limits.changes options', () => {
  const base = { storage: memoryStorage(), users: memoryUserRepository() };
  it.each([
    [{ max: 0, perMs: 1000 }, RangeError, 'Expected a positive integer for `limits.changes.max` but received 0 (number)'],
    [{ max: 2 }, TypeError, 'Expected a positive integer for `limits.changes.perMs` but received undefined'],
    [{ max: 2, perMs: 1.5 }, RangeError, 'Expected a positive integer for `limits.changes.perMs` but received 1.5 (number)'],
    [{ max: 2, per: 1000 }, TypeError, 'Unknown option `limits.changes.per`; did you mean `limits.changes.perMs`?'],
    [5, TypeError, 'Expected an object { max, perMs } or false for `limits.changes` but received 5 (number)'],
    [true, TypeError, 'Expected an object { max, perMs } or false for `limits.changes` but received true (boolean)'],
  ])('limits.changes: %j throws', (changes, type, message) => {
    expect(() => createProfilePictures({ ...base, limits: { changes } as never })).toThrow(new type(`[profile-picture] ${message}`));
  });

  it('resolves to null when off (the default, or false) and freezes the limit', () => {
    expect(createProfilePictures(base).options.limits.changes).toBeNull();
    expect(createProfilePictures({ ...base, limits: { changes: false } }).options.limits.changes).toBeNull();
    const { changes } = createProfilePictures({ ...base, limits: { changes: { max: 3, perMs: 60_000 } } }).options.limits;
    expect(changes).toEqual({ max: 3, perMs: 60_000 });
    expect(Object.isFrozen(changes)).toBe(true);
  });
});

describe('checkChanges / withChange (pure; for any write that counts as a change)', () => {
  const limit = { max: 2, perMs: 60_000 };
  const now = Date.parse('2026-12-02T12:00:00.000Z');
  const at = (msAgo: number) => new Date(now - msAgo).toISOString();
  const record = (changes: unknown) => ({ changes }) as PictureRecord;

  it('counts only changes inside the window; answers the seconds until the oldest counted one leaves it', () => {
    expect(checkChanges(null, limit, now)).toBe(0);
    expect(checkChanges(record([at(10_000)]), limit, now)).toBe(0);
    expect(checkChanges(record([at(61_000), at(10_000)]), limit, now)).toBe(0);
    expect(checkChanges(record([at(30_500), at(10_000)]), limit, now)).toBe(30);
    expect(checkChanges(record([at(50_000), at(40_000), at(10_000)]), limit, now)).toBe(20); // the 2nd newest frees a slot
    expect(checkChanges(record([at(10_000), at(20_000)]), null, now)).toBe(0); // no limit
    expect(checkChanges(record('garbage'), limit, now)).toBe(0);
    expect(checkChanges(record([at(1_000), 'garbage', 7]), limit, now)).toBe(0);
  });

  it('withChange prunes to the window and the last max − 1, then appends now; {} without a limit', () => {
    expect(withChange(null, limit, now)).toEqual({ changes: [at(0)] });
    expect(withChange(record([at(70_000), at(50_000), at(10_000)]), limit, now)).toEqual({ changes: [at(10_000), at(0)] });
    expect(withChange(record([at(10_000)]), { max: 1, perMs: 60_000 }, now)).toEqual({ changes: [at(0)] });
    expect(withChange(record([at(10_000)]), null, now)).toEqual({});
  });
});
