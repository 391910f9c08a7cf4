/**
 * `regenerate()` (issue 11 §2) against one storage and one repository: called by regenerate.test.ts (memory and
 * disk storage × memory and SQLite repositories) and regenerate-postgres.test.ts. Every case checks real outcomes:
 * the records, the pixels of the re-rendered variants against sharp rendering the source, and the storage listing
 * (no orphans, no missing objects).
 */
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  type PictureRecord,
  type ProfilePicturesOptions,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { listKeys, readObject, recordKeys } from '../fixtures/service.js';
import { rawPixels } from '../fixtures/index.js';

import type { CreateBackends } from '../helpers/backends.js';

const USERS = ['u1', 'u2', 'u3'];
const WIDER = { sm: 64, md: 200, lg: 512, xl: 1024 };

/** 400×300 PNGs, a different diagonal gradient each: the centre square and every scaling show in the pixels. */
function userImages(count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp(rawPixels(400, 300, 3, (x, y) => [(x * 255) / 400, (y * 255) / 300, (i * 80 + ((x + y) * 255) / 700) % 256].map(Math.floor)), {
        raw: { width: 400, height: 300, channels: 3 },
      })
        .png()
        .toBuffer(),
    ),
  );
}

/** Mean absolute difference per channel between two images of the same size (alpha dropped). */
async function meanDifference(a: Uint8Array, b: Sharp): Promise<number> {
  const [x, y] = await Promise.all([
    sharp(a).removeAlpha().raw().toBuffer({ resolveWithObject: true }),
    b.removeAlpha().raw().toBuffer({ resolveWithObject: true }),
  ]);
  expect([x.info.width, x.info.height]).toEqual([y.info.width, y.info.height]);
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += Math.abs(x.data[i]! - y.data[i]!);
  return sum / x.data.length;
}

/**
 * `storage` as seen by a regenerate that another service instance races: the first `method` call on a key of
 * `userId` waits until that instance has uploaded `image` for them and deleted what it replaced.
 */
function uploadDuring(storage: StorageAdapter, users: UserRepository, method: 'put' | 'get', userId: string, image: Buffer) {
  const uploader = createProfilePictures({ storage, users, onOrphan: () => {}, master: true });
  let uploaded: PictureRecord | undefined;
  const race = async (key: string) => {
    if (uploaded || !key.includes(`/${userId}/`)) return;
    uploaded = await uploader.upload(userId, image);
    await uploader.flush();
  };
  const racing: StorageAdapter = { ...storage };
  if (method === 'put') {
    racing.put = async (key, body, meta) => {
      await race(key);
      return storage.put(key, body, meta);
    };
  } else {
    racing.get = async (key) => {
      await race(key);
      return storage.get(key);
    };
  }
  return { racing, uploader, uploaded: () => uploaded };
}

