/**
 * sweep({ olderThan }): deletes exactly the stored objects under the prefix that no record references and that are
 * older than the cutoff. Objects are aged for real: backdated clock for the memory storage, `utimes` for disk.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { listKeys, readBody } from 'profile-picture/testing';
import {
  createProfilePictures,
  diskStorage,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type StorageAdapter,
  type SweepProgress,
} from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';

const HOUR = 60 * 60 * 1000;
const images = await distinctImages(3);
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-sweep-'));
afterAll(() => rm(sandbox, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
});

const variants = { sm: 16, md: 32 };
const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key).sort();
const webp = { contentType: 'image/webp' };

/** A storage plus a way to make one of its existing objects `age` ms old. */
interface Backend {
  storage: StorageAdapter;
  backdate(key: string, age: number): Promise<void>;
}

const backends: Array<[string, () => Backend]> = [
  [
    'memory',
    () => {
      const storage = memoryStorage();
      return {
        storage,
        // The memory storage stamps lastModified at put: re-put the same bytes under a clock set back by `age`.
        async backdate(key, age) {
          const bytes = await readBody((await storage.get(key))!);
          vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - age });
          try {
            await storage.put(key, bytes, webp);
          } finally {
            vi.useRealTimers();
          }
        },
      };
    },
  ],
  [
    'disk',
    () => {
      const root = path.join(sandbox, Math.random().toString(36).slice(2));
      return {
        storage: diskStorage({ root }),
        async backdate(key, age) {
          const when = new Date(Date.now() - age);
          await utimes(path.join(root, ...key.split('/')), when, when);
        },
      };
    },
  ],
];

