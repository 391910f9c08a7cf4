/**
 * Backends that never answer: every storage and repository method in turn returns a promise that never settles.
 * Each case checks that the call fails with `STORAGE_FAILED` within its timeout (or, for clean-up deletes, that the
 * answer does not wait at all), what is left in storage and in the record, what was reported to `onOrphan`, and that
 * the same user can upload again afterwards (the per-user lock was released).
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listKeys } from 'profile-picture/testing';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type OrphanEvent,
  type ProfilePictures,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';

const STORAGE_MS = 200;
const REPOSITORY_MS = 150;
/** What a timed-out call may take beyond its timeout on a busy CI machine (rendering and timer lag included). */
const SLACK_MS = 1_000;

const [oldImage, newImage, laterImage] = (await distinctImages(3)) as [Buffer, Buffer, Buffer];
const never = () => new Promise<never>(() => {});
const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key).sort();

type Method = 'put' | 'get' | 'delete' | 'list' | 'sweepTemporary' | 'getPicture' | 'setPicture' | 'listPictures';

describe('hanging backends', () => {
  let base: StorageAdapter;
  let repo: UserRepository;
  /** Methods that currently never answer (`put`: only the second put from when it was added). */
  let hanging: Set<Method>;
  let putsWhileHanging: number;
  let getPictureCalls: number;
  let orphans: OrphanEvent[];
  let pictures: ProfilePictures;

  beforeEach(() => {
    base = memoryStorage();
    repo = memoryUserRepository();
    hanging = new Set();
    putsWhileHanging = 0;
    getPictureCalls = 0;
    orphans = [];
    const hangs = <T>(method: Method, run: () => Promise<T>): Promise<T> => (hanging.has(method) ? never() : run());
    const storage: StorageAdapter = {
      ...base,
      put: (key, body, meta) => (hanging.has('put') && ++putsWhileHanging === 2 ? never() : base.put(key, body, meta)),
      get: (key) => hangs('get', () => base.get(key)),
      delete: (key) => hangs('delete', () => base.delete(key)),
      list: (prefix) => stallAfterFirst(base.list(prefix), () => hanging.has('list')),
      sweepTemporary: () => hangs('sweepTemporary', async () => 0),
    };
    const users: UserRepository = {
      getPicture: (userId) => (getPictureCalls++, hangs('getPicture', () => repo.getPicture(userId))),
      setPicture: (userId, next, expected) => hangs('setPicture', () => repo.setPicture(userId, next, expected)),
      listPictures: () => stallAfterFirst(repo.listPictures!(), () => hanging.has('listPictures')),
    };
    const timeouts = { storageMs: STORAGE_MS, repositoryMs: REPOSITORY_MS };
    pictures = createProfilePictures({ master: false, storage, users, timeouts, onOrphan: (event) => void orphans.push(event) });
  });

  // Clean-up runs after the answers; it must not reach into the next test's storage (`base` is reassigned).
  afterEach(() => pictures.flush());

  /** Runs `promise`, which must reject with STORAGE_FAILED for `operation` after `timeoutMs` (and not much later). */
  async function expectTimeout(promise: Promise<unknown>, operation: Method, timeoutMs: number) {
    const started = performance.now();
    const error = await promise.then(
      () => expect.unreachable(`${operation} should have timed out`),
      (err: unknown) => err,
    );
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'STORAGE_FAILED', status: 502, details: { operation, timeoutMs } });
    expect(String((error as Error).cause)).toContain(`${operation}() did not settle within ${timeoutMs} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(elapsed).toBeLessThan(timeoutMs + SLACK_MS);
  }



  /** `[key, reason]` of every report so far, sorted. */
  const reported = () => orphans.map(({ key, reason }) => [key, reason]).sort();
  const reports = (keys: string[], reason: string) => keys.map((key) => [key, reason]).sort();

  /**
   * Awaits `promise`, which must not have waited for the hung deletes of `keys` it started: when it resolves, none of
   * them has timed out yet (a wall-clock bound would also count rendering on a busy machine).
   */
  async function expectPrompt<T>(promise: Promise<T>, keys: string[]): Promise<T> {
    const value = await promise;
    expect(orphans.filter(({ key }) => keys.includes(key))).toEqual([]);
    return value;
  }

  /** The user's next upload works and becomes the record (so no lock or hold was left behind). */
  async function expectNextUploadWorks(): Promise<PictureRecord> {
    const record = await pictures.upload('42', laterImage);
    expect(await repo.getPicture('42')).toEqual(record);
    return record;
  }

  it('put: the upload fails within storageMs, removes what it wrote, reports the put that may still land', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('put');
    await expectTimeout(pictures.upload('42', newImage), 'put', STORAGE_MS);
    expect(await repo.getPicture('42')).toEqual(old);
    expect(await listKeys(base, '')).toEqual(keysOf(old)); // the two puts that worked were rolled back
    expect(orphans).toEqual([{ key: expect.stringMatching(/^profile_pictures\/42\/[0-9a-f]{24}-(sm|md|lg)\.webp$/), reason: 'write-unknown' }]);
    expect(keysOf(old)).not.toContain(orphans[0]!.key);
    hanging.delete('put');
    await expectNextUploadWorks();
  });

  it('delete: replace and remove answer at once; the keys are reported and left for sweep()', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('delete');
    const next = await expectPrompt(pictures.upload('42', newImage), keysOf(old));
    expect(await repo.getPicture('42')).toEqual(next);
    expect(await expectPrompt(pictures.remove('42'), keysOf(next))).toBe(true);
    expect(await repo.getPicture('42')).toBeNull();
    await pictures.flush();
    expect(reported()).toEqual(reports([...keysOf(old), ...keysOf(next)], 'timeout'));
    expect(String(orphans[0]!.cause)).toContain(`delete() did not settle within ${STORAGE_MS} ms`);
    expect(await listKeys(base, '')).toEqual([...keysOf(old), ...keysOf(next)].sort());
    hanging.delete('delete');
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ scanned: 6, deleted: 6 });
    expect(await listKeys(base, '')).toEqual([]);
    await expectNextUploadWorks();
  });

  it('delete: re-uploading the picture whose deletes hang succeeds, under keys no late delete can touch', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('delete');
    await pictures.upload('42', newImage);
    // The same bytes as the picture whose deletes never settled: they may land at any time, on the old keys only.
    const back = await pictures.upload('42', oldImage);
    expect(back.contentHash).toBe(old.contentHash);
    for (const key of keysOf(back)) expect(keysOf(old)).not.toContain(key);
    expect(await repo.getPicture('42')).toEqual(back);
    hanging.delete('delete');
    await pictures.flush(); // the deletes still queued run now; the hung ones never will
    const left = (await listKeys(base, '')).length;
    expect(left).toBeGreaterThan(3);
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ deleted: left - 3 });
    expect(await listKeys(base, '')).toEqual(keysOf(back));
    await expectNextUploadWorks();
  });

  it('get: serving fails within storageMs', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('get');
    await expectTimeout(pictures.serve(old.variants.md!.key), 'get', STORAGE_MS);
    hanging.delete('get');
    const served = await pictures.serve(old.variants.md!.key);
    expect(Buffer.concat(await served.body!.toArray()).byteLength).toBe(old.variants.md!.bytes);
    await expectNextUploadWorks();
  });

  it('get: a body that arrives after the timeout is closed, not leaked', async () => {
    const old = await pictures.upload('42', oldImage);
    const body = Readable.from([Buffer.from('late')]);
    const late: StorageAdapter = {
      ...base,
      get: async () => {
        await new Promise((resolve) => setTimeout(resolve, STORAGE_MS + 50));
        return { body, size: 4, contentType: 'image/webp', etag: '"late"' };
      },
    };
    const slow = createProfilePictures({ master: false, storage: late, users: repo, timeouts: { storageMs: STORAGE_MS } });
    await expectTimeout(slow.serve(old.variants.md!.key), 'get', STORAGE_MS);
    await vi.waitFor(() => expect(body.destroyed).toBe(true));
  });

  it('getPicture: the upload fails within repositoryMs and deletes its objects (no commit was attempted)', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('getPicture');
    getPictureCalls = 0;
    await expectTimeout(pictures.upload('42', newImage), 'getPicture', REPOSITORY_MS);
    expect(getPictureCalls).toBe(1); // the rollback did not wait another timeout to learn what is referenced
    expect(orphans).toEqual([]);
    expect(await listKeys(base, '')).toEqual(keysOf(old));
    await expectTimeout(pictures.get('42'), 'getPicture', REPOSITORY_MS);
    hanging.delete('getPicture');
    expect(await repo.getPicture('42')).toEqual(old);
    await expectNextUploadWorks();
  });

  it('setPicture: the upload fails within repositoryMs; its objects stay (the commit may land) until sweep()', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('setPicture');
    await expectTimeout(pictures.upload('42', newImage), 'setPicture', REPOSITORY_MS);
    // Had the compare-and-set landed late, the record would point at the new objects and the old ones would be
    // orphans; had it not, the other way round. Both sets are reported, neither is deleted.
    const stored = await listKeys(base, '');
    const fresh = stored.filter((key) => !keysOf(old).includes(key));
    expect(reported()).toEqual(reports(stored, 'commit-unknown'));
    orphans.length = 0;
    await expectTimeout(pictures.remove('42'), 'setPicture', REPOSITORY_MS);
    expect(reported()).toEqual(reports(keysOf(old), 'commit-unknown'));
    hanging.delete('setPicture');
    expect(fresh).toHaveLength(3);
    // This process still waits for that compare-and-set: its sweep leaves the objects alone, whatever olderThan.
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ scanned: 6, deleted: 0 });
    // Another process (here: a second service on the same storage and records) sweeps them past its grace period.
    const other = createProfilePictures({ master: false, storage: base, users: repo });
    expect(await other.sweep({ olderThan: 0 })).toMatchObject({ scanned: 6, deleted: 3 });
    expect(await listKeys(base, '')).toEqual(keysOf(old));
    await expectNextUploadWorks();
  });

  it('setPicture: a compare-and-set that lands after its timeout never leaves a dangling record, even with a sweep meanwhile', async () => {
    const old = await pictures.upload('42', oldImage);
    let land!: () => void;
    const gate = new Promise<void>((resolve) => (land = resolve));
    let late: Promise<boolean> | undefined;
    const slow = createProfilePictures({
      master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
      storage: base,
      users: {
        ...repo,
        setPicture: (userId, next, expected) => (late = gate.then(() => repo.setPicture(userId, next, expected))),
      },
      timeouts: { repositoryMs: REPOSITORY_MS },
      onOrphan: () => {},
    });
    await expectTimeout(slow.upload('42', newImage), 'setPicture', REPOSITORY_MS);
    expect(await slow.sweep({ olderThan: 0 })).toMatchObject({ deleted: 0 }); // still in flight here
    land();
    expect(await late).toBe(true);
    const record = (await repo.getPicture('42'))!;
    expect(record.version).not.toBe(old.version);
    for (const variant of Object.values(record.variants)) expect(await base.get(variant.key)).not.toBeNull();
    // Once it has settled the keys are no longer in flight: the replaced picture's objects are the orphans now.
    expect(await slow.sweep({ olderThan: 0 })).toMatchObject({ deleted: 3 });
    expect(await listKeys(base, '')).toEqual(keysOf(record));
  });

  it('list: sweep() fails within storageMs, deleting nothing', async () => {
    const old = await pictures.upload('42', oldImage);
    hanging.add('list');
    await expectTimeout(pictures.sweep({ olderThan: 0 }), 'list', STORAGE_MS);
    expect(await listKeys(base, '')).toEqual(keysOf(old));
    await expectNextUploadWorks();
  });

  it('listPictures: sweep() fails within repositoryMs, deleting nothing', async () => {
    await pictures.upload('7', oldImage);
    const old = await pictures.upload('42', newImage);
    hanging.add('listPictures');
    await expectTimeout(pictures.sweep({ olderThan: 0 }), 'listPictures', REPOSITORY_MS);
    expect(await listKeys(base, `profile_pictures/42/`)).toEqual(keysOf(old));
    expect(await listKeys(base, '')).toHaveLength(6);
    await expectNextUploadWorks();
  });

  it('sweepTemporary: sweep() fails within storageMs', async () => {
    await pictures.upload('42', oldImage);
    hanging.add('sweepTemporary');
    await expectTimeout(pictures.sweep({ olderThan: 0 }), 'sweepTemporary', STORAGE_MS);
    await expectNextUploadWorks();
  });

  it('times each step of a listing, not the whole listing', async () => {
    for (const [i, image] of [oldImage, newImage, laterImage].entries()) await pictures.upload(`u${i}`, image);
    const slowRepo = memoryUserRepository();
    for (const userId of ['u0', 'u1', 'u2']) await slowRepo.setPicture(userId, (await repo.getPicture(userId))!, null);
    const users: UserRepository = {
      ...slowRepo,
      async *listPictures() {
        for await (const entry of slowRepo.listPictures!()) {
          await new Promise((resolve) => setTimeout(resolve, REPOSITORY_MS * 0.6));
          yield entry;
        }
      },
    };
    const slow = createProfilePictures({ master: false, storage: base, users, timeouts: { repositoryMs: REPOSITORY_MS } });
    // Three steps of 0.6 × the timeout each: longer than the timeout in total, each well within it.
    expect(await slow.sweep({ olderThan: 0 })).toMatchObject({ scanned: 9, deleted: 0 });
  });
});

/** Yields the first entry of `source`, then never answers again once `stalled()` is true. */
async function* stallAfterFirst<T>(source: AsyncIterable<T>, stalled: () => boolean): AsyncIterable<T> {
  let first = true;
  for await (const entry of source) {
    if (!first && stalled()) await never();
    first = false;
    yield entry;
  }
}
