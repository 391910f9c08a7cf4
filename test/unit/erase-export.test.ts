/**
 * erase() and export() against real storages (memory, disk, and S3 through s3rver): erase leaves nothing under the
 * user's prefix — current picture, crash leftovers, the disk's temp files — with an exact receipt, never touches the
 * neighbour whose id extends it (`u1` / `u10`), and racing uploads end with no record pointing at a missing object —
 * also when the upload runs in another service instance (as in another process: no in-process state shared), where
 * the record's erase marker refuses its commit; export lists exactly what storage holds.
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from 'profile-picture/testing';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import {
  createProfilePictures,
  diskStorage,
  isProfilePictureError,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { newUploadId, userPrefix, variantKey } from '../../src/keys.js';
import { s3Storage } from '../../src/storage/s3.js';
import { rejectionOf } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';
import { startS3rver, type S3rverProcess } from '../processes/s3rver.js';

const images = await distinctImages(4);
const variants = { sm: 16, md: 32, lg: 48 };
const PREFIX = 'profile_pictures';
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-erase-'));
let s3: { server: S3rverProcess; client: S3Client; bucket: string } | undefined;

beforeAll(async () => {
  const server = await startS3rver([]);
  const client = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
  const bucket = 'pp-erase';
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  s3 = { server, client, bucket };
}, 60_000);

afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
  if (s3) {
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    const objects = (listed.Contents ?? []).map(({ Key }) => ({ Key }));
    if (objects.length > 0) await s3.client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: objects } }));
    s3.client.destroy();
    await s3.server.stop();
  }
});

/** A storage, plus for disk its root (to plant a crashed write's temp file). */
interface Backend {
  storage: StorageAdapter;
  root?: string;
}

let counter = 0;
const backends: Array<[string, () => Backend]> = [
  ['memory', () => ({ storage: memoryStorage() })],
  [
    'disk',
    () => {
      const root = path.join(sandbox, `d${++counter}`);
      return { storage: diskStorage({ root }), root };
    },
  ],
  [
    's3 (s3rver)',
    () => ({
      storage: s3Storage({ client: s3!.client, bucket: s3!.bucket, keyPrefix: `t${++counter}`, publicBaseUrl: 'https://cdn.example.com/' }),
    }),
  ],
];

/** Every object under `prefix` as `key → size`. */
async function held(storage: StorageAdapter, prefix = ''): Promise<Map<string, number>> {
  const objects = new Map<string, number>();
  for await (const { key, size } of storage.list(prefix)) objects.set(key, size);
  return objects;
}

const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key);