describe.each(backends)('sweep on %s storage', (_name, makeBackend) => {
  function setup() {
    const { storage, backdate } = makeBackend();
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ master: false, storage, users, variants });
    const putAged = async (key: string, age: number) => {
      await storage.put(key, Buffer.from(key), webp);
      await backdate(key, age);
    };
    return { storage, pictures, backdate, putAged };
  }

  it('deletes only unreferenced objects older than the cutoff', async () => {
    const { storage, pictures, backdate, putAged } = setup();
    const live = await pictures.upload('42', images[0]!);
    const other = await pictures.upload('7', images[1]!);
    // Age the referenced objects too: being old must not make them eligible.
    for (const key of [...keysOf(live), ...keysOf(other)]) await backdate(key, 3 * HOUR);
    await putAged('profile_pictures/42/0000000000000000000000aa-sm.webp', 2 * HOUR);
    await putAged('profile_pictures/gone/0000000000000000000000bb-md.webp', 5 * HOUR);
    await putAged('profile_pictures/42/0000000000000000000000cc-sm.webp', 10 * 60 * 1000); // young orphan
    await putAged('elsewhere/old-file.webp', 9 * HOUR); // outside the prefix

    const result = await pictures.sweep({ olderThan: HOUR });
    expect(result).toEqual({ scanned: 7, deleted: 2, temporary: 0 });
    expect(await listKeys(storage, '')).toEqual(
      [
        ...keysOf(live),
        ...keysOf(other),
        'profile_pictures/42/0000000000000000000000cc-sm.webp',
        'elsewhere/old-file.webp',
      ].sort(),
    );
  });

  it('with dryRun lists exactly what it would delete, with its bytes, and deletes nothing', async () => {
    const { storage, pictures, backdate, putAged } = setup();
    const live = await pictures.upload('42', images[0]!);
    for (const key of keysOf(live)) await backdate(key, 3 * HOUR);
    await putAged('profile_pictures/42/0000000000000000000000aa-sm.webp', 2 * HOUR);
    await putAged('profile_pictures/gone/0000000000000000000000bb-md.webp', 5 * HOUR);
    await putAged('profile_pictures/42/0000000000000000000000cc-sm.webp', 10 * 60 * 1000); // young orphan
    const before = await listKeys(storage, '');

    const preview = await pictures.sweep({ olderThan: HOUR, dryRun: true });
    expect({ ...preview, keys: [...preview.keys!].sort() }).toEqual({
      scanned: 5,
      deleted: 0,
      temporary: 0,
      keys: ['profile_pictures/42/0000000000000000000000aa-sm.webp', 'profile_pictures/gone/0000000000000000000000bb-md.webp'],
      // putAged stores the key's own text as the bytes
      bytes: 'profile_pictures/42/0000000000000000000000aa-sm.webp'.length + 'profile_pictures/gone/0000000000000000000000bb-md.webp'.length,
    });
    expect(await listKeys(storage, '')).toEqual(before);
    // The real sweep then deletes exactly those.
    expect(await pictures.sweep({ olderThan: HOUR })).toEqual({ scanned: 5, deleted: 2, temporary: 0 });
    expect(await listKeys(storage, '')).toEqual(
      [...keysOf(live), 'profile_pictures/42/0000000000000000000000cc-sm.webp'].sort(),
    );
  });

  it('uses a one-hour grace period by default', async () => {
    const { storage, pictures, putAged } = setup();
    await putAged('profile_pictures/42/0000000000000000000000aa-sm.webp', 50 * 60 * 1000);
    await putAged('profile_pictures/42/0000000000000000000000bb-sm.webp', 70 * 60 * 1000);
    expect(await pictures.sweep()).toEqual({ scanned: 2, deleted: 1, temporary: 0 });
    expect(await listKeys(storage, '')).toEqual(['profile_pictures/42/0000000000000000000000aa-sm.webp']);
  });

  it('with olderThan: 0 removes every orphan and keeps every referenced object', async () => {
    const { storage, pictures, putAged } = setup();
    const live = await pictures.upload('42', images[0]!);
    await putAged('profile_pictures/42/0000000000000000000000aa-sm.webp', 1000);
    expect(await pictures.sweep({ olderThan: 0 })).toEqual({ scanned: 3, deleted: 1, temporary: 0 });
    expect(await listKeys(storage, '')).toEqual(keysOf(live));
    expect(await pictures.sweep({ olderThan: 0 })).toEqual({ scanned: 2, deleted: 0, temporary: 0 });
  });

  it('cleans up after a removed user whose objects could not be deleted', async () => {
    const { storage, pictures, backdate } = setup();
    const live = await pictures.upload('42', images[2]!);
    const failing = createProfilePictures({
      master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
      storage: { ...storage, delete: async () => Promise.reject(new Error('offline')) },
      users: pictures.options.users,
      variants,
    });
    // The failed deletes are reported once each, naming the key (asserted here rather than printed by the test run).
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(await failing.remove('42')).toBe(true);
      // Deleting the replaced objects runs (and is retried) after remove() resolves.
      await vi.waitFor(() => expect(warn).toHaveBeenCalledTimes(2), { timeout: 5000 });
      expect(warn.mock.calls.map(([message]) => String(message)).sort()).toEqual(
        keysOf(live).map((key) => `[profile-picture] Left ${key} in storage (delete-failed); sweep() will remove it once no record references it.`).sort(),
      );
    } finally {
      warn.mockRestore();
    }
    for (const key of keysOf(live)) await backdate(key, 2 * HOUR);
    expect(await pictures.sweep()).toEqual({ scanned: 2, deleted: 2, temporary: 0 });
    expect(await listKeys(storage, '')).toEqual([]);
  });

  it("keeps objects a record names in a field this release does not know (a newer release's), as stats() does", async () => {
    const { storage, pictures, putAged } = setup();
    const live = await pictures.upload('42', images[0]!);
    const future = 'profile_pictures/42/0000000000000000000000dd.future.webp';
    const deeper = 'profile_pictures/42/0000000000000000000000ee-crop.webp';
    const orphan = 'profile_pictures/42/0000000000000000000000ff-sm.webp';
    for (const key of [future, deeper, orphan]) await putAged(key, 3 * HOUR);
    // What a newer release might write: fields this one never reads, holding keys at any depth.
    const users = pictures.options.users;
    const record = (await users.getPicture('42'))!;
    const newer = { ...record, futureThing: { key: future }, extras: [{ crops: [{ of: { key: deeper } }] }] };
    expect(await users.setPicture('42', newer as PictureRecord, record.version)).toBe(true);

    const stats = await pictures.stats();
    expect(stats.orphans).toEqual({ objects: 1, bytes: orphan.length });
    expect(stats.referenced.objects).toBe(keysOf(live).length + 2);
    expect(await pictures.sweep({ olderThan: HOUR })).toEqual({ scanned: keysOf(live).length + 3, deleted: 1, temporary: 0 });
    expect(await listKeys(storage, '')).toEqual([...keysOf(live), deeper, future].sort());
  });
});

