/**
 * The UserRepository conformance suite, published as `profile-picture/testing`. Every repository (ours: memory,
 * PostgreSQL, the example app's SQLite one; anyone's own) calls `describeUserRepository()` from its own vitest test
 * file.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isUnknownUserError } from '../unknown-user.js';
import type { PictureRecord, UserRepository } from '../users/types.js';

/** Direct views of the backend, bypassing the repository. */
export interface UserRepositoryProbe {
  /** Whether the backend still holds anything for `userId` (a row, a JSON column that is not null, …). */
  rawHasPicture(userId: string): Promise<boolean>;
}

/** Options of {@link describeUserRepository}. */
export interface UserRepositorySuiteOptions {
  /**
   * A fresh, empty repository; called before every test. Repositories that only know existing users (a column
   * on the app's `users` table) must create the users the suite uses: {@link SUITE_USER_IDS}.
   */
  create: () => UserRepository | Promise<UserRepository>;
  probe?: UserRepositoryProbe;
  /**
   * Records per page of the repository's `listPictures()`, if it pages: one listing test stores two pages and a
   * few more records (at most 1,003); another stores {@link LISTING_USER_IDS} whatever the page size. A repository
   * under test may be created with a small page.
   * @default 500
   */
  listPageSize?: number;
  /**
   * `false` declares that the repository has no `listPictures()` (then `sweep()` cannot run with it): the listing
   * tests are skipped. By default the suite fails a repository without it.
   * @default true
   */
  listPictures?: boolean;
  /**
   * For a repository that keeps records on the app's own user rows (a column of a `users` table): an id it has no
   * row for. Every `setPicture` for it must throw `unknownUserError(userId)` (the service answers `NOT_FOUND`)
   * and write nothing. Leave it out for a repository that stores a record for any id: the suite then checks that it
   * does, for an id outside {@link SUITE_USER_IDS}.
   * @default undefined (the repository stores a record for any id)
   */
  unknownUserId?: string;
}

/** The id the suite writes for when the repository says it takes any id (not in {@link SUITE_USER_IDS}). */
const UNLISTED_USER_ID = 'not-created-by-the-suite';

/**
 * Users the listing tests may store a record for: five pages of 500 (the SQL repositories' default page size), so a
 * repository that pages `listPictures()` must carry its cursor across pages while records come and go.
 */
export const LISTING_USER_IDS: readonly string[] = Array.from(
  { length: 2500 },
  (_, i) => `many-${String(i).padStart(4, '0')}`,
);

/** Every user id the suite reads or writes. Ids are opaque strings to a repository: not only slugs. */
export const SUITE_USER_IDS: readonly string[] = [
  '42',
  'alice',
  'bob',
  'ünïcødé user@example.com',
  'u-race',
  ...LISTING_USER_IDS,
];

/** A complete, realistic record; `seed` makes each one different. */
export function sampleRecord(seed: string, overrides: Partial<PictureRecord> = {}): PictureRecord {
  const hash = seed.padEnd(8, '0');
  return {
    version: `v-${seed}`,
    contentHash: `${hash}${'ab'.repeat(28)}`,
    contentType: 'image/webp',
    variants: {
      sm: { key: `profile_pictures/42/${hash}-sm.webp`, width: 64, height: 64, bytes: 812 },
      md: { key: `profile_pictures/42/${hash}-md.webp`, width: 256, height: 256, bytes: 6120 },
      lg: { key: `profile_pictures/42/${hash}-lg.webp`, width: 512, height: 512, bytes: 19044 },
    },
    createdAt: '2024-01-02T03:04:05.006Z',
    updatedAt: '2024-06-07T08:09:10.011Z',
    ...overrides,
  };
}

/**
 * Registers the conformance tests for one UserRepository implementation.
 *
 * @example
 * ```ts
 * describeUserRepository('memory', { create: () => memoryUserRepository() });
 * ```
 */