export function describeRegenerate(name: string, createBackends: CreateBackends): void {
  describe(`regenerate() on ${name}`, () => {
    /** Backends holding one picture per user, uploaded by a service with `options` (a master unless they say otherwise). */
    async function withPictures(options: Partial<ProfilePicturesOptions> = {}) {
      const backends = await createBackends(USERS);
      const service = (more: Partial<ProfilePicturesOptions> = {}) =>
        createProfilePictures({ storage: backends.storage, users: backends.users, onOrphan: () => {}, master: true, ...options, ...more });
      const uploader = service();
      const images = await userImages(USERS.length);
      const records = new Map<string, PictureRecord>();
      for (const [i, userId] of USERS.entries()) records.set(userId, await uploader.upload(userId, images[i]!));
      await uploader.flush();
      return { ...backends, service, records, images };
    }

    /** Every record's keys exist and nothing else is stored. */
    async function expectConsistent(storage: StorageAdapter, users: UserRepository) {
      const referenced: string[] = [];
      for (const userId of USERS) referenced.push(...recordKeys(await users.getPicture(userId)));
      expect(await listKeys(storage)).toEqual(referenced.sort());
    }

    it('re-renders every record from its master after variants change, then skips them all', async () => {
      const { storage, users, service, records, dispose } = await withPictures();
      try {
        const pictures = service({ variants: WIDER });
        const progress: string[] = [];
        const result = await pictures.regenerate({ onProgress: (p) => progress.push(p.userId) });
        expect(result).toEqual({ scanned: 3, regenerated: 3, skipped: 0, failed: [], aborted: false });
        expect(progress.sort()).toEqual(USERS);
        await pictures.flush();
        for (const userId of USERS) {
          const before = records.get(userId)!;
          const record = (await users.getPicture(userId))!;
          expect(record.version).not.toBe(before.version);
          expect([record.createdAt, record.updatedAt]).toEqual([before.createdAt, before.updatedAt]);
          expect(Object.fromEntries(Object.entries(record.variants).map(([n, v]) => [n, v.width]))).toEqual(WIDER);
          // The master moved to the new upload id, byte for byte.
          expect(record.master!.key).not.toBe(before.master!.key);
          const master = await readObject(storage, record.master!.key);
          for (const [variant, side] of Object.entries(WIDER)) {
            const bytes = await readObject(storage, record.variants[variant]!.key);
            expect((await sharp(bytes).metadata()).format).toBe('webp');
            expect(await meanDifference(bytes, sharp(master).resize(side, side)), variant).toBeLessThan(4);
          }
        }
        await expectConsistent(storage, users);
        expect(await pictures.regenerate()).toEqual({ scanned: 3, regenerated: 0, skipped: 3, failed: [], aborted: false });
      } finally {
        await dispose?.();
      }
    });

    it('a format change and then a quality-only change re-render (the rendition fingerprint)', async () => {
      const { storage, users, service, dispose } = await withPictures();
      try {
        const jpeg = service({ output: { format: 'jpeg', quality: 70 } });
        expect((await jpeg.regenerate({ userIds: ['u2'] })).regenerated).toBe(1);
        const record = (await users.getPicture('u2'))!;
        expect(record.contentType).toBe('image/jpeg');
        expect(record.rendition).toEqual({ format: 'jpeg', quality: 70, position: 'centre' });
        expect((await sharp(await readObject(storage, record.variants.lg!.key)).metadata()).format).toBe('jpeg');
        await jpeg.flush();
        const sharper = service({ output: { format: 'jpeg', quality: 95 } });
        expect(await sharper.regenerate({ userIds: ['u2'] })).toMatchObject({ scanned: 1, regenerated: 1 });
        const after = (await users.getPicture('u2'))!;
        expect(after.rendition!.quality).toBe(95);
        expect(after.variants.lg!.bytes).toBeGreaterThan(record.variants.lg!.bytes);
        await sharper.flush();
        await expectConsistent(storage, users);
      } finally {
        await dispose?.();
      }
    });

    it('records without a master are re-rendered from their widest variant and never upscaled', async () => {
      const { storage, users, service, dispose } = await withPictures({ master: false });
      try {
        // As written before renditions existed: no fingerprint.
        for (const userId of USERS) {
          const { rendition, ...old } = (await users.getPicture(userId))!;
          expect(rendition).toBeDefined();
          expect(await users.setPicture(userId, old, old.version)).toBe(true);
        }
        // A quality-only change is not detectable on such records: they stay as they are.
        expect((await service({ output: { quality: 60 } }).regenerate()).skipped).toBe(3);
        const before = (await users.getPicture('u1'))!;
        const lg = await readObject(storage, before.variants.lg!.key);
        const pictures = service({ variants: WIDER });
        expect(await pictures.regenerate()).toMatchObject({ regenerated: 3, failed: [] });
        await pictures.flush();
        const record = (await users.getPicture('u1'))!;
        expect(record.master).toBeUndefined();
        expect(Object.fromEntries(Object.entries(record.variants).map(([n, v]) => [n, v.width]))).toEqual({
          sm: 64,
          md: 200,
          lg: 512,
          xl: 512,
        });
        for (const [variant, side] of Object.entries({ sm: 64, md: 200, lg: 512, xl: 512 })) {
          const bytes = await readObject(storage, record.variants[variant]!.key);
          expect(await meanDifference(bytes, sharp(lg).resize(side, side)), variant).toBeLessThan(4);
        }
        await expectConsistent(storage, users);
        // The source-limited xl now matches: nothing to do on the next run.
        expect(await pictures.regenerate()).toMatchObject({ regenerated: 0, skipped: 3 });
      } finally {
        await dispose?.();
      }
    });

    it('a crash in the middle leaves orphans only; a rerun finishes and sweep() leaves exactly the referenced objects', async () => {
      const { storage, users, dispose } = await withPictures();
      try {
        // The crashed process: its storage stores the 6th put and every later one, then never answers again (nor
        // deletes anything), as a process that died mid-write.
        let puts = 0;
        let landed = false;
        const dying: StorageAdapter = {
          ...storage,
          async put(key, body, meta) {
            puts++;
            if (puts < 6) return storage.put(key, body, meta);
            await storage.put(key, body, meta);
            landed = true;
            return new Promise<void>(() => {});
          },
          delete: () => new Promise<void>(() => {}),
        };
        const crashed = createProfilePictures({
          storage: dying,
          users,
          variants: WIDER,
          onOrphan: () => {},
          timeouts: { storageMs: 2_147_483_647 },
        });
        void crashed.regenerate({ concurrency: 1 });
        await expect.poll(() => landed, { timeout: 20_000 }).toBe(true);
        // Abandoned from here on: the first user was committed (4 variants and the master: 5 puts) with its old
        // objects never deleted, the second has one new object written and no commit.
        const rerun = createProfilePictures({ storage, users, variants: WIDER, onOrphan: () => {} });
        const result = await rerun.regenerate();
        expect(result.failed).toEqual([]);
        expect(result.regenerated + result.skipped).toBe(3);
        await rerun.flush();
        expect((await rerun.sweep({ olderThan: 0 })).deleted).toBeGreaterThan(0);
        await expectConsistent(storage, users);
        for (const userId of USERS) expect(Object.keys((await users.getPicture(userId))!.variants).sort()).toEqual(['lg', 'md', 'sm', 'xl']);
        expect(await rerun.regenerate()).toMatchObject({ regenerated: 0, skipped: 3 });
      } finally {
        await dispose?.();
      }
    });

    it('an upload racing regenerate keeps the newer picture: no orphans, no missing objects', async () => {
      const { storage, users, images, dispose } = await withPictures();
      try {
        // Another instance uploads for u2 while regenerate has read u2's record and is writing its new objects.
        const { racing, uploaded, uploader } = uploadDuring(storage, users, 'put', 'u2', images[0]!);
        const pictures = createProfilePictures({ storage: racing, users, variants: WIDER, onOrphan: () => {} });
        const result = await pictures.regenerate({ concurrency: 1 });
        expect(result).toMatchObject({ scanned: 3, regenerated: 2, skipped: 1, failed: [] });
        expect(await users.getPicture('u2')).toEqual(uploaded());
        await Promise.all([pictures.flush(), uploader.flush()]);
        await expectConsistent(storage, users);
        // The upload used the old configuration, so the next run takes u2 up.
        expect(await pictures.regenerate()).toMatchObject({ regenerated: 1, skipped: 2 });
        await pictures.flush();
        await expectConsistent(storage, users);
      } finally {
        await dispose?.();
      }
    });

    it('a user replaced (and their source deleted) before the source was read is skipped, not failed', async () => {
      const { storage, users, images, dispose } = await withPictures();
      try {
        // Another instance replaces u1's picture (and deletes the master) just before regenerate reads the master.
        const { racing, uploaded } = uploadDuring(storage, users, 'get', 'u1', images[1]!);
        const pictures = createProfilePictures({ storage: racing, users, variants: WIDER, onOrphan: () => {} });
        expect(await pictures.regenerate({ userIds: ['u1'] })).toMatchObject({ scanned: 1, regenerated: 0, skipped: 1, failed: [] });
        expect(await users.getPicture('u1')).toEqual(uploaded());
        await expectConsistent(storage, users);
      } finally {
        await dispose?.();
      }
    });

    it('two service instances regenerating at once end consistent, each user re-rendered once', async () => {
      const { storage, users, dispose } = await withPictures();
      try {
        const left = createProfilePictures({ storage, users, variants: WIDER, onOrphan: () => {} });
        const right = createProfilePictures({ storage, users, variants: WIDER, onOrphan: () => {} });
        const [a, b] = await Promise.all([left.regenerate(), right.regenerate()]);
        expect(a.failed).toEqual([]);
        expect(b.failed).toEqual([]);
        expect(a.regenerated + b.regenerated).toBe(3);
        await Promise.all([left.flush(), right.flush()]);
        await expectConsistent(storage, users);
        expect(await left.regenerate()).toMatchObject({ regenerated: 0, skipped: 3 });
      } finally {
        await dispose?.();
      }
    });

    it('stops at an aborted signal before any commit, deletes what it wrote, and a later run continues', async () => {
      const { storage, users, service, records, dispose } = await withPictures();
      try {
        const controller = new AbortController();
        const pictures = service({ variants: WIDER });
        const result = await pictures.regenerate({
          concurrency: 1,
          signal: controller.signal,
          onProgress: () => controller.abort(),
        });
        expect(result).toMatchObject({ scanned: 1, regenerated: 1, aborted: true });
        await pictures.flush();
        await expectConsistent(storage, users);
        expect((await users.getPicture('u3'))!.version).toBe(records.get('u3')!.version);
        expect(await pictures.regenerate()).toMatchObject({ regenerated: 2, skipped: 1, aborted: false });
      } finally {
        await dispose?.();
      }
    });

    it('reports a user whose source object is missing and goes on with the others', async () => {
      const { storage, users, service, records, dispose } = await withPictures();
      try {
        await storage.delete(records.get('u1')!.master!.key);
        const pictures = service({ variants: WIDER });
        expect(await pictures.regenerate()).toMatchObject({ regenerated: 2, failed: [{ userId: 'u1', code: 'NOT_FOUND' }] });
        expect(await users.getPicture('u1')).toEqual(records.get('u1'));
      } finally {
        await dispose?.();
      }
    });
  });
}
