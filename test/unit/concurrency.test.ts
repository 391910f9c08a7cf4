/**
 * Concurrent uploads for one user end with exactly one current picture and no unreferenced objects — inside one
 * service (the in-process lock), across two service instances sharing storage and repository (compare-and-set
 * retries), and when a clean-up races an upload of the same bytes (which writes keys of its own).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listKeys, readBody } from 'profile-picture/testing';
import {
  createProfilePictures,
  diskStorage,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';

const images = await distinctImages(20);
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-concurrency-'));
afterAll(() => rm(sandbox, { recursive: true, force: true }));

// Small variants keep 20 parallel renders fast; the ordering logic does not depend on sizes.
const variants = { sm: 16, md: 32, lg: 48 };
const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key).sort();

const storages: Array<[string, () => StorageAdapter]> = [
  ['memory', () => memoryStorage()],
  ['disk', () => diskStorage({ root: path.join(sandbox, `root-${Math.random().toString(36).slice(2)}`) })],
];

/** Exactly one record, every object it references is present, and nothing else is stored. */
async function expectOnePictureNoOrphans(storage: StorageAdapter, users: UserRepository, userId = '42') {
  const record = await users.getPicture(userId);
  expect(record).not.toBeNull();
  expect(await listKeys(storage, '')).toEqual(keysOf(record!));
  for (const variant of Object.values(record!.variants)) {
    expect((await readBody((await storage.get(variant.key))!)).byteLength).toBe(variant.bytes);
  }
  return record!;
}

describe.each(storages)('concurrent uploads on %s storage', (_name, makeStorage) => {
  it('20 uploads of different images for one user: one current picture, zero unreferenced objects', async () => {
    const storage = makeStorage();
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ master: false, storage, users, variants });
    const results = await Promise.all(images.map((image) => pictures.upload('42', image)));
    expect(new Set(results.map((record) => record.contentHash)).size).toBe(20);
    await pictures.flush(); // replaced objects are deleted after the answers
    const record = await expectOnePictureNoOrphans(storage, users);
    expect(results.map((r) => r.version)).toContain(record.version);
  });

  it('two service instances sharing storage and repository: one picture, no orphans', async () => {
    const storage = makeStorage();
    const users = memoryUserRepository();
    // No shared in-process lock between the two: only the repository's compare-and-set keeps them consistent.
    const left = createProfilePictures({ master: false, storage, users, variants });
    const right = createProfilePictures({ master: false, storage, users, variants });
    const outcomes = await Promise.allSettled(
      images.map((image, i) => (i % 2 === 0 ? left : right).upload('42', image)),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'CONFLICT' });
    }
    const succeeded = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(succeeded.length).toBeGreaterThan(0);
    await Promise.all([left.flush(), right.flush()]);
    const record = await expectOnePictureNoOrphans(storage, users);
    expect(succeeded.map((outcome) => outcome.value.version)).toContain(record.version);
  });
});

describe('compare-and-set retry across instances', () => {
  it('the loser of a CAS race re-reads, wins on retry and deletes the winner\'s replaced objects', async () => {
    const storage = memoryStorage();
    const repo = memoryUserRepository();
    // The first two commits read the record together, so both compare-and-set against the same version. (The two
    // reads before them are each upload's early read of lock, limit and erase marker: upload-gate.ts.)
    const waiting: Array<() => void> = [];
    let lost = 0;
    let reads = 0;
    const users: UserRepository = {
      ...repo,
      async getPicture(userId) {
        const record = await repo.getPicture(userId);
        if (++reads > 2 && waiting.length < 2) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) for (const release of waiting) release();
          });
        }
        return record;
      },
      async setPicture(userId, next, expected) {
        const won = await repo.setPicture(userId, next, expected);
        if (!won) lost++;
        return won;
      },
    };
    const left = createProfilePictures({ master: false, storage, users, variants });
    const right = createProfilePictures({ master: false, storage, users, variants });
    const [a, b] = await Promise.all([left.upload('42', images[0]!), right.upload('42', images[1]!)]);
    expect(lost).toBe(1);
    await Promise.all([left.flush(), right.flush()]);
    const record = await expectOnePictureNoOrphans(storage, repo);
    // Whichever committed second is current; the first one's objects were cleaned up by the second.
    expect([a.version, b.version]).toContain(record.version);
  });
});

