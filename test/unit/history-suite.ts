/**
 * History and restore (issue 11 §3) against one storage and one repository: called by history.test.ts (memory and
 * disk storage × memory and SQLite repositories) and history-postgres.test.ts. Every case checks real outcomes: the
 * records, the bytes in storage (what is kept, what pruning deleted), what the media route serves, and that after
 * crashes and races the records reference only existing objects and nothing else is left once swept.
 */
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  type OrphanEvent,
  type PictureRecord,
  type ProfilePictures,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { listKeys, readObject, recordKeys, rejectionOf } from '../fixtures/service.js';
import type { CreateBackends } from '../helpers/backends.js';
import { distinctImages } from '../helpers/images.js';

const USERS = ['u1', 'u2'];
const VARIANTS = { sm: 32, md: 64 };
const images = await distinctImages(5);

/** The bytes the media route serves for `url` (the service has no storage URL: `/media/<key>`). */
async function served(pictures: ProfilePictures, url: string): Promise<Buffer> {
  expect(url.startsWith('/media/')).toBe(true);
  const result = await pictures.serve(url.slice('/media/'.length));
  expect(result.status).toBe(200);
  const chunks: Buffer[] = [];
  for await (const chunk of result.body!) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Every object of a picture (variants, stills, master) by key → bytes. */
async function objectsOf(storage: StorageAdapter, picture: Pick<PictureRecord, 'variants' | 'stills' | 'master'>) {
  const keys = [...Object.values(picture.variants), ...Object.values(picture.stills ?? {}), ...(picture.master ? [picture.master] : [])].map((o) => o.key);
  return new Map(await Promise.all(keys.map(async (key) => [key, await readObject(storage, key)] as const)));
}

export function describeHistory(name: string, createBackends: CreateBackends): void {
  describe(`history and restore on ${name}`, () => {
    async function setup(options: Partial<ProfilePicturesOptions> = {}) {
      const backends = await createBackends(USERS);
      const service = (more: Partial<ProfilePicturesOptions> = {}) =>
        createProfilePictures({
          storage: backends.storage,
          users: backends.users,
          variants: VARIANTS,
          history: { keep: 2 },
          onOrphan: () => {},
          ...options,
          ...more,
        });
      /** Uploads `count` pictures for `userId` in turn (each flushed): their records, oldest first. */
      const uploadMany = async (pictures: ProfilePictures, count: number, userId = 'u1') => {
        const records: PictureRecord[] = [];
        for (let i = 0; i < count; i++) {
          records.push(await pictures.upload(userId, images[i]!));
          await pictures.flush();
        }
        return records;
      };
      /** Every record's keys exist, and storage holds nothing else. */
      const expectConsistent = async () => {
        const referenced: string[] = [];
        for (const userId of USERS) referenced.push(...recordKeys(await backends.users.getPicture(userId)));
        // No object is referenced twice (DESIGN invariant 5), within a record or across users.
        expect(referenced.filter((key, i) => referenced.indexOf(key) !== i), 'keys referenced twice').toEqual([]);
        expect(await listKeys(backends.storage)).toEqual(referenced.sort());
      };
      return { ...backends, service, uploadMany, expectConsistent };
    }

    type Context = Awaited<ReturnType<typeof setup>>;
    /** A test on fresh backends (with `options`), released afterwards. */
    function scenario(title: string, ...args: [(context: Context) => Promise<void>] | [Partial<ProfilePicturesOptions>, (context: Context) => Promise<void>]) {
      const [options, body] = args.length === 1 ? [{}, args[0]] : args;
      it(title, async () => {
        const context = await setup(options);
        try {
          await body(context);
        } finally {
          await context.dispose?.();
        }
      });
    }

    scenario('keeps the replaced pictures with their objects; beyond keep the oldest one’s objects, and only those, are deleted', async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      const pictures = service();
      const [a, b, c] = await uploadMany(pictures, 3);
      // After three uploads with keep 2: nothing pruned yet.
      expect((await users.getPicture('u1'))!.history!.map((entry) => entry.version)).toEqual([b!.version, a!.version]);
      const bytesOfA = await objectsOf(storage, a!);
      const bytesOfB = await objectsOf(storage, b!);
      await expectConsistent();
      const before = await listKeys(storage);

      const d = await pictures.upload('u1', images[3]!);
      await pictures.flush();
      const record = (await users.getPicture('u1'))!;
      expect(record.version).toBe(d.version);
      expect(record.history!.map((entry) => entry.version)).toEqual([c!.version, b!.version]);
      expect(record.history![0]).toMatchObject({ variants: c!.variants, updatedAt: c!.updatedAt, contentHash: c!.contentHash });
      expect(Date.parse(record.history![0]!.replacedAt)).toBeGreaterThanOrEqual(Date.parse(c!.updatedAt));
      // Exactly A's objects went; D's came; B's bytes are untouched.
      const after = await listKeys(storage);
      expect(after.filter((key) => !before.includes(key)).sort()).toEqual(recordKeys({ ...d, history: [] }));
      expect(before.filter((key) => !after.includes(key)).sort()).toEqual([...bytesOfA.keys()].sort());
      for (const [key, bytes] of bytesOfB) expect(Buffer.compare(await readObject(storage, key), bytes), key).toBe(0);
      await expectConsistent();

      // What a page shows: newest first, usable with url() and srcset(), serving the kept bytes.
      const history = await pictures.history('u1');
      expect(history.map((entry) => entry.version)).toEqual([c!.version, b!.version]);
      expect(history[1]!.createdAt).toBe(a!.createdAt);
      expect(pictures.srcset(history[1]!)).toContain(b!.variants.md!.key);
      const md = await served(pictures, pictures.url(history[1]!, 'md'));
      expect(Buffer.compare(md, bytesOfB.get(b!.variants.md!.key)!)).toBe(0);
      expect(await pictures.history('u2')).toEqual([]);
    });

    scenario('a restore from a process with a smaller keep (the CLI, a script) prunes nothing', async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      const [a, b, c] = await uploadMany(service(), 3);
      const keys = await listKeys(storage);
      const restored = await service({ history: { keep: 0 } }).restore('u1', a!.version);
      await service().flush();
      expect(restored.variants).toEqual(a!.variants);
      expect((await users.getPicture('u1'))!.history!.map((entry) => entry.variants)).toEqual([c!.variants, b!.variants]);
      expect(await listKeys(storage)).toEqual(keys);
      await expectConsistent();
    });

    scenario('the same restore twice at once: both answer the one record it made', async (context) => {
      const { users, service, uploadMany, expectConsistent } = context;
      const [a] = await uploadMany(service(), 2);
      const [first, second] = await Promise.all([service().restore('u1', a!.version), service().restore('u1', a!.version)]);
      expect(first.version).toBe(second.version);
      expect(await users.getPicture('u1')).toMatchObject({ version: first.version, restoredFrom: a!.version, variants: a!.variants });
      // Once something else is current, the version is simply not in the history any more.
      await service().upload('u1', images[4]!);
      expect((await rejectionOf(service().restore('u1', a!.version))).code).toBe('NOT_FOUND');
      await service().flush();
      await expectConsistent();
    });

    scenario('malformed history entries from the database are neither listed nor restorable', async (context) => {
      const { users, service, uploadMany } = context;
      const pictures = service();
      const [a, b] = await uploadMany(pictures, 2);
      const stored = (await users.getPicture('u1'))!;
      const broken = { ...a!, version: 'broken', variants: { md: null } } as unknown as NonNullable<PictureRecord['history']>[number];
      const history = [broken, 'x', null, { version: 'no-variants' }, ...stored.history!] as PictureRecord['history'];
      expect(await users.setPicture('u1', { ...stored, history, version: 'v-malformed' }, stored.version)).toBe(true);
      const listed = await pictures.history('u1');
      expect(listed.map((entry) => entry.version)).toEqual([a!.version]);
      for (const entry of listed) expect(pictures.srcset(entry)).toContain('/media/');
      expect((await rejectionOf(pictures.restore('u1', 'broken'))).code).toBe('NOT_FOUND');
      expect((await pictures.get('u1'))!.version).toBe('v-malformed');
      expect((await pictures.restore('u1', a!.version)).variants).toEqual(a!.variants);
      expect(b).toBeDefined();
    });

    scenario('sweep({ olderThan: 0 }) keeps every history object; stats() counts them apart from the current pictures', { master: true }, async (context) => {
      const { storage, users, service, uploadMany } = context;
      const pictures = service();
      const [a, b] = await uploadMany(pictures, 3);
      const keys = await listKeys(storage);
      expect((await pictures.sweep({ olderThan: 0 })).deleted).toBe(0);
      expect(await listKeys(storage)).toEqual(keys);
      const stats = await pictures.stats();
      const historyKeys = [...recordKeys({ ...a!, history: [] }), ...recordKeys({ ...b!, history: [] })];
      expect(historyKeys).toHaveLength(6); // sm, md and the master of each
      expect(stats.history.objects).toBe(6);
      const sizes = new Map<string, number>();
      for await (const object of storage.list('')) sizes.set(object.key, object.size);
      expect(stats.history.bytes).toBe(historyKeys.reduce((sum, key) => sum + sizes.get(key)!, 0));
      expect(stats).toMatchObject({ users: 1, orphans: { objects: 0 }, missing: 0, masters: { objects: 1 } });
      expect(stats.variants.md!.objects).toBe(1);
      expect(stats.referenced.objects).toBe(keys.length);
      expect((await users.getPicture('u1'))!.history).toHaveLength(2);
    });

    scenario('restore round trip: the old picture is current again (new version, same objects), served from its old bytes', async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      const pictures = service();
      const [a, b] = await uploadMany(pictures, 2);
      const bytesOfA = await objectsOf(storage, a!);
      const keys = await listKeys(storage);

      const restored = await pictures.restore('u1', a!.version);
      expect(restored.version).not.toBe(a!.version);
      expect(restored.version).not.toBe(b!.version);
      expect(restored).toMatchObject({ variants: a!.variants, contentHash: a!.contentHash, preview: a!.preview, createdAt: a!.createdAt });
      expect(Date.parse(restored.updatedAt)).toBeGreaterThanOrEqual(Date.parse(b!.updatedAt));
      expect(restored.history!.map((entry) => entry.version)).toEqual([b!.version]);
      expect(await users.getPicture('u1')).toEqual(restored);
      expect(await pictures.get('u1')).toEqual(restored);
      await pictures.flush();
      // No object written, none deleted: the keys moved inside the record.
      expect(await listKeys(storage)).toEqual(keys);
      expect(pictures.url(restored, 'md')).toBe(pictures.url(a!, 'md'));
      expect(Buffer.compare(await served(pictures, pictures.url(restored, 'md')), bytesOfA.get(a!.variants.md!.key)!)).toBe(0);

      // And back again.
      const again = await pictures.restore('u1', b!.version);
      expect(again).toMatchObject({ variants: b!.variants });
      expect(again.history!.map((entry) => entry.version)).toEqual([restored.version]);
      expect(again.history![0]!.variants).toEqual(a!.variants);
      await pictures.flush();
      expect(await listKeys(storage)).toEqual(keys);
      await expectConsistent();
    });

    scenario('an unknown version is NOT_FOUND and changes nothing; with a smaller keep the next upload prunes, not a restore', async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      const pictures = service();
      const [a, b, c] = await uploadMany(pictures, 3);
      const record = await users.getPicture('u1');
      const keys = await listKeys(storage);
      for (const version of [c!.version, 'nope']) {
        const error = await rejectionOf(pictures.restore('u1', version));
        expect([error.code, error.status, error.details]).toEqual(['NOT_FOUND', 404, { reason: 'no-such-version', version }]);
        expect(error.message).toBe('There is no previous picture with this version.');
      }
      expect((await rejectionOf(pictures.restore('u2', a!.version))).code).toBe('NOT_FOUND');
      await expect(pictures.restore('u1', '')).rejects.toThrow(TypeError);
      await pictures.flush();
      expect(await users.getPicture('u1')).toEqual(record);
      expect(await listKeys(storage)).toEqual(keys);

      // The app lowers keep to 1: restoring A pushes C and keeps B (a restore never prunes)…
      const smaller = service({ history: { keep: 1 } });
      const restored = await smaller.restore('u1', a!.version);
      expect(restored.history!.map((entry) => entry.version)).toEqual([c!.version, b!.version]);
      await smaller.flush();
      expect(await listKeys(storage)).toEqual(keys);
      // …the next upload prunes to 1: only A (replaced) stays; B's and C's objects go.
      const d = await smaller.upload('u1', images[3]!);
      await smaller.flush();
      expect(d.history!.map((entry) => entry.variants)).toEqual([a!.variants]);
      const gone = [...recordKeys({ ...b!, history: [] }), ...recordKeys({ ...c!, history: [] })];
      expect((await listKeys(storage)).filter((key) => gone.includes(key))).toEqual([]);
      await expectConsistent();
    });

    scenario('remove() keeps the earlier pictures (not the removed one) in a tombstone; restore brings one back', async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      const pictures = service();
      const [a, b] = await uploadMany(pictures, 2);
      expect(await pictures.remove('u1')).toBe(true);
      await pictures.flush();
      expect(await pictures.get('u1')).toBeNull();
      expect((await pictures.history('u1')).map((entry) => entry.version)).toEqual([a!.version]);
      // B's objects went with it: only A's remain.
      expect(await listKeys(storage)).toEqual(recordKeys({ ...a!, history: [] }));
      expect((await users.getPicture('u1'))!.variants).toEqual({});
      // A's sm, md and master (stored by default).
      expect(a!.master).toBeDefined();
      expect(await pictures.stats()).toMatchObject({ users: 0, history: { objects: 3 }, orphans: { objects: 0 } });
      expect(b).toBeDefined();

      const restored = await pictures.restore('u1', a!.version);
      expect(restored).toMatchObject({ variants: a!.variants });
      expect(restored.history).toBeUndefined();
      expect(restored.removedAt).toBeUndefined();
      expect(await pictures.get('u1')).toEqual(restored);
      await pictures.flush();
      await expectConsistent();
    });

    scenario('with the default keep 0 nothing is kept: the replaced objects go and restore finds nothing', { history: undefined }, async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      const pictures = service();
      expect(pictures.options.history).toEqual({ keep: 0 });
      const [a, b] = await uploadMany(pictures, 2);
      expect((await users.getPicture('u1'))!.history).toBeUndefined();
      expect(await listKeys(storage)).toEqual(recordKeys(b!));
      expect(await pictures.history('u1')).toEqual([]);
      expect((await rejectionOf(pictures.restore('u1', a!.version))).code).toBe('NOT_FOUND');
      await expectConsistent();
    });

    scenario('regenerate() re-renders the current picture only and keeps the history as it is', { master: true }, async (context) => {
      const { storage, users, service, uploadMany, expectConsistent } = context;
      await uploadMany(service(), 2);
      const before = (await users.getPicture('u1'))!;
      const wider = service({ variants: { sm: 32, md: 64, lg: 96 } });
      expect(await wider.regenerate()).toMatchObject({ regenerated: 1, failed: [] });
      await wider.flush();
      const after = (await users.getPicture('u1'))!;
      expect(Object.keys(after.variants).sort()).toEqual(['lg', 'md', 'sm']);
      expect(after.history).toEqual(before.history);
      expect(await listKeys(storage)).toEqual(recordKeys(after));
      await expectConsistent();
    });

    describe('a crash in the middle of restore', () => {
      /**
       * keep 2 and three uploads (history [B, A]), then a service whose backends fail as told, restoring A. A restore
       * writes no object and prunes nothing, so it must delete nothing either: `deletes` counts its attempts.
       */
      async function faultyRestore(fault: { users?: Partial<UserRepository>; repositoryMs?: number }) {
        const context = await setup();
        const [a, b, c] = await context.uploadMany(context.service(), 3);
        const orphans: OrphanEvent[] = [];
        const deletes: string[] = [];
        const faulty = context.service({
          users: { ...context.users, ...fault.users },
          storage: { ...context.storage, delete: async (key) => (deletes.push(key), context.storage.delete(key)) },
          onOrphan: (event) => orphans.push(event),
          ...(fault.repositoryMs ? { timeouts: { repositoryMs: fault.repositoryMs } } : {}),
        });
        const record = (await context.users.getPicture('u1'))!;
        const keys = await listKeys(context.storage);
        return { ...context, a: a!, b: b!, c: c!, faulty, orphans, deletes, record, keys };
      }

      /** Every key the stored record references exists in storage. */
      async function expectNothingMissing(storage: StorageAdapter, users: UserRepository) {
        const stored = new Set(await listKeys(storage));
        for (const key of recordKeys(await users.getPicture('u1'))) expect(stored.has(key), key).toBe(true);
      }

      it('setPicture fails: STORAGE_FAILED, the record and every object untouched, nothing deleted or orphaned', async () => {
        const context = await faultyRestore({
          users: { setPicture: async () => Promise.reject(new Error('connection lost (injected)')) },
        });
        try {
          const error = await rejectionOf(context.faulty.restore('u1', context.a.version));
          expect(error.code).toBe('STORAGE_FAILED');
          await context.faulty.flush();
          expect(await context.users.getPicture('u1')).toEqual(context.record);
          expect(await listKeys(context.storage)).toEqual(context.keys);
          // Both outcomes reference the same objects: none is in doubt.
          expect([context.orphans, context.deletes]).toEqual([[], []]);
          await context.expectConsistent();
        } finally {
          await context.dispose?.();
        }
      });

      it('setPicture lands but never answers: STORAGE_FAILED, the restored record complete, nothing deleted or orphaned', async () => {
        const context = await faultyRestore({
          repositoryMs: 300,
          users: {
            setPicture: async (...args) => {
              await context.users.setPicture(...args);
              return new Promise<boolean>(() => {});
            },
          },
        });
        // `context` is read at call time, once faultyRestore resolved.
        try {
          const error = await rejectionOf(context.faulty.restore('u1', context.a.version));
          expect([error.code, error.details?.operation]).toEqual(['STORAGE_FAILED', 'setPicture']);
          await context.faulty.flush();
          const record = (await context.users.getPicture('u1'))!;
          expect(record.variants).toEqual(context.a.variants); // the write landed
          expect(record.history!.map((entry) => entry.variants)).toEqual([context.c.variants, context.b.variants]);
          expect(await listKeys(context.storage)).toEqual(context.keys);
          await expectNothingMissing(context.storage, context.users);
          expect([context.orphans, context.deletes]).toEqual([[], []]);
          // Retried once the repository answers again: the same restore already landed, so it answers that record.
          expect((await context.service().restore('u1', context.a.version)).version).toBe(record.version);
          await context.expectConsistent();
        } finally {
          await context.dispose?.();
        }
      });
    });

    /**
     * A repository for one instance whose first `setPicture` waits until `race()` has run (another instance's
     * upload, restore, remove or regenerate, committed and cleaned up) and then goes on: its compare-and-set is then
     * against a stale version.
     */
    function racingRepository(users: UserRepository, race: () => Promise<void>): UserRepository {
      let raced = false;
      return {
        ...users,
        async setPicture(userId, next, expected) {
          if (!raced) {
            raced = true;
            await race();
          }
          return users.setPicture(userId, next, expected);
        },
      };
    }

    describe('an upload racing a restore (two service instances)', () => {
      /** Two uploads (A, B), then a restorer instance whose first compare-and-set comes right after another uploaded C. */
      async function restorerBehindUpload({ users, service, uploadMany }: Context) {
        const uploader = service();
        const [a, b] = await uploadMany(uploader, 2);
        const raced: { c?: PictureRecord } = {};
        const restorer = service({
          users: racingRepository(users, async () => {
            raced.c = await uploader.upload('u1', images[2]!);
            await uploader.flush();
          }),
        });
        return { a: a!, b: b!, raced, restorer };
      }

      scenario('the upload commits first: the restore retries on the new record and still restores; nothing orphaned', async (context) => {
        const { users, storage, expectConsistent } = context;
        const { a, b, raced, restorer } = await restorerBehindUpload(context);
        const restored = await restorer.restore('u1', a.version);
        expect(restored.variants).toEqual(a.variants);
        expect(restored.history!.map((entry) => entry.version)).toEqual([raced.c!.version, b.version]);
        await restorer.flush();
        expect(await users.getPicture('u1')).toEqual(restored);
        expect((await restorer.sweep({ olderThan: 0 })).deleted).toBe(0);
        await expectConsistent();
        expect(await listKeys(storage)).toEqual(recordKeys(restored));
      });

      scenario('the upload commits first and prunes the picture being restored: NOT_FOUND, the upload stands, nothing orphaned', { history: { keep: 1 } }, async (context) => {
        const { users, expectConsistent } = context;
        const { a, b, raced, restorer } = await restorerBehindUpload(context);
        expect((await rejectionOf(restorer.restore('u1', a.version))).code).toBe('NOT_FOUND');
        await restorer.flush();
        const record = (await users.getPicture('u1'))!;
        expect(record.version).toBe(raced.c!.version);
        expect(record.history!.map((entry) => entry.version)).toEqual([b.version]);
        expect((await restorer.sweep({ olderThan: 0 })).deleted).toBe(0);
        await expectConsistent();
      });

      scenario('the restore commits first: the upload retries on the restored record; both pictures kept', async (context) => {
        const { users, service, uploadMany, expectConsistent } = context;
        const [a, b] = await uploadMany(service(), 2);
        const restorer = service();
        let restored: PictureRecord | undefined;
        const uploader = service({
          users: racingRepository(users, async () => {
            restored = await restorer.restore('u1', a!.version);
            await restorer.flush();
          }),
        });
        const c = await uploader.upload('u1', images[2]!);
        await uploader.flush();
        const record = (await users.getPicture('u1'))!;
        expect(record).toEqual(c);
        expect(record.history!.map((entry) => entry.version)).toEqual([restored!.version, b!.version]);
        expect(record.history![0]!.variants).toEqual(a!.variants);
        expect((await uploader.sweep({ olderThan: 0 })).deleted).toBe(0);
        await expectConsistent();
      });
    });

    describe('a restore racing a remove or a regenerate (two service instances)', () => {
      /** Configured after the uploads: every record is stale, so `regenerate()` re-renders it. */
      const WIDER = { ...VARIANTS, lg: 96 };

      /**
       * Two uploads (A current in history, B current), a log of every delete any instance's clean-up makes, and a
       * service that logs its deletes there.
       */
      async function twoPictures(context: Context) {
        const [a, b] = await context.uploadMany(context.service(), 2);
        const deleted: string[] = [];
        const storage: StorageAdapter = { ...context.storage, delete: async (key) => (deleted.push(key), context.storage.delete(key)) };
        const instance = (more: Partial<ProfilePicturesOptions> = {}) => context.service({ storage, ...more });
        return { a: a!, b: b!, deleted, instance };
      }

      /**
       * The end state every interleaving must reach: the record is `expected` (current picture and history), every key
       * it references exists and none of them was ever deleted, no key is referenced twice, storage holds nothing
       * else, and `sweep()` then finds no orphan.
       */
      async function expectSettled(context: Context, deleted: string[], expected: { variants: PictureRecord['variants'] | null; history: PictureRecord['variants'][] }) {
        const record = await context.users.getPicture('u1');
        expect(record && Object.keys(record.variants).length > 0 ? record.variants : null).toEqual(expected.variants);
        expect((record?.history ?? []).map((entry) => entry.variants)).toEqual(expected.history);
        const referenced = recordKeys(record);
        expect(referenced.filter((key) => deleted.includes(key)), 'referenced keys that were deleted').toEqual([]);
        await context.expectConsistent();
        expect((await context.service().sweep({ olderThan: 0 })).deleted).toBe(0);
        expect(await listKeys(context.storage)).toEqual(referenced);
      }

      scenario('remove commits while the restore waits at its compare-and-set: the restore retries on the tombstone and restores', async (context) => {
        const { a, b, deleted, instance } = await twoPictures(context);
        const remover = instance();
        const restorer = instance({
          users: racingRepository(context.users, async () => {
            expect(await remover.remove('u1')).toBe(true);
            await remover.flush();
          }),
        });
        const restored = await restorer.restore('u1', a.version);
        await restorer.flush();
        expect(restored.variants).toEqual(a.variants);
        expect(deleted.sort()).toEqual(recordKeys({ ...b, history: [] })); // B's objects, removed; nothing else
        await expectSettled(context, deleted, { variants: a.variants, history: [] });
      });

      scenario('the restore commits while remove waits at its compare-and-set: remove takes the restored picture down, the replaced one stays in history', async (context) => {
        const { a, b, deleted, instance } = await twoPictures(context);
        const restorer = instance();
        const remover = instance({
          users: racingRepository(context.users, async () => {
            await restorer.restore('u1', a.version);
            await restorer.flush();
          }),
        });
        expect(await remover.remove('u1')).toBe(true);
        await remover.flush();
        expect(deleted.sort()).toEqual(recordKeys({ ...a, history: [] })); // the restored A went; B stays restorable
        await expectSettled(context, deleted, { variants: null, history: [b.variants] });
        expect((await context.service().restore('u1', b.version)).variants).toEqual(b.variants);
        await context.expectConsistent();
      });

      scenario('regenerate commits while the restore waits at its compare-and-set: the restore retries and restores; the regenerated picture joins the history', async (context) => {
        const { a, b, deleted, instance } = await twoPictures(context);
        const regenerator = instance({ variants: WIDER });
        let regenerated: PictureRecord | null = null;
        const restorer = instance({
          users: racingRepository(context.users, async () => {
            expect(await regenerator.regenerate({ userIds: ['u1'] })).toMatchObject({ regenerated: 1, failed: [] });
            await regenerator.flush();
            regenerated = await context.users.getPicture('u1');
          }),
        });
        const restored = await restorer.restore('u1', a.version);
        await restorer.flush();
        expect(restored.variants).toEqual(a.variants);
        expect(Object.keys(regenerated!.variants).sort()).toEqual(['lg', 'md', 'sm']);
        // Regenerate replaced B's objects (and its master) by new ones; A, in history then, was not re-rendered.
        expect(deleted.sort()).toEqual(recordKeys({ ...b, history: [] }));
        await expectSettled(context, deleted, { variants: a.variants, history: [regenerated!.variants] });
      });

      scenario('the restore commits while regenerate waits at its compare-and-set: regenerate skips the user and deletes only what it wrote', async (context) => {
        const { a, b, deleted, instance } = await twoPictures(context);
        const restorer = instance();
        const regenerator = instance({
          variants: WIDER,
          users: racingRepository(context.users, async () => {
            await restorer.restore('u1', a.version);
            await restorer.flush();
          }),
        });
        const before = new Set(await listKeys(context.storage));
        expect(await regenerator.regenerate({ userIds: ['u1'] })).toMatchObject({ scanned: 1, regenerated: 0, skipped: 1, failed: [] });
        await regenerator.flush();
        // Every delete was of an object regenerate had just written for B: none of A's or B's own.
        expect(deleted.length).toBeGreaterThan(0);
        expect(deleted.filter((key) => before.has(key))).toEqual([]);
        await expectSettled(context, deleted, { variants: a.variants, history: [b.variants] });
      });
    });

    scenario('erase() deletes the history objects too (nothing left under the prefix); export() lists them first', { master: true }, async (context) => {
      const { storage, service, uploadMany } = context;
      const pictures = service();
      const [a, b, c] = await uploadMany(pictures, 3);
      await pictures.upload('u2', images[4]!);
      const exported = await pictures.export('u1');
      const all = recordKeys(exported.record);
      expect(exported.objects.map((object) => object.key)).toEqual(all);
      expect(all).toHaveLength(9); // three pictures × (sm, md, master)
      const md = exported.objects.find((object) => object.key === a!.variants.md!.key)!;
      expect(md).toMatchObject({ leftover: false, referencedBy: ['history.1.variants.md.key'], url: `/media/${a!.variants.md!.key}` });
      expect(exported.objects.find((object) => object.key === b!.master!.key)).toMatchObject({ referencedBy: ['history.0.master.key'] });
      expect(exported.objects.find((object) => object.key === c!.variants.sm!.key)).toMatchObject({ referencedBy: ['variants.sm.key'] });

      const receipt = await pictures.erase('u1');
      expect(receipt.objects).toBe(9);
      expect((await listKeys(storage)).filter((key) => key.startsWith('profile_pictures/u1/'))).toEqual([]);
      expect(await pictures.history('u1')).toEqual([]);
      expect(await pictures.get('u2')).not.toBeNull();
    });
  });
}
