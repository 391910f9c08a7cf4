/**
 * Fault injection through the public service: storages and repositories that fail at chosen points. Each case
 * checks the state DESIGN.md's ordering promises — the storage listing, the record, and that the live picture is
 * still served — not just the error.
 */
import sharp, { type Sharp } from 'sharp';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listKeys, readBody } from 'profile-picture/testing';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  ProfilePictureError,
  type OrphanEvent,
  type PictureRecord,
  type ProfilePictures,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { solidPng } from '../helpers/images.js';

const oldImage = await solidPng([200, 40, 40]);
const newImage = await solidPng([40, 40, 200]);

const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key).sort();

/** Failure switches, flipped by each test; the wrappers consult them on every call. */
interface Faults {
  /** Fail the n-th `put` (1-based) from now on; 0 = never. */
  failPutNumber: number;
  /** Store the n-th `put`, then fail it (a response lost after the write); 0 = never. */
  failPutAfterWriting: number;
  failDelete: boolean;
  failSetPicture: boolean;
  failGetPicture: boolean;
  /** `setPicture` reports a lost compare-and-set for non-null writes. */
  alwaysLoseCas: boolean;
}

describe('fault injection', () => {
  let base: StorageAdapter;
  let repo: UserRepository;
  let faults: Faults;
  let putCount: number;
  let casAttempts: number;
  let orphans: OrphanEvent[];
  let pictures: ProfilePictures;

  beforeEach(() => {
    base = memoryStorage();
    repo = memoryUserRepository();
    faults = { failPutNumber: 0, failPutAfterWriting: 0, failDelete: false, failSetPicture: false, failGetPicture: false, alwaysLoseCas: false };
    putCount = 0;
    casAttempts = 0;
    orphans = [];
    const storage: StorageAdapter = {
      ...base,
      async put(key, body, meta) {
        putCount++;
        if (faults.failPutNumber !== 0 && putCount === faults.failPutNumber) throw new Error('disk full (injected)');
        if (faults.failPutAfterWriting !== 0 && putCount === faults.failPutAfterWriting) {
          await base.put(key, body, meta); // stored, but the answer is lost
          throw new Error('connection reset after the write (injected)');
        }
        return base.put(key, body, meta);
      },
      async delete(key) {
        if (faults.failDelete) throw new Error('delete refused (injected)');
        return base.delete(key);
      },
    };
    const users: UserRepository = {
      ...repo,
      async getPicture(userId) {
        if (faults.failGetPicture) throw new Error('database down (injected)');
        return repo.getPicture(userId);
      },
      async setPicture(userId, next, expected) {
        if (faults.failSetPicture) throw new Error('write failed (injected)');
        if (next !== null) casAttempts++;
        if (faults.alwaysLoseCas && next !== null) return false;
        return repo.setPicture(userId, next, expected);
      },
    };
    pictures = createProfilePictures({ master: false, storage, users, onOrphan: (event) => void orphans.push(event) });
  });

  // Clean-up runs after the answers; it must not reach into the next test's storage (`base` is reassigned).
  afterEach(() => pictures.flush());

  /** Uploads the "old" picture that every failure must leave intact. */
  async function establish(image = oldImage): Promise<PictureRecord> {
    const record = await pictures.upload('42', image);
    putCount = 0;
    casAttempts = 0;
    return record;
  }

  /** The live picture is intact: same record, every object present with its recorded size, served with 200. */
  async function expectIntact(record: PictureRecord): Promise<void> {
    expect(await repo.getPicture('42')).toEqual(record);
    for (const variant of Object.values(record.variants)) {
      const object = await base.get(variant.key);
      expect((await readBody(object!)).byteLength).toBe(variant.bytes);
      const served = await pictures.serve(variant.key);
      served.body?.destroy();
      expect(served.status).toBe(200);
    }
  }

  async function expectStorageFailed(promise: Promise<unknown>, operation: string, cause: RegExp) {
    const error = await promise.then(
      () => expect.unreachable('upload should have failed'),
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ProfilePictureError);
    expect(error).toMatchObject({ code: 'STORAGE_FAILED', status: 502, expose: false, details: { operation } });
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(((error as Error).cause as Error).message).toMatch(cause);
  }

  describe('a put that stores its object and then fails', () => {
    it('rejects STORAGE_FAILED and removes that object too: nothing of the failed upload is left', async () => {
      const old = await establish();
      faults.failPutAfterWriting = 1;
      await expectStorageFailed(pictures.upload('42', newImage), 'put', /connection reset after the write/);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      await expectIntact(old);
    });
  });

  describe('a put that fails on the 2nd variant', () => {
    it('rejects STORAGE_FAILED and removes what this upload wrote; the old picture stays', async () => {
      const old = await establish();
      faults.failPutNumber = 2;
      await expectStorageFailed(pictures.upload('42', newImage), 'put', /disk full/);
      expect(putCount).toBe(3);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      await expectIntact(old);
    });

    it('leaves storage empty and no record for a first upload', async () => {
      faults.failPutNumber = 2;
      await expectStorageFailed(pictures.upload('42', newImage), 'put', /disk full/);
      expect(await listKeys(base, '')).toEqual([]);
      expect(await repo.getPicture('42')).toBeNull();
    });

    it('never deletes the live objects when the failed upload had identical bytes', async () => {
      const old = await establish();
      faults.failPutNumber = 2;
      await expectStorageFailed(pictures.upload('42', oldImage), 'put', /disk full/);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      await expectIntact(old);
    });
  });

  describe('a repository whose setPicture throws', () => {
    it('rejects STORAGE_FAILED and keeps the old picture; the new objects stay for sweep() (the write may yet land)', async () => {
      const old = await establish();
      faults.failSetPicture = true;
      await expectStorageFailed(pictures.upload('42', newImage), 'setPicture', /write failed/);
      faults.failSetPicture = false;
      await expectIntact(old);
      // A rejection does not say the statement did not commit (a connection lost while it waited for a lock): the
      // record may still come to point at either set, so neither is deleted and both are reported.
      const stored = await listKeys(base, '');
      expect(stored).toHaveLength(6);
      expect(orphans.map(({ key, reason }) => [key, reason]).sort()).toEqual(stored.map((key) => [key, 'commit-unknown']));
      expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ deleted: 3 });
      await expectIntact(old);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
    });

    it('a statement that commits after its client rejected (connection lost) never leaves a dangling record', async () => {
      const old = await establish();
      let statement: Promise<boolean> | undefined;
      const slow: UserRepository = {
        ...repo,
        setPicture(userId, next, expected) {
          // What pg does on "Connection terminated unexpectedly" while the UPDATE waits for a row lock: the client
          // rejects at once, the server commits a moment later.
          statement = new Promise((resolve) => setTimeout(resolve, 50)).then(() => repo.setPicture(userId, next, expected));
          return Promise.reject(new Error('Connection terminated unexpectedly'));
        },
      };
      const service = createProfilePictures({ master: false, storage: base, users: slow, onOrphan: () => {} });
      await expectStorageFailed(service.upload('42', newImage), 'setPicture', /Connection terminated/);
      expect(await statement).toBe(true); // it did commit, after the upload had failed
      await service.flush();
      const record = (await repo.getPicture('42'))!;
      expect(record.version).not.toBe(old.version);
      for (const variant of Object.values(record.variants)) expect(await base.get(variant.key)).not.toBeNull();
    });

    it('never deletes the live objects when the failed upload had identical bytes', async () => {
      const old = await establish();
      faults.failSetPicture = true;
      await expectStorageFailed(pictures.upload('42', oldImage), 'setPicture', /write failed/);
      await expectIntact(old);
    });

    it('rejects STORAGE_FAILED from remove() and keeps record and objects', async () => {
      const old = await establish();
      faults.failSetPicture = true;
      const error = await pictures.remove('42').catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'STORAGE_FAILED', details: { operation: 'setPicture' } });
      await expectIntact(old);
    });
  });

  describe('a repository that cannot be read', () => {
    it("deletes a failed upload's objects: no commit was attempted, so nothing can reference them", async () => {
      const old = await establish();
      faults.failGetPicture = true;
      await expectStorageFailed(pictures.upload('42', newImage), 'getPicture', /database down/);
      faults.failGetPicture = false;
      await expectIntact(old);
      expect(orphans).toEqual([]);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
    });
  });

  describe('a delete that fails while cleaning up the old objects', () => {
    it('still succeeds; the old objects stay as orphans that sweep() removes exactly', async () => {
      const old = await establish();
      faults.failDelete = true;
      const next = await pictures.upload('42', newImage);
      expect(await repo.getPicture('42')).toEqual(next);
      await pictures.flush(); // the failing deletes run after the answer
      expect(await listKeys(base, '')).toEqual([...keysOf(old), ...keysOf(next)].sort());
      expect(orphans.map(({ key, reason }) => [key, reason]).sort()).toEqual(keysOf(old).map((key) => [key, 'delete-failed']));
      expect((orphans[0]!.cause as Error).message).toBe('delete refused (injected)');
      await expectIntact(next);

      faults.failDelete = false;
      expect(await pictures.sweep({ olderThan: 0 })).toEqual({ scanned: 6, deleted: 3, temporary: 0 });
      expect(await listKeys(base, '')).toEqual(keysOf(next));
      await expectIntact(next);
    });

    it('remove() still clears the record; the objects stay for sweep()', async () => {
      const old = await establish();
      faults.failDelete = true;
      expect(await pictures.remove('42')).toBe(true);
      expect(await repo.getPicture('42')).toBeNull();
      await pictures.flush();
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      faults.failDelete = false;
      expect(await pictures.sweep({ olderThan: 0 })).toEqual({ scanned: 3, deleted: 3, temporary: 0 });
      expect(await listKeys(base, '')).toEqual([]);
    });

    it('sweep() reports STORAGE_FAILED when its own deletes fail, and deletes nothing referenced', async () => {
      const old = await establish();
      faults.failDelete = true;
      const next = await pictures.upload('42', newImage);
      await pictures.flush();
      const error = await pictures.sweep({ olderThan: 0 }).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'STORAGE_FAILED', details: { operation: 'delete' } });
      expect(await listKeys(base, '')).toEqual([...keysOf(old), ...keysOf(next)].sort());
      await expectIntact(next);
    });
  });

  describe('a compare-and-set that always loses', () => {
    it('rejects CONFLICT (409) after retrying and deletes this upload\'s objects', async () => {
      const old = await establish();
      faults.alwaysLoseCas = true;
      const error = await pictures.upload('42', newImage).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ProfilePictureError);
      expect(error).toMatchObject({ code: 'CONFLICT', status: 409, expose: true });
      expect(casAttempts).toBeGreaterThan(1);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      await expectIntact(old);
    });

    it('never deletes the live objects when the losing upload had identical bytes', async () => {
      const old = await establish();
      faults.alwaysLoseCas = true;
      await expect(pictures.upload('42', oldImage)).rejects.toMatchObject({ code: 'CONFLICT' });
      await expectIntact(old);
    });
  });

  describe('an encode that fails after smaller variants were already stored', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    /** Makes the 512 px encode fail once the two smaller variants are in storage (they are put as they finish). */
    function failLargestEncodeAfterTwoPuts() {
      const toBuffer = sharp.prototype.toBuffer;
      vi.spyOn(sharp.prototype, 'toBuffer').mockImplementation(function (this: Sharp, ...args: unknown[]) {
        const { options } = this as unknown as { options: { input: { rawWidth?: number }; width: number; formatOut: string } };
        const largestEncode = options.input.rawWidth === 512 && options.width === -1 && options.formatOut === 'webp';
        if (!largestEncode) return (toBuffer as (...a: unknown[]) => unknown).apply(this, args);
        return vi.waitFor(() => expect(putCount).toBe(2), { timeout: 5000 }).then(() => {
          throw new Error('encoder crashed (injected)');
        });
      });
    }

    it('rejects with the cause, removes the variants already written and keeps the old picture', async () => {
      const old = await establish();
      failLargestEncodeAfterTwoPuts();
      await expect(pictures.upload('42', newImage)).rejects.toThrow('encoder crashed (injected)');
      expect(putCount).toBe(2);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      await expectIntact(old);
    });

    it('leaves storage empty for a first upload', async () => {
      failLargestEncodeAfterTwoPuts();
      await expect(pictures.upload('42', newImage)).rejects.toThrow('encoder crashed (injected)');
      expect(await listKeys(base, '')).toEqual([]);
      expect(await repo.getPicture('42')).toBeNull();
    });
  });

  describe('identical re-upload', () => {
    it('writes keys of its own and deletes the replaced ones: no object is shared by two uploads', async () => {
      const old = await establish();
      const again = await pictures.upload('42', oldImage);
      expect(again.contentHash).toBe(old.contentHash);
      for (const key of keysOf(again)) expect(keysOf(old)).not.toContain(key);
      await pictures.flush();
      expect(await listKeys(base, '')).toEqual(keysOf(again));
      await expectIntact(again);
    });

    it('a failed identical re-upload rolls back only its own objects; the live ones stay', async () => {
      const old = await establish();
      faults.failPutNumber = 3;
      await expectStorageFailed(pictures.upload('42', oldImage), 'put', /disk full/);
      expect(await listKeys(base, '')).toEqual(keysOf(old));
      await expectIntact(old);
    });
  });
});