export function describeUserRepository(name: string, options: UserRepositorySuiteOptions): void {
  const { probe, listPageSize = 500, listPictures: listing = true, unknownUserId } = options;
  const manyIds = LISTING_USER_IDS.slice(0, 2 * listPageSize + 3);
  if (manyIds.length < 2 * listPageSize + 3) throw new RangeError(`listPageSize ${listPageSize} is above the maximum`);

  describe(`UserRepository conformance: ${name}`, () => {
    let users: UserRepository;

    beforeEach(async () => {
      users = await options.create();
    });

    it('has the required methods', () => {
      expect(typeof users.getPicture).toBe('function');
      expect(typeof users.setPicture).toBe('function');
    });

    it('resolves null for a user without a picture', async () => {
      expect(await users.getPicture('42')).toBeNull();
      expect(await users.getPicture('alice')).toBeNull();
    });

    it('round-trips the record as JSON (deep equality)', async () => {
      const record = sampleRecord('a1');
      expect(await users.setPicture('42', record, null)).toBe(true);
      const stored = await users.getPicture('42');
      expect(stored).toEqual(record);
      expect(JSON.parse(JSON.stringify(stored))).toEqual(record);
    });

    it('treats user ids as opaque strings', async () => {
      const id = 'ünïcødé user@example.com';
      await users.setPicture(id, sampleRecord('u1'), null);
      expect(await users.getPicture(id)).toEqual(sampleRecord('u1'));
      expect(await users.getPicture('42')).toBeNull();
    });

    it('keeps users apart', async () => {
      await users.setPicture('alice', sampleRecord('a'), null);
      await users.setPicture('bob', sampleRecord('b'), null);
      await users.setPicture('alice', null, 'v-a');
      expect(await users.getPicture('alice')).toBeNull();
      expect(await users.getPicture('bob')).toEqual(sampleRecord('b'));
    });

    it('isolates stored records from later mutation of the objects passed in or returned', async () => {
      const record = sampleRecord('m1');
      await users.setPicture('42', record, null);
      record.variants.md!.key = 'mutated';
      const read = await users.getPicture('42');
      read!.variants.sm!.key = 'mutated too';
      expect(await users.getPicture('42')).toEqual(sampleRecord('m1'));
    });

    describe('compare-and-set', () => {
      it('replaces the record when expected matches the current version', async () => {
        await users.setPicture('42', sampleRecord('one'), null);
        expect(await users.setPicture('42', sampleRecord('two'), 'v-one')).toBe(true);
        expect(await users.getPicture('42')).toEqual(sampleRecord('two'));
      });

      it('returns false and changes nothing for a stale expected version', async () => {
        await users.setPicture('42', sampleRecord('one'), null);
        await users.setPicture('42', sampleRecord('two'), 'v-one');
        expect(await users.setPicture('42', sampleRecord('three'), 'v-one')).toBe(false);
        expect(await users.getPicture('42')).toEqual(sampleRecord('two'));
      });

      it('returns false for expected = null when a record exists', async () => {
        await users.setPicture('42', sampleRecord('one'), null);
        expect(await users.setPicture('42', sampleRecord('two'), null)).toBe(false);
        expect(await users.getPicture('42')).toEqual(sampleRecord('one'));
      });

      it('returns false for an expected version when there is no record', async () => {
        expect(await users.setPicture('42', sampleRecord('one'), 'v-ghost')).toBe(false);
        expect(await users.getPicture('42')).toBeNull();
      });

      it('lets exactly one of two concurrent writers with the same expected version win', async () => {
        await users.setPicture('u-race', sampleRecord('base'), null);
        const results = await Promise.all([
          users.setPicture('u-race', sampleRecord('left'), 'v-base'),
          users.setPicture('u-race', sampleRecord('right'), 'v-base'),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results[0] ? 'left' : 'right';
        expect(await users.getPicture('u-race')).toEqual(sampleRecord(winner));
      });

      it('lets exactly one of ten concurrent first writers (expected = null) win', async () => {
        const seeds = Array.from({ length: 10 }, (_, i) => `w${i}`);
        const results = await Promise.all(seeds.map((seed) => users.setPicture('u-race', sampleRecord(seed), null)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await users.getPicture('u-race')).toEqual(sampleRecord(seeds[results.indexOf(true)]!));
      });
    });

    describe('removal (next = null)', () => {
      it('removes the record when expected matches', async () => {
        await users.setPicture('42', sampleRecord('one'), null);
        expect(await users.setPicture('42', null, 'v-one')).toBe(true);
        expect(await users.getPicture('42')).toBeNull();
        if (probe) expect(await probe.rawHasPicture('42')).toBe(false);
        // After removal the user counts as "has no picture" again.
        expect(await users.setPicture('42', sampleRecord('two'), null)).toBe(true);
      });

      it('resolves true for expected = null when there is no record (nothing to clear)', async () => {
        expect(await users.setPicture('42', null, null)).toBe(true);
        expect(await users.getPicture('42')).toBeNull();
        if (probe) expect(await probe.rawHasPicture('42')).toBe(false);
      });

      it('keeps the record when expected is stale', async () => {
        await users.setPicture('42', sampleRecord('one'), null);
        expect(await users.setPicture('42', null, 'v-old')).toBe(false);
        expect(await users.getPicture('42')).toEqual(sampleRecord('one'));
        if (probe) expect(await probe.rawHasPicture('42')).toBe(true);
      });
    });

    describe('users the repository does not know', () => {
      it.skipIf(unknownUserId === undefined)('refuses every write for a user without a row with unknownUserError(userId), writing nothing', async () => {
        const id = unknownUserId!;
        const writes: Array<[PictureRecord | null, string | null]> = [[sampleRecord('n1'), null], [sampleRecord('n2'), 'v-n1'], [null, null]];
        for (const [next, expected] of writes) {
          const error: unknown = await users.setPicture(id, next, expected).then(() => undefined, (thrown: unknown) => thrown);
          // A `false` would be taken for a lost race: retried, then reported as CONFLICT.
          expect(isUnknownUserError(error), `setPicture(${JSON.stringify(id)}, …, ${String(expected)}) throws unknownUserError()`).toBe(true);
          expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, details: { reason: 'no-such-user', userId: id } });
        }
        expect(await users.getPicture(id)).toBeNull();
        if (probe) expect(await probe.rawHasPicture(id)).toBe(false);
        if (listing) expect((await listAll(users)).map((entry) => entry.userId)).not.toContain(id);
      });

      it.skipIf(unknownUserId !== undefined)('stores a record for any id (declare `unknownUserId` if the repository only knows existing users)', async () => {
        expect(await users.setPicture(UNLISTED_USER_ID, sampleRecord('any'), null)).toBe(true);
        expect(await users.getPicture(UNLISTED_USER_ID)).toEqual(sampleRecord('any'));
        expect(await users.setPicture(UNLISTED_USER_ID, null, 'v-any')).toBe(true);
        expect(await users.getPicture(UNLISTED_USER_ID)).toBeNull();
      });
    });

    describe.skipIf(!listing)('listPictures', () => {
      it('is implemented (sweep() needs it; pass `listPictures: false` to the suite for a repository without it)', () => {
        expect(typeof users.listPictures).toBe('function');
      });

      it('yields every stored record with its user id, and no removed ones', async () => {
        await users.setPicture('42', sampleRecord('r42'), null);
        await users.setPicture('alice', sampleRecord('ra'), null);
        await users.setPicture('bob', sampleRecord('rb'), null);
        await users.setPicture('bob', null, 'v-rb');
        const listed = await listAll(users);
        listed.sort((a, b) => a.userId.localeCompare(b.userId));
        expect(listed).toEqual([
          { userId: '42', record: sampleRecord('r42') },
          { userId: 'alice', record: sampleRecord('ra') },
        ]);
      });

      it('yields each of more records than two pages exactly once, with writes between yields', async () => {
        await storeRecords(users, manyIds);
        const seen: string[] = [];
        for await (const { userId, record } of users.listPictures!()) {
          expect(record).toEqual(sampleRecord(userId));
          // A write while the iteration is suspended must neither fail (an open statement, a held connection) nor
          // make the listing skip or repeat a user.
          expect(await users.setPicture(userId, sampleRecord(`${userId}-2`), record.version)).toBe(true);
          seen.push(userId);
        }
        expect(seen.sort()).toEqual([...manyIds].sort());
      }, 60_000);

      it(`yields each record that stays exactly once among ${LISTING_USER_IDS.length} users, while others are added, changed and removed`, async () => {
        const added = LISTING_USER_IDS.filter((_, i) => i % 25 === 0); // no record until the listing runs
        const stored = LISTING_USER_IDS.filter((_, i) => i % 25 !== 0);
        const removed = new Set(stored.filter((_, i) => i % 8 === 1));
        const changed = new Set(stored.filter((_, i) => i % 8 === 2));
        await storeRecords(users, stored);
        // Spread over the listing, so some writes hit users already listed and some users not reached yet.
        const writes: Array<() => Promise<boolean>> = [];
        const [removals, changes] = [[...removed], [...changed]];
        for (let k = 0; k < removals.length; k++) {
          writes.push(() => users.setPicture(removals[k]!, null, `v-${removals[k]}`));
          writes.push(() => users.setPicture(changes[k]!, sampleRecord(`${changes[k]}-2`), `v-${changes[k]}`));
          if (k < added.length) writes.push(() => users.setPicture(added[k]!, sampleRecord(added[k]!), null));
        }
        const times = new Map<string, number>();
        let yields = 0;
        for await (const { userId, record } of users.listPictures!()) {
          times.set(userId, (times.get(userId) ?? 0) + 1);
          // Any record the user had during the listing: the first, the changed one, or (added) the only one.
          expect([sampleRecord(userId), sampleRecord(`${userId}-2`)]).toContainEqual(record);
          if (yields++ % 3 === 0 && writes.length > 0) expect(await writes.shift()!()).toBe(true);
        }
        expect(writes).toHaveLength(0);
        expect([...times].filter(([, n]) => n > 1), 'users listed twice').toEqual([]);
        const kept = stored.filter((id) => !removed.has(id));
        expect(kept.filter((id) => !times.has(id)), 'users with a record throughout, not listed').toEqual([]);
        expect([...times.keys()].filter((id) => !LISTING_USER_IDS.includes(id)), 'users never stored').toEqual([]);

        // Listed again with nothing moving: exactly the final state.
        const final = await listAll(users);
        const expected = [...kept, ...added].map((userId) => ({
          userId,
          record: sampleRecord(changed.has(userId) ? `${userId}-2` : userId),
        }));
        const byId = (a: { userId: string }, b: { userId: string }) => (a.userId < b.userId ? -1 : 1);
        expect(final.sort(byId)).toEqual(expected.sort(byId));
      }, 120_000);

      it('yields nothing when empty', async () => {
        expect(await listAll(users)).toEqual([]);
      });
    });
  });
}

// --- internal ---

/** Stores `sampleRecord(id)` for each id as a first picture, 50 writes at a time. */
async function storeRecords(users: UserRepository, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 50) {
    const results = await Promise.all(ids.slice(i, i + 50).map((id) => users.setPicture(id, sampleRecord(id), null)));
    expect(results.every(Boolean)).toBe(true);
  }
}

async function listAll(users: UserRepository): Promise<Array<{ userId: string; record: PictureRecord }>> {
  const listed: Array<{ userId: string; record: PictureRecord }> = [];
  for await (const entry of users.listPictures!()) listed.push(entry);
  return listed;
}