describe('sweep on disk with foreign files', () => {
  it('leaves files the key policy cannot have written (.DS_Store) alone and still sweeps orphans', async () => {
    const root = path.join(sandbox, 'foreign');
    const storage = diskStorage({ root });
    const pictures = createProfilePictures({ master: false, storage, users: memoryUserRepository(), variants });
    const [first, second] = await distinctImages(2);
    const old = await pictures.upload('u1', first!);
    const orphanKeys = keysOf(old);
    const current = await pictures.upload('u1', second!);
    await pictures.flush();
    // Make the first picture's objects orphans again (the upload deleted them), plus a stray Finder file.
    for (const key of orphanKeys) await storage.put(key, Buffer.from('orphan'), webp);
    const stray = path.join(root, 'profile_pictures', 'u1', '.DS_Store');
    await writeFile(stray, 'finder');
    const result = await pictures.sweep({ olderThan: 0 });
    expect(result.deleted).toBe(orphanKeys.length);
    expect(await readFile(stray, 'utf8')).toBe('finder');
    expect(await listKeys(storage, 'profile_pictures/')).toEqual(
      expect.arrayContaining(keysOf(current)),
    );
  });
});

describe('sweep on disk: temp files a crashed write left behind', () => {
  it('deletes stale temp files under the prefix, keeps young ones, foreign files and every object', async () => {
    const root = path.join(sandbox, 'crashed-writes');
    const storage = diskStorage({ root });
    const pictures = createProfilePictures({ master: false, storage, users: memoryUserRepository(), variants });
    const live = await pictures.upload('42', images[0]!);
    // What a process killed between writing and renaming leaves: `.tmp-<12 hex>-<name>` next to the target.
    const userDir = path.join(root, 'profile_pictures', '42');
    const goneUserDir = path.join(root, 'profile_pictures', '7');
    await mkdir(goneUserDir, { recursive: true });
    const stale = [path.join(userDir, '.tmp-0a1b2c3d4e5f-aa-md.webp'), path.join(goneUserDir, '.tmp-ffeeddccbbaa-bb-sm.webp')];
    const young = path.join(userDir, '.tmp-112233445566-cc-sm.webp');
    // Not ours: another app's temp file under the same root, one outside the prefix, one that only looks similar.
    const foreign = [
      path.join(root, '.tmp-ffeeddccbbaa-banner.webp'),
      path.join(userDir, '.tmp-upload-session.json'),
    ];
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    for (const file of [...stale, ...foreign]) {
      await writeFile(file, 'half-written');
      await utimes(file, twoHoursAgo, twoHoursAgo);
    }
    await writeFile(young, 'being written');

    const result = await pictures.sweep({ olderThan: HOUR });
    expect(result).toEqual({ scanned: 2, deleted: 0, temporary: 2 });
    for (const file of stale) await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readdir(goneUserDir)).rejects.toMatchObject({ code: 'ENOENT' }); // emptied, so removed
    expect(await readFile(young, 'utf8')).toBe('being written');
    for (const file of foreign) expect(await readFile(file, 'utf8')).toBe('half-written');
    expect(await listKeys(storage, '')).toEqual(keysOf(live));
    for (const key of keysOf(live)) expect((await readBody((await storage.get(key))!)).byteLength).toBeGreaterThan(0);

    // Nothing left to do: a second sweep removes nothing more.
    expect(await pictures.sweep({ olderThan: HOUR })).toEqual({ scanned: 2, deleted: 0, temporary: 0 });
  });

  it('still removes stale temp files when deleting an orphan fails, then reports the failure', async () => {
    const root = path.join(sandbox, 'failing-deletes');
    const disk = diskStorage({ root });
    const storage: StorageAdapter = { ...disk, delete: async () => Promise.reject(new Error('EACCES (injected)')) };
    const pictures = createProfilePictures({ master: false, storage, users: memoryUserRepository(), variants, onOrphan: () => {} });
    await disk.put('profile_pictures/9/000000000000000000000000-sm.webp', new Uint8Array([1]), webp);
    const stale = path.join(root, 'profile_pictures', '9', '.tmp-0a1b2c3d4e5f-x-sm.webp');
    await writeFile(stale, 'half-written');
    const error = await pictures.sweep({ olderThan: 0 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'STORAGE_FAILED', details: { operation: 'delete' } });
    await expect(readFile(stale)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("never takes the temp file of this process's write in progress, whatever the cutoff or instance", async () => {
    const root = path.join(sandbox, 'write-in-progress');
    const storage = diskStorage({ root });
    const sameRoot = diskStorage({ root }); // e.g. a second service on the same media directory
    const big = Buffer.alloc(32 * 1024 * 1024, 7); // long enough to catch its temp file on disk
    const key = 'profile_pictures/42/0000000000000000000000aa-lg.webp';
    let settled = false;
    const put = storage.put(key, big, webp).finally(() => (settled = true));
    let sawTemp = false;
    let removed = 0;
    while (!settled) {
      const dir = path.join(root, 'profile_pictures', '42');
      const names = await readdir(dir).catch(() => [] as string[]);
      sawTemp ||= names.some((name) => name.startsWith('.tmp-'));
      removed += await storage.sweepTemporary!('', new Date(Date.now() + HOUR)); // everything counts as old
      removed += await sameRoot.sweepTemporary!('', new Date(Date.now() + HOUR));
    }
    await put;
    expect(sawTemp, 'the sweep ran while the temp file existed').toBe(true);
    expect(removed).toBe(0);
    const stored = (await storage.get(key))!;
    stored.body.destroy();
    expect(stored.size).toBe(big.byteLength);
  });

  it('memory storage has no leftovers: temporary is 0', async () => {
    const pictures = createProfilePictures({ master: false, storage: memoryStorage(), users: memoryUserRepository(), variants });
    expect(await pictures.sweep()).toEqual({ scanned: 0, deleted: 0, temporary: 0 });
  });
});

describe('sweep with a storage that deletes in batches (deleteMany, as S3 DeleteObjects)', () => {
  it('deletes 2,005 orphans in batches of at most 1,000 and keeps every referenced object', async () => {
    const base = memoryStorage();
    const batches: number[] = [];
    let singles = 0;
    const storage: StorageAdapter = {
      ...base,
      async delete(key) {
        singles++;
        await base.delete(key);
      },
      async deleteMany(keys) {
        batches.push(keys.length);
        for (const key of keys) await base.delete(key);
      },
    };
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ master: false, storage, users, variants });
    const record = await pictures.upload('42', images[0]!);
    for (let i = 0; i < 2_005; i++) await base.put(`profile_pictures/42/${String(i).padStart(24, '0')}-sm.webp`, new Uint8Array([i % 256]), webp);
    const deleted: number[] = [];
    const onProgress = (progress: SweepProgress) => void (progress.phase === 'deletes' && deleted.push(progress.deleted));
    expect(await pictures.sweep({ olderThan: 0, onProgress })).toEqual({ scanned: 2_007, deleted: 2_005, temporary: 0 });
    expect(batches).toEqual([1_000, 1_000, 5]);
    expect(deleted).toEqual([1_000, 2_000, 2_005]); // progress per batch: each passes a multiple of 100, the last ends
    expect(singles).toBe(0);
    expect(await listKeys(base, '')).toEqual(keysOf(record));
  });

  it('reports a failed batch as STORAGE_FAILED (deleteMany) after trying the others', async () => {
    const base = memoryStorage();
    let calls = 0;
    const storage: StorageAdapter = {
      ...base,
      async deleteMany(keys) {
        if (++calls === 1) throw new Error('DeleteObjects refused (injected)');
        for (const key of keys) await base.delete(key);
      },
    };
    const pictures = createProfilePictures({ master: false, storage, users: memoryUserRepository(), variants });
    for (let i = 0; i < 1_500; i++) await base.put(`profile_pictures/7/${String(i).padStart(24, '0')}-sm.webp`, new Uint8Array([1]), webp);
    await expect(pictures.sweep({ olderThan: 0 })).rejects.toMatchObject({ code: 'STORAGE_FAILED', details: { operation: 'deleteMany' } });
    expect(calls).toBe(2);
    expect(await listKeys(base, '')).toHaveLength(1_000);
  });
});