describe.each(backends)('erase and export on %s storage', (_name, makeBackend) => {
  function setup() {
    const { storage, root } = makeBackend();
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ master: false, storage, users, variants }); // counts objects; master.test.ts erases masters
    /** An object an upload wrote before its process died: under the key policy, never committed. */
    const leftover = async (userId: string, bytes = Buffer.from(`crash leftover of ${userId}`)) => {
      const key = variantKey(PREFIX, userId, newUploadId(), 'md', 'webp');
      await storage.put(key, bytes, { contentType: 'image/webp' });
      return key;
    };
    return { storage, users, pictures, root, leftover };
  }

  it('erase deletes every object under the prefix, with an exact receipt, and leaves u10 byte for byte', async () => {
    const { storage, pictures, root, leftover } = setup();
    await pictures.upload('u1', images[0]!);
    await pictures.upload('u1', images[1]!); // replaces: the first picture's objects go in the background
    await pictures.flush();
    const crashed = [await leftover('u1'), await leftover('u1', Buffer.alloc(777, 1))];
    const neighbour = await pictures.upload('u10', images[2]!);
    const neighbourLeftover = await leftover('u10');
    let temp: string | undefined;
    if (root) {
      // A write a crashed process never finished: its temp file, a second old.
      temp = path.join(root, PREFIX, 'u1', `.tmp-0123456789ab-${path.basename(crashed[0]!)}`);
      await writeFile(temp, 'partial');
      const past = new Date(Date.now() - 1000);
      await utimes(temp, past, past);
    }
    const before = await held(storage, userPrefix(PREFIX, 'u1'));
    expect(before.size).toBe(3 + 2);
    const neighbourBefore = await held(storage, userPrefix(PREFIX, 'u10'));
    const neighbourBytes = await Promise.all([...neighbourBefore.keys()].map(async (key) => readBody((await storage.get(key))!)));

    const receipt = await pictures.erase('u1');

    expect(receipt).toEqual({
      objects: before.size,
      bytes: [...before.values()].reduce((sum, size) => sum + size, 0),
      temporary: root ? 1 : 0,
    });
    expect(await held(storage, userPrefix(PREFIX, 'u1'))).toEqual(new Map());
    expect(await pictures.get('u1')).toBeNull();
    if (root) expect(await readdir(path.join(root, PREFIX)).catch(() => [])).not.toContain('u1');
    // The neighbour whose id starts with "u1": record, objects and bytes untouched.
    expect(await pictures.get('u10')).toEqual(neighbour);
    expect(await held(storage, userPrefix(PREFIX, 'u10'))).toEqual(neighbourBefore);
    expect([...neighbourBefore.keys()].sort()).toEqual([...keysOf(neighbour), neighbourLeftover].sort());
    for (const [i, key] of [...neighbourBefore.keys()].entries()) {
      expect(await readBody((await storage.get(key))!)).toEqual(neighbourBytes[i]);
    }
    // Erasing again finds nothing.
    expect(await pictures.erase('u1')).toEqual({ objects: 0, bytes: 0, temporary: 0 });
  });

  it('erase of a user with only crash leftovers (no record) deletes them', async () => {
    const { storage, pictures, leftover } = setup();
    const key = await leftover('u1', Buffer.alloc(1234, 7));
    expect(await pictures.erase('u1')).toEqual({ objects: 1, bytes: 1234, temporary: 0 });
    expect(await storage.get(key)).toBeNull();
  });

  it('export lists exactly what storage holds, marks leftovers, and is plain JSON', async () => {
    const { storage, pictures, leftover } = setup();
    const record = await pictures.upload('u1', images[0]!);
    const crashed = await leftover('u1', Buffer.alloc(321, 3));
    await pictures.upload('u10', images[1]!);

    const exported = await pictures.export('u1');

    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported);
    expect(exported.userId).toBe('u1');
    expect(exported.record).toEqual(record);
    expect(exported.missing).toEqual([]);
    const storedNow = await held(storage, userPrefix(PREFIX, 'u1'));
    expect(exported.objects.map((object) => object.key)).toEqual([...storedNow.keys()].sort());
    for (const object of exported.objects) {
      expect(object.size).toBe(storedNow.get(object.key));
      expect(object.contentType).toBe('image/webp');
      expect(object.url).toBe(storage.url ? storage.url(object.key) : `/media/${object.key}`);
      expect(Number.isNaN(Date.parse(object.lastModified))).toBe(false);
    }
    const byKey = new Map(exported.objects.map((object) => [object.key, object]));
    for (const [name, variant] of Object.entries(record.variants)) {
      expect(byKey.get(variant.key)).toMatchObject({ referencedBy: [`variants.${name}.key`], leftover: false, size: variant.bytes });
    }
    expect(byKey.get(crashed)).toMatchObject({ referencedBy: [], leftover: true, size: 321 });

    // A referenced object that storage lost is named in `missing`, not listed as held.
    await storage.delete(record.variants.sm!.key);
    const after = await pictures.export('u1');
    expect(after.missing).toEqual([record.variants.sm!.key]);
    expect(after.objects.map((object) => object.key)).not.toContain(record.variants.sm!.key);

    expect(await pictures.export('nobody')).toMatchObject({ userId: 'nobody', record: null, objects: [], missing: [] });
  });

  it('erase racing uploads ends with no record pointing at a missing object and nothing unreferenced', async () => {
    const { storage: base } = makeBackend();
    // Puts that take a while, so the erase lands between an upload's first put and its commit.
    const storage: StorageAdapter = {
      ...base,
      put: async (key, bytes, meta) => {
        await new Promise((resolve) => setTimeout(resolve, 15));
        return base.put(key, bytes, meta);
      },
    };
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ master: false, storage, users, variants }); // counts objects; master.test.ts erases masters
    const outcomes: unknown[] = [];
    // Start the erase at different points of the upload: before its first put, between puts, around its commit.
    for (const delay of [0, 5, 10, 20, 30, 45, 60]) {
      const upload = pictures.upload('u1', images[delay % 4]!).then(
        () => 'committed',
        (err: unknown) => (isProfilePictureError(err) ? err.code : err),
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      await pictures.erase('u1');
      const outcome = await upload;
      outcomes.push(outcome);
      await pictures.flush();
      const record = await users.getPicture('u1');
      const stored = [...(await held(storage, userPrefix(PREFIX, 'u1'))).keys()].sort();
      // The upload committed before the erase (which then removed it), lost to it (CONFLICT, rolled back), or began
      // after it: every key of a remaining record is stored, and nothing else is.
      expect(['committed', 'CONFLICT'], `delay ${delay}`).toContain(outcome);
      expect(stored, `delay ${delay}`).toEqual(record ? keysOf(record).sort() : []);
      if (record) await pictures.erase('u1');
    }
    expect(outcomes).toContain('CONFLICT'); // the race was really run
  });

  it('a record kept from before ids with capitals were hashed: its objects under "Alice/" are erased and exported, "alice" is untouched', async () => {
    const { storage, users, pictures } = setup();
    const alice = await pictures.upload('alice', images[0]!);
    // What an upload of "Alice" wrote before the key policy hashed capitals: the same record, under "Alice/".
    const written = await pictures.upload('Alice', images[1]!);
    expect(userPrefix(PREFIX, 'Alice')).not.toBe(`${PREFIX}/Alice/`);
    const legacyVariants = Object.fromEntries(
      await Promise.all(
        Object.entries(written.variants).map(async ([name, variant]) => {
          const key = `${PREFIX}/Alice/${newUploadId()}-${name}.webp`;
          await storage.put(key, await readBody((await storage.get(variant.key))!), { contentType: 'image/webp' });
          return [name, { ...variant, key }] as const;
        }),
      ),
    );
    const legacy: PictureRecord = { ...written, version: 'legacy', variants: legacyVariants };
    expect(await users.setPicture('Alice', legacy, written.version)).toBe(true);
    await pictures.flush();

    const exported = await pictures.export('Alice');
    const legacyKeys = keysOf(legacy).sort();
    expect(exported.objects.map((object) => object.key).sort()).toEqual(
      [...legacyKeys, ...keysOf(written)].sort(), // the hashed prefix still holds the copy's source: a leftover
    );
    expect(exported.missing).toEqual([]);
    for (const object of exported.objects.filter((o) => legacyKeys.includes(o.key))) {
      expect(object.leftover).toBe(false);
      expect(object.size).toBe(legacy.variants[object.referencedBy[0]!.split('.')[1]!]!.bytes);
    }

    const receipt = await pictures.erase('Alice');
    expect(receipt.objects).toBe(6);
    for (const key of legacyKeys) expect(await storage.get(key)).toBeNull();
    expect(await held(storage, userPrefix(PREFIX, 'Alice'))).toEqual(new Map());
    expect(await pictures.get('alice')).toEqual(alice);
    for (const key of keysOf(alice)) expect(await storage.get(key)).not.toBeNull();
  });

  it('an aborted erase changes nothing; a user id is required', async () => {
    const { storage, pictures } = setup();
    const record = await pictures.upload('u1', images[0]!);
    const error = await rejectionOf(pictures.erase('u1', { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(await pictures.get('u1')).toEqual(record);
    expect([...(await held(storage)).keys()].sort()).toEqual(keysOf(record).sort());
    await expect(pictures.erase('')).rejects.toThrow(TypeError);
    await expect(pictures.export('')).rejects.toThrow(TypeError);
  });
});

describe('erase with user ids that are not slugs', () => {
  it('erases the hashed directory of "alice smith" and not the one of "alice"', async () => {
    const root = path.join(sandbox, 'hashed');
    await mkdir(root, { recursive: true });
    const storage = diskStorage({ root });
    const pictures = createProfilePictures({ master: false, storage, users: memoryUserRepository(), variants });
    await pictures.upload('alice smith', images[0]!);
    const alice = await pictures.upload('alice', images[1]!);
    expect((await pictures.erase('alice smith')).objects).toBe(3);
    expect([...(await held(storage)).keys()].sort()).toEqual(keysOf(alice).sort());
  });
});

describe('erase and export with a storage whose list() ignores the prefix (a custom adapter breaking its contract)', () => {
  it('only delete and describe keys under the user prefix: u10 and other prefixes are untouched', async () => {
    const base = memoryStorage();
    // Lists everything, as an adapter that dropped the `Prefix` parameter would: erase must still stay in u1/.
    const loose: StorageAdapter = { ...base, list: () => base.list('') };
    const pictures = createProfilePictures({ master: false, storage: loose, users: memoryUserRepository(), variants });
    await pictures.upload('u1', images[0]!);
    const neighbour = await pictures.upload('u10', images[1]!);
    const foreign = 'elsewhere/u1/not-ours.webp';
    await base.put(foreign, Buffer.from('another app'), { contentType: 'image/webp' });

    expect((await pictures.export('u1')).objects.every((object) => object.key.startsWith(userPrefix(PREFIX, 'u1')))).toBe(true);
    expect(await pictures.erase('u1')).toMatchObject({ objects: 3 });
    expect([...(await held(base)).keys()].sort()).toEqual([...keysOf(neighbour), foreign].sort());
    expect(await pictures.get('u10')).toEqual(neighbour);
  });
});

/** Repositories the cross-instance erase runs against: records shared by two service instances. */
const repositories: Array<[string, () => UserRepository]> = [
  ['memory', () => memoryUserRepository()],
  [
    'sqlite',
    () => {
      const db = openDatabase(':memory:');
      const now = new Date().toISOString();
      db.prepare("INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES ('u1', 'u1', 'x', ?, ?)").run(now, now);
      return sqliteUserRepository(db);
    },
  ],
];

describe.each(backends)('erase across instances on %s storage (two services sharing storage and records, as two processes do)', (_name, makeBackend) => {
  describe.each(repositories)('and the %s repository', (_users, makeUsers) => {
    /**
     * Instances A and B on one storage and one repository; B's puts of keys matching `hold` wait for `release()`, so
     * A's erase runs between B's early read of the record (or its first puts) and its commit. B reports when it
     * reached a held put.
     */
    function instances(hold: RegExp) {
      const { storage } = makeBackend();
      const users = makeUsers();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let reached!: () => void;
      const held = new Promise<void>((resolve) => (reached = resolve));
      const holding: StorageAdapter = {
        ...storage,
        put: async (key, bytes, meta) => {
          if (hold.test(key)) {
            reached();
            await released;
          }
          return storage.put(key, bytes, meta);
        },
      };
      const options = { master: false as const, users, variants };
      return { storage, users, a: createProfilePictures({ ...options, storage }), b: createProfilePictures({ ...options, storage: holding }), release, held };
    }
    const underU1 = (storage: StorageAdapter) => held(storage, userPrefix(PREFIX, 'u1'));

    it('an upload elsewhere that wrote objects before the erase listed them cannot commit after it: CONFLICT erased, nothing left', async () => {
      const { storage, users, a, b, release, held: reached } = instances(/-lg\.webp$/);
      const upload = rejectionOf(b.upload('u1', images[0]!));
      await reached;
      while ((await underU1(storage)).size < 2) await new Promise((resolve) => setTimeout(resolve, 5)); // sm and md
      expect(await a.erase('u1')).toMatchObject({ objects: 2 });
      release();

      const error = await upload;
      expect([error.code, error.details]).toEqual(['CONFLICT', { reason: 'erased' }]);
      expect(await underU1(storage)).toEqual(new Map()); // B rolled back its lg too
      const record = await users.getPicture('u1');
      expect(record).toMatchObject({ variants: {}, erasure: expect.any(String) });
      expect(record).not.toHaveProperty('changes');
      expect(await b.get('u1')).toBeNull();

      // An upload that starts after the erase (in either instance) is a new picture, left alone.
      const after = await b.upload('u1', images[1]!);
      expect(after.erasure).toBe(record!.erasure);
      expect([...(await underU1(storage)).keys()].sort()).toEqual(keysOf(after).sort());
    });

    it('an upload elsewhere that read the record before the erase and writes only after it cannot commit either', async () => {
      const { storage, users, a, b, release, held: reached } = instances(/\.webp$/); // every put
      const upload = rejectionOf(b.upload('u1', images[0]!));
      await reached; // B read the record, rendered, and holds its puts
      expect(await a.erase('u1')).toMatchObject({ objects: 0 }); // nothing of B's to see yet
      release();
      const error = await upload;
      expect([error.code, error.details]).toEqual(['CONFLICT', { reason: 'erased' }]);
      expect(await underU1(storage)).toEqual(new Map());
      expect(await users.getPicture('u1')).toMatchObject({ variants: {} });
    });

    it.each([
      ['a delete fails', 'STORAGE_FAILED'],
      ['its signal aborts it', 'ABORTED'],
    ])('an erase that stops after deleting objects of an upload elsewhere (%s) leaves that upload unable to commit', async (_how, code) => {
      const { storage, users, b, release, held: reached } = instances(/-lg\.webp$/);
      // The erasing instance lists only once B has read this pass's marker and written sm and md; then either its delete
      // of md fails, or its signal aborts it once the pass deleted both: the erase rejects after deleting objects B is
      // about to commit.
      let listed!: () => void;
      const listing = new Promise<void>((resolve) => (listed = resolve));
      let marked!: () => void;
      const markerWritten = new Promise<void>((resolve) => (marked = resolve));
      const stop = new AbortController();
      const md = /-md\.webp$/;
      const deleted = (keys: string[]) => {
        if (code === 'ABORTED') return stop.abort();
        if (keys.some((key) => md.test(key))) throw new Error('injected: delete failed');
      };
      const faulty: StorageAdapter = {
        ...storage,
        async *list(prefix) {
          marked();
          await listing;
          yield* storage.list(prefix);
        },
        delete: async (key) => {
          if (code === 'ABORTED' || !md.test(key)) await storage.delete(key);
          deleted([key]);
        },
        ...(storage.deleteMany && {
          deleteMany: async (keys: string[]) => {
            await storage.deleteMany!(keys.filter((key) => code === 'ABORTED' || !md.test(key)));
            deleted(keys);
          },
        }),
      };
      const a = createProfilePictures({ master: false, storage: faulty, users, variants });
      const erase = rejectionOf(a.erase('u1', { signal: stop.signal }));
      await markerWritten; // A's first pass wrote its marker and waits to list
      const upload = b.upload('u1', images[0]!).then(
        (record) => record,
        (error: unknown) => error,
      );
      await reached;
      while ((await underU1(storage)).size < 2) await new Promise((resolve) => setTimeout(resolve, 5)); // sm and md
      listed();
      expect((await erase).code).toBe(code);
      release();
      const outcome = await upload;
      await b.flush();

      // B's upload may not commit a record naming an object the erase deleted: it fails, and leaves nothing.
      const record = await users.getPicture('u1');
      const stored = [...(await underU1(storage)).keys()].sort();
      expect(record ? keysOf(record).filter((key) => !stored.includes(key)) : [], 'keys of the record that storage lacks').toEqual([]);
      expect(isProfilePictureError(outcome) && [outcome.code, outcome.details]).toEqual(['CONFLICT', { reason: 'erased' }]);
      expect(stored).toEqual([]);
    });

    it('erasing a user the repository has no row for (SQLite: it refuses the marker) still deletes what is under the prefix', async () => {
      const { storage, a } = instances(/^$/);
      const key = variantKey(PREFIX, 'ghost', newUploadId(), 'md', 'webp');
      await storage.put(key, Buffer.from('left by a crashed upload'), { contentType: 'image/webp' });
      expect(await a.erase('ghost')).toMatchObject({ objects: 1 });
      expect(await held(storage, userPrefix(PREFIX, 'ghost'))).toEqual(new Map());
      expect(await a.get('ghost')).toBeNull();
    });

    it("an erase keeps the admin's lock and the change times, drops the picture and history, and a fresh marker each time", async () => {
      const { storage, users, a } = instances(/^$/);
      const limited = createProfilePictures({ master: false, storage, users, variants, limits: { changes: { max: 5, perMs: 60_000 } } });
      await limited.upload('u1', images[0]!);
      await a.lock('u1', 'spam');
      await a.erase('u1');
      const first = await users.getPicture('u1');
      expect(first).toEqual({
        version: expect.any(String),
        contentHash: '',
        contentType: '',
        variants: {},
        createdAt: first!.removedAt,
        updatedAt: first!.removedAt,
        removedAt: expect.any(String),
        erasure: expect.any(String),
        lock: { reason: 'spam', at: expect.any(String) },
        changes: [expect.any(String)], // erasing is no way around limits.changes
      });
      expect(await underU1(storage)).toEqual(new Map());
      await a.erase('u1');
      expect((await users.getPicture('u1'))!.erasure).not.toBe(first!.erasure);
      expect(await a.unlock('u1')).toBe(true);
      expect(await users.getPicture('u1')).toMatchObject({ variants: {}, erasure: expect.any(String) }); // the marker stays
      expect((await users.getPicture('u1'))!).not.toHaveProperty('lock');
    });
  });
});
