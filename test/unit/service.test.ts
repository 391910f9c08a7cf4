/**
 * The service's programmatic API: upload ordering, replace, identical re-upload, remove, get and url.
 * Every assertion looks at real state: the records in the repository and the objects in storage.
 */
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { listKeys, readBody } from 'profile-picture/testing';
import {
  createProfilePictures,
  isProfilePictureError,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type ProfilePictures,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { solidJpeg, solidPng } from '../helpers/images.js';

const red = await solidPng([220, 20, 20]);
const blue = await solidPng([20, 20, 220]);
const green = await solidJpeg([20, 200, 20], 80);

const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key).sort();

describe('createProfilePictures service', () => {
  let storage: StorageAdapter;
  let users: UserRepository;
  let pictures: ProfilePictures;

  beforeEach(() => {
    storage = memoryStorage();
    users = memoryUserRepository();
    pictures = createProfilePictures({ master: false, storage, users });
  });

  describe('upload', () => {
    it('replaces a malformed record from the database instead of failing after the commit', async () => {
      const malformed = { version: 'v0', contentHash: 'x', contentType: 'image/webp', variants: null };
      expect(await users.setPicture('42', malformed as unknown as PictureRecord, null)).toBe(true);
      const record = await pictures.upload('42', red);
      expect(await pictures.get('42')).toEqual(record);
      expect(await listKeys(storage, '')).toEqual(keysOf(record));
    });

    it('stores every variant and commits a complete record', async () => {
      const record = await pictures.upload('42', red);
      expect(Object.keys(record.variants)).toEqual(['sm', 'md', 'lg']);
      expect(record.contentType).toBe('image/webp');
      expect(record.contentHash).toMatch(/^[0-9a-f]{64}$/);
      expect(record.version).toEqual(expect.any(String));
      expect(new Date(record.createdAt).toISOString()).toBe(record.createdAt);
      expect(record.updatedAt).toBe(record.createdAt);
      for (const [name, side] of [['sm', 64], ['md', 256], ['lg', 512]] as const) {
        const variant = record.variants[name]!;
        expect([variant.width, variant.height]).toEqual([side, side]);
        const object = await storage.get(variant.key);
        const body = await readBody(object!);
        // <prefix>/<user>/<upload id>-<variant>.<ext>, one upload id for every variant of this upload.
        expect(variant.key).toBe(`profile_pictures/42/${record.variants.sm!.key.split('/')[2]!.split('-')[0]}-${name}.webp`);
        expect(variant.key).toMatch(/^profile_pictures\/42\/[0-9a-f]{24}-(sm|md|lg)\.webp$/);
        expect(body.byteLength).toBe(variant.bytes);
        expect(object!.contentType).toBe('image/webp');
        const meta = await sharp(body).metadata();
        expect([meta.format, meta.width, meta.height]).toEqual(['webp', side, side]);
      }
      expect(await pictures.get('42')).toEqual(record);
      expect(await listKeys(storage, '')).toEqual(keysOf(record));
    });

    it('writes new objects, then commits, then deletes the old ones', async () => {
      const events: string[] = [];
      const base = memoryStorage();
      const repo = memoryUserRepository();
      const logged = createProfilePictures({
        master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
        storage: {
          ...base,
          put: async (key, body, meta) => {
            await base.put(key, body, meta);
            events.push(`put ${key.split('-').pop()}`);
          },
          delete: async (key) => {
            events.push(`delete ${key.split('-').pop()}`);
            await base.delete(key);
          },
        },
        users: {
          ...repo,
          setPicture: async (userId, next, expected) => {
            events.push('setPicture');
            return repo.setPicture(userId, next, expected);
          },
        },
      });
      await logged.upload('42', red);
      events.length = 0;
      await logged.upload('42', blue);
      await logged.flush(); // the old objects are deleted after the answer
      expect(events.slice(0, 3).sort()).toEqual(['put lg.webp', 'put md.webp', 'put sm.webp']);
      expect(events[3]).toBe('setPicture');
      expect(events.slice(4).sort()).toEqual(['delete lg.webp', 'delete md.webp', 'delete sm.webp']);
    });

    it('replaces a picture with new keys, deletes the old objects and keeps createdAt', async () => {
      const first = await pictures.upload('42', red);
      const second = await pictures.upload('42', blue);
      expect(second.contentHash).not.toBe(first.contentHash);
      expect(second.version).not.toBe(first.version);
      expect(second.createdAt).toBe(first.createdAt);
      expect(Date.parse(second.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.updatedAt));
      for (const key of keysOf(second)) expect(keysOf(first)).not.toContain(key);
      await pictures.flush();
      expect(await listKeys(storage, '')).toEqual(keysOf(second));
      for (const key of keysOf(first)) expect(await storage.get(key)).toBeNull();
    });

    it('gives a re-upload of identical bytes keys of its own and deletes the ones it replaced (invariant 5)', async () => {
      const first = await pictures.upload('42', red);
      const again = await pictures.upload('42', red);
      expect(again.contentHash).toBe(first.contentHash);
      expect(again.version).not.toBe(first.version);
      for (const key of keysOf(again)) expect(keysOf(first)).not.toContain(key);
      await pictures.flush();
      expect(await listKeys(storage, '')).toEqual(keysOf(again));
      for (const key of keysOf(again)) expect((await pictures.serve(key)).status).toBe(200);
    });

    it('switches back to an earlier picture (A → B → A) without losing objects', async () => {
      const a = await pictures.upload('42', red);
      await pictures.upload('42', blue);
      const back = await pictures.upload('42', red);
      expect(back.contentHash).toBe(a.contentHash);
      await pictures.flush();
      expect(await listKeys(storage, '')).toEqual(keysOf(back));
      for (const key of keysOf(back)) expect((await pictures.serve(key)).status).toBe(200);
    });

    it('keeps users apart and never puts a non-slug user id into a key', async () => {
      const email = await pictures.upload('Alice@example.com/../x', red);
      const slug = await pictures.upload('alice', blue);
      for (const key of keysOf(email)) {
        // A hash stands in for the id: one safe segment, nothing of the id itself.
        expect(key).toMatch(/^profile_pictures\/h[.]?[0-9a-f]{40}\/[0-9a-f]{24}-(sm|md|lg)\.webp$/);
        expect(key.toLowerCase()).not.toMatch(/alice|example|\.\./);
      }
      expect(keysOf(slug)[0]).toMatch(/^profile_pictures\/alice\//);
      await pictures.upload('alice', green);
      expect(await pictures.get('Alice@example.com/../x')).toEqual(email);
      await pictures.flush();
      expect(await listKeys(storage, '')).toHaveLength(6);
    });

    it('stores nothing and keeps the current picture when validation fails', async () => {
      const current = await pictures.upload('42', red);
      const error = await pictures.upload('42', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')).catch((e) => e);
      expect(isProfilePictureError(error)).toBe(true);
      expect(await pictures.get('42')).toEqual(current);
      expect(await listKeys(storage, '')).toEqual(keysOf(current));
    });

    it('rejects with ABORTED for an already-aborted signal, storing nothing', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(pictures.upload('42', red, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
      expect(await listKeys(storage, '')).toEqual([]);
    });

    it('rejects an empty or non-string user id with a TypeError', async () => {
      await expect(pictures.upload('', red)).rejects.toThrow(TypeError);
      await expect(pictures.get(undefined as unknown as string)).rejects.toThrow(TypeError);
      await expect(pictures.remove('')).rejects.toThrow(TypeError);
    });
  });

  describe('remove', () => {
    it('clears the record, then deletes the objects', async () => {
      const base = memoryStorage();
      const repo = memoryUserRepository();
      const seenAtDelete: Array<PictureRecord | null> = [];
      const service = createProfilePictures({
        master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
        storage: {
          ...base,
          delete: async (key) => {
            seenAtDelete.push(await repo.getPicture('42'));
            await base.delete(key);
          },
        },
        users: repo,
      });
      const record = await service.upload('42', red);
      expect(await service.remove('42')).toBe(true);
      await service.flush();
      expect(seenAtDelete).toEqual([null, null, null]);
      expect(await service.get('42')).toBeNull();
      for (const key of keysOf(record)) expect(await base.get(key)).toBeNull();
      expect(await listKeys(base, '')).toEqual([]);
    });

    it('is a no-op that resolves false when there is no picture', async () => {
      const other = await pictures.upload('7', blue);
      expect(await pictures.remove('42')).toBe(false);
      expect(await pictures.get('7')).toEqual(other);
      expect(await listKeys(storage, '')).toEqual(keysOf(other));
    });

    it('removes only that user: other users keep their picture', async () => {
      await pictures.upload('42', red);
      const other = await pictures.upload('7', blue);
      expect(await pictures.remove('42')).toBe(true);
      expect(await pictures.remove('42')).toBe(false);
      expect(await pictures.get('42')).toBeNull();
      await pictures.flush();
      expect(await listKeys(storage, 'profile_pictures/42/')).toEqual([]);
      expect(await listKeys(storage, '')).toEqual(keysOf(other));
    });

    it('lets the user upload again after removal', async () => {
      const first = await pictures.upload('42', red);
      await pictures.remove('42');
      const again = await pictures.upload('42', red);
      expect(again.contentHash).toBe(first.contentHash);
      expect(again.createdAt >= first.createdAt).toBe(true);
      await pictures.flush();
      expect(await listKeys(storage, '')).toEqual(keysOf(again));
    });
  });

  describe('get', () => {
    it('resolves null for a user without a picture', async () => {
      expect(await pictures.get('nobody')).toBeNull();
    });
  });

  describe('url', () => {
    it('is publicPath + key by default', async () => {
      const record = await pictures.upload('42', red);
      expect(pictures.url(record, 'md')).toBe(`/media/${record.variants.md!.key}`);
    });

    it('honours a custom publicPath', async () => {
      const service = createProfilePictures({ master: false, storage, users, publicPath: 'https://cdn.example.com/avatars/' });
      const record = await service.upload('42', red);
      expect(service.url(record, 'sm')).toBe(`https://cdn.example.com/avatars/${record.variants.sm!.key}`);
    });

    it("uses the storage's own url() when it has one", async () => {
      const base = memoryStorage();
      const service = createProfilePictures({
        master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
        storage: { ...base, url: (key) => `https://bucket.example.com/${key}?signed=1` },
        users,
      });
      const record = await service.upload('42', red);
      expect(service.url(record, 'lg')).toBe(`https://bucket.example.com/${record.variants.lg!.key}?signed=1`);
    });

    it('throws a RangeError naming the variant for an unknown variant', async () => {
      const record = await pictures.upload('42', red);
      expect(() => pictures.url(record, 'xl')).toThrow(RangeError);
      expect(() => pictures.url(record, 'xl')).toThrow(/"xl".*sm, md, lg/);
      expect(() => pictures.url(record, '__proto__')).toThrow(RangeError);
    });

    describe('for a record written before the variants changed', () => {
      const today = { sm: 64, md: 256, lg: 512, xl: 1024 };
      /** A record written (to the shared storage and repository) by a service configured with `variants`. */
      const oldRecord = (variants: Record<string, number>) =>
        createProfilePictures({ master: false, storage, users, variants }).upload('42', red);

      it('answers the widest variant it has for a configured one wider than all of them', async () => {
        const record = await oldRecord({ sm: 64, md: 256 });
        const service = createProfilePictures({ master: false, storage, users, variants: today });
        expect(service.url(record, 'xl')).toBe(`/media/${record.variants.md!.key}`);
        expect(service.url(record, 'lg')).toBe(`/media/${record.variants.md!.key}`);
        expect(service.url(record, 'sm')).toBe(`/media/${record.variants.sm!.key}`);
      });

      it('answers the closest wider variant it has, not the widest', async () => {
        const record = await oldRecord({ sm: 64, md: 256, xl: 1024, xxl: 2048 });
        const service = createProfilePictures({ master: false, storage, users, variants: today });
        expect(service.url(record, 'lg')).toBe(`/media/${record.variants.xl!.key}`);
      });

      it('still throws a RangeError for a name not configured today, even one the record has', async () => {
        const record = await oldRecord({ sm: 64, md: 256, xs: 32 });
        const service = createProfilePictures({ master: false, storage, users, variants: today });
        expect(() => service.url(record, 'xs')).toThrow(/Unknown variant "xs"; configured: sm, md, lg, xl/);
        expect(() => service.url(record, 'xxl')).toThrow(RangeError);
      });
    });
  });
});