describe('sweep progress (onProgress)', () => {
  /** 150 users whose record names one stored object each, and 250 orphans: 400 objects. */
  async function install(storage: StorageAdapter) {
    const users = memoryUserRepository();
    const now = new Date().toISOString();
    const hex = (i: number) => String(i).padStart(24, '0');
    for (let i = 0; i < 150; i++) {
      const key = `profile_pictures/u${i}/${hex(i)}-sm.webp`;
      await storage.put(key, new Uint8Array([1]), webp);
      const record = { version: `v${i}`, contentHash: '0', contentType: 'image/webp', createdAt: now, updatedAt: now };
      await users.setPicture(`u${i}`, { ...record, variants: { sm: { key, width: 16, height: 16, bytes: 1 } } }, null);
    }
    for (let i = 0; i < 250; i++) await storage.put(`profile_pictures/gone/${hex(i)}-md.webp`, new Uint8Array([2]), webp);
    return users;
  }
  const at = (phase: string, scanned: number, records: number, orphans: number, deleted: number) => ({ phase, scanned, records, orphans, deleted });
  const listing = [100, 200, 300, 400].map((scanned) => at('objects', scanned, 0, 0, 0));

  it('reports every 100 objects listed, records read and orphans deleted, each phase once more at its end', async () => {
    const base = memoryStorage();
    const storage: StorageAdapter = { ...base, sweepTemporary: async () => 0 }; // a storage with leftovers to sweep
    const users = await install(storage);
    const pictures = createProfilePictures({ master: false, storage, users, variants });
    const events: unknown[] = [];

    const result = await pictures.sweep({ olderThan: 0, onProgress: (progress) => void events.push(progress) });

    expect(result).toEqual({ scanned: 400, deleted: 250, temporary: 0 });
    expect(events).toEqual([
      ...listing,
      at('records', 400, 100, 0, 0),
      at('records', 400, 150, 250, 0),
      at('deletes', 400, 150, 250, 100),
      at('deletes', 400, 150, 250, 200),
      at('deletes', 400, 150, 250, 250),
      at('temporary', 400, 150, 250, 250),
    ]);
    expect(await listKeys(base, '')).toHaveLength(150);
  });

  it('a dry run ends with the records; a hook that throws stops nothing; a hook that is no function is refused', async () => {
    const storage = memoryStorage();
    const users = await install(storage);
    const pictures = createProfilePictures({ master: false, storage, users, variants });
    const events: unknown[] = [];
    const preview = await pictures.sweep({
      olderThan: 0,
      dryRun: true,
      onProgress: (progress) => {
        events.push(progress);
        throw new Error('display gone (injected)');
      },
    });
    expect(preview).toMatchObject({ scanned: 400, deleted: 0, bytes: 250 });
    expect(preview.keys).toHaveLength(250);
    expect(events).toEqual([...listing, at('records', 400, 100, 0, 0), at('records', 400, 150, 250, 0)]);
    await expect(pictures.sweep({ onProgress: 'yes' as never })).rejects.toThrow(
      new TypeError('[profile-picture] Expected a function for `sweep({ onProgress })` but received "yes" (string)'),
    );
    expect(await listKeys(storage, '')).toHaveLength(400);
  });
});

describe('sweep preconditions', () => {
  it('needs users.listPictures() and says so', async () => {
    const repo = memoryUserRepository();
    const pictures = createProfilePictures({
      master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
      storage: memoryStorage(),
      users: { getPicture: repo.getPicture, setPicture: repo.setPicture },
    });
    await expect(pictures.sweep()).rejects.toThrow(TypeError);
    await expect(pictures.sweep()).rejects.toThrow(/sweep\(\) needs `users\.listPictures\(\)`/);
  });

  it('rejects a negative or non-numeric olderThan with a RangeError', async () => {
    const pictures = createProfilePictures({ master: false, storage: memoryStorage(), users: memoryUserRepository() });
    await expect(pictures.sweep({ olderThan: -1 })).rejects.toThrow(RangeError);
    await expect(pictures.sweep({ olderThan: Number.NaN })).rejects.toThrow(/non-negative number/);
    await expect(pictures.sweep({ olderThan: '1h' as unknown as number })).rejects.toThrow(RangeError);
  });
});
