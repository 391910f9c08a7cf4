/**
 * Concurrent uploads for one user end with exactly one current picture and no unreferenced objects — inside one
 * service (the in-process lock), across two service instances sharing storage and repository (compare-and-set
 * retries), and when a clean-up races an upload that writes the same content-hashed keys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  diskStorage,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { listKeys, readBody } from '../conformance/storage-suite.js';
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
    const pictures = createProfilePictures({ storage, users, variants });
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
    const left = createProfilePictures({ storage, users, variants });
    const right = createProfilePictures({ storage, users, variants });
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
    // The first two commits read the record together, so both compare-and-set against the same version.
    const waiting: Array<() => void> = [];
    let lost = 0;
    const users: UserRepository = {
      ...repo,
      async getPicture(userId) {
        const record = await repo.getPicture(userId);
        if (waiting.length < 2) {
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
    const left = createProfilePictures({ storage, users, variants });
    const right = createProfilePictures({ storage, users, variants });
    const [a, b] = await Promise.all([left.upload('42', images[0]!), right.upload('42', images[1]!)]);
    expect(lost).toBe(1);
    await Promise.all([left.flush(), right.flush()]);
    const record = await expectOnePictureNoOrphans(storage, repo);
    // Whichever committed second is current; the first one's objects were cleaned up by the second.
    expect([a.version, b.version]).toContain(record.version);
  });
});

describe('clean-up racing an upload of the same bytes (content-hashed keys)', () => {
  it('re-uploading the current picture while another upload replaces it never commits missing objects', async () => {
    for (let round = 0; round < 12; round++) {
      // Every storage call takes a few event-loop turns, as real I/O does, so the two uploads interleave.
      const storage = withLatency(memoryStorage());
      const users = memoryUserRepository();
      const pictures = createProfilePictures({ storage, users, variants });
      await pictures.upload('42', images[0]!);
      // One replaces the picture (its clean-up deletes image 0's keys) while the other rewrites those very keys.
      await Promise.all([pictures.upload('42', images[1]!), pictures.upload('42', images[0]!)]);
      await pictures.flush();
      await expectOnePictureNoOrphans(storage, users);
    }
  });

  it('an upload whose keys a running delete removed writes them again before committing', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    let gate: (() => void) | undefined;
    let blockDeletes = false;
    let rewrittenAfterDelete = false;
    const deleted = new Set<string>();
    const storage: StorageAdapter = {
      ...base,
      async put(key, body, meta) {
        await base.put(key, body, meta);
        if (deleted.has(key)) rewrittenAfterDelete = true;
        // Our re-upload has written its keys: now let the delete that started earlier land on them.
        if (blockDeletes && gate) gate();
      },
      async delete(key) {
        if (blockDeletes) await new Promise<void>((resolve) => (gate = resolve));
        await base.delete(key);
        deleted.add(key);
      },
    };
    const pictures = createProfilePictures({ storage, users, variants: { only: 32 } });
    const current = await pictures.upload('42', images[0]!);
    blockDeletes = true;
    // remove() clears the record and starts deleting; the delete waits until the re-upload has put the same key.
    const removal = pictures.remove('42');
    const again = pictures.upload('42', images[0]!);
    expect(await removal).toBe(true);
    const record = await again;
    blockDeletes = false;
    expect(keysOf(record)).toEqual(keysOf(current));
    expect(rewrittenAfterDelete).toBe(true);
    await pictures.flush();
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
    pictures = createProfilePictures({ storage: base, users: repo, variants });
    await pictures.upload('42', images[3]!);
    expect(await sweepDuringCommit).toMatchObject({ scanned: 3, deleted: 0 });
    await expectOnePictureNoOrphans(base, users);
    expect(await pictures.sweep({ olderThan: 0 })).toEqual({ scanned: 3, deleted: 0, temporary: 0 });
  });

  it("a failed upload's rollback never deletes the objects an identical upload is committing", async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    let stallRead: Promise<void> | undefined;
    let readStalled!: () => void;
    const stalled = new Promise<void>((resolve) => (readStalled = resolve));
    const repo: UserRepository = {
      ...users,
      async getPicture(userId) {
        const current = await users.getPicture(userId);
        // The rollback's read of the record answers late: the other upload runs meanwhile.
        if (stallRead) {
          const wait = stallRead;
          stallRead = undefined;
          readStalled();
          await wait;
        }
        return current;
      },
    };
    const abort = new AbortController();
    let puts = 0;
    const storage: StorageAdapter = {
      ...base,
      async put(key, body, meta) {
        if (++puts === 1) abort.abort(); // A is aborted once it has started writing: it must roll back
        return base.put(key, body, meta);
      },
    };
    const pictures = createProfilePictures({ storage, users: repo, variants });
    let openRead!: () => void;
    stallRead = new Promise<void>((resolve) => (openRead = resolve));
    const first = pictures.upload('42', images[5]!, { signal: abort.signal }).catch((err: { code?: string }) => err.code);
    await stalled; // A's rollback has read "no picture" and waits
    const second = pictures.upload('42', images[5]!); // B: the very same bytes, so the very same keys
    while (puts < 6) await new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve)); // B tries to commit
    openRead();
    expect(await first).toBe('ABORTED');
    const record = await second;
    expect((await users.getPicture('42'))?.version).toBe(record.version);
    await expectOnePictureNoOrphans(base, users);
  });

  it('sweep() never deletes a key that an upload held while the sweep ran, even if it committed meanwhile', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    let pictures!: ReturnType<typeof createProfilePictures>;
    // An orphan from long ago whose bytes the user uploads again: same content-hashed keys.
    const seed = createProfilePictures({ storage: base, users: memoryUserRepository(), variants });
    const orphan = await seed.upload('42', images[6]!);
    let upload: Promise<PictureRecord> | undefined;
    const repo: UserRepository = {
      ...users,
      async *listPictures() {
        // The sweep has listed the orphan's keys as candidates and reads the records (nobody references them yet);
        // before it gets to deleting, the re-upload writes, commits and releases those very keys.
        const snapshot = [];
        for await (const entry of users.listPictures!()) snapshot.push(entry);
        upload ??= pictures.upload('42', images[6]!);
        await upload;
        yield* snapshot;
      },
    };
    pictures = createProfilePictures({ storage: base, users: repo, variants });
    const result = await pictures.sweep({ olderThan: 0 });
    const record = await upload!;
    expect(keysOf(record)).toEqual(keysOf(orphan));
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