describe('clean-up racing an upload of the same bytes (every upload writes keys of its own)', () => {
  it('re-uploading the current picture while another upload replaces it never commits missing objects', async () => {
    for (let round = 0; round < 12; round++) {
      // Every storage call takes a few event-loop turns, as real I/O does, so the two uploads interleave.
      const storage = withLatency(memoryStorage());
      const users = memoryUserRepository();
      const pictures = createProfilePictures({ master: false, storage, users, variants });
      await pictures.upload('42', images[0]!);
      // One replaces the picture (its clean-up deletes image 0's objects) while the other uploads image 0 again.
      await Promise.all([pictures.upload('42', images[1]!), pictures.upload('42', images[0]!)]);
      await pictures.flush();
      await expectOnePictureNoOrphans(storage, users);
    }
  });

  it("a remove whose deletes land while the same bytes are uploaded again never touches the new upload's objects", async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    let gate: (() => void) | undefined;
    let blockDeletes = false;
    const deleted: string[] = [];
    const storage: StorageAdapter = {
      ...base,
      async put(key, body, meta) {
        await base.put(key, body, meta);
        // The re-upload has written its objects: now let the remove's delete land.
        if (blockDeletes && gate) gate();
      },
      async delete(key) {
        if (blockDeletes) await new Promise<void>((resolve) => (gate = resolve));
        await base.delete(key);
        deleted.push(key);
      },
    };
    const pictures = createProfilePictures({ master: false, storage, users, variants: { only: 32 } });
    const current = await pictures.upload('42', images[0]!);
    blockDeletes = true;
    const removal = pictures.remove('42');
    const again = pictures.upload('42', images[0]!);
    expect(await removal).toBe(true);
    const record = await again;
    blockDeletes = false;
    await pictures.flush();
    expect(record.contentHash).toBe(current.contentHash);
    expect(deleted).toEqual(keysOf(current));
    await expectOnePictureNoOrphans(base, users);
  });

  it('sweep() skips objects an in-flight upload has written but not yet committed', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    let sweepDuringCommit: Promise<unknown> | undefined;
    let pictures!: ReturnType<typeof createProfilePictures>;
    const repo: UserRepository = {
      ...users,
      async setPicture(userId, next, expected) {
        // At the moment of the commit the new objects exist and nothing references them yet.
        if (next && !sweepDuringCommit) sweepDuringCommit = pictures.sweep({ olderThan: 0 });
        await sweepDuringCommit;
        return users.setPicture(userId, next, expected);
      },
    };
    pictures = createProfilePictures({ master: false, storage: base, users: repo, variants });
    await pictures.upload('42', images[3]!);
    expect(await sweepDuringCommit).toMatchObject({ scanned: 3, deleted: 0 });
    await expectOnePictureNoOrphans(base, users);
    expect(await pictures.sweep({ olderThan: 0 })).toEqual({ scanned: 3, deleted: 0, temporary: 0 });
  });

  it("a failed upload's rollback deletes only its own objects while an identical upload commits", async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    const abort = new AbortController();
    let puts = 0;
    const storage: StorageAdapter = {
      ...withLatency(base),
      async put(key, body, meta) {
        if (++puts === 1) abort.abort(); // A is aborted once it has started writing: it must roll back
        return base.put(key, body, meta);
      },
    };
    const pictures = createProfilePictures({ master: false, storage, users, variants });
    const first = pictures.upload('42', images[5]!, { signal: abort.signal }).catch((err: { code?: string }) => err.code);
    const second = pictures.upload('42', images[5]!); // B: the very same bytes
    expect(await first).toBe('ABORTED');
    const record = await second;
    expect((await users.getPicture('42'))?.version).toBe(record.version);
    await expectOnePictureNoOrphans(base, users);
  });

  it('sweep() never deletes the objects of an upload in flight while it ran, even once it committed', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    let reachCommit!: () => void;
    const atCommit = new Promise<void>((resolve) => (reachCommit = resolve));
    let openCommit!: () => void;
    const commitGate = new Promise<void>((resolve) => (openCommit = resolve));
    let upload: Promise<PictureRecord> | undefined;
    const repo: UserRepository = {
      ...users,
      async setPicture(userId, next, expected) {
        if (next) {
          reachCommit(); // the objects exist and nothing references them yet
          await commitGate;
        }
        return users.setPicture(userId, next, expected);
      },
      async *listPictures() {
        // The sweep has listed the upload's objects as candidates and reads the records (nobody references them
        // yet); before it gets to deleting, the upload commits and stops being in flight.
        const snapshot = [];
        for await (const entry of users.listPictures!()) snapshot.push(entry);
        openCommit();
        await upload;
        yield* snapshot;
      },
    };
    const pictures = createProfilePictures({ master: false, storage: base, users: repo, variants });
    upload = pictures.upload('42', images[6]!);
    await atCommit;
    const result = await pictures.sweep({ olderThan: 0 });
    await upload;
    expect(result).toEqual({ scanned: 3, deleted: 0, temporary: 0 });
    await expectOnePictureNoOrphans(base, users);
  });
});

// --- helpers ---

/** Wraps a storage so every write and delete yields to the event loop a few times first. */
function withLatency(inner: StorageAdapter): StorageAdapter {
  const turns = async () => {
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  return {
    ...inner,
    put: async (key, body, meta) => {
      await turns();
      return inner.put(key, body, meta);
    },
    delete: async (key) => {
      await turns();
      return inner.delete(key);
    },
  };
}
