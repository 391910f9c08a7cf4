/**
 * stats(): users, objects and bytes as storage holds them, the referenced ones by variant, orphans and missing keys,
 * on memory and disk storage with the memory and the example's SQLite repository. Expected numbers are read back
 * from the storage itself, never from the records.
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
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import { TERMINAL_GIF } from '../fixtures/animated.js';
import { distinctImages } from '../helpers/images.js';

const images = await distinctImages(3);
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-stats-'));
const databases: Array<ReturnType<typeof openDatabase>> = [];
afterAll(async () => {
  for (const db of databases) db.close();
  await rm(sandbox, { recursive: true, force: true });
});

const variants = { sm: 16, md: 32 };
const USERS = ['42', '7', 'ada'];

const storages: Array<[string, () => StorageAdapter]> = [
  ['memory', () => memoryStorage()],
  ['disk', () => diskStorage({ root: path.join(sandbox, Math.random().toString(36).slice(2)) })],
];
const repositories: Array<[string, () => UserRepository]> = [
  ['memory', () => memoryUserRepository()],
  [
    'sqlite',
    () => {
      const db = openDatabase(':memory:');
      databases.push(db);
      const insert = db.prepare("INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'x', '', '')");
      for (const id of USERS) insert.run(id, `user ${id}`);
      return sqliteUserRepository(db);
    },
  ],
];

/** Size of every object under `prefix`, from the storage's own listing. */
async function sizes(storage: StorageAdapter, prefix = 'profile_pictures/'): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const object of storage.list(prefix)) found.set(object.key, object.size);
  return found;
}

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

describe.each(storages)('stats on %s storage', (_storageName, makeStorage) => {
  describe.each(repositories)('with the %s repository', (_repositoryName, makeRepository) => {
    it('counts users, objects, bytes by variant, orphans and missing keys exactly', async () => {
      const storage = makeStorage();
      const pictures = createProfilePictures({ storage, users: makeRepository(), variants });
      const first = await pictures.upload('42', images[0]!);
      await pictures.upload('7', images[1]!);
      await pictures.upload('42', images[2]!); // replaces the first: its objects go once flushed
      await pictures.flush();
      const orphanA = 'profile_pictures/42/0000000000000000000000aa-sm.webp';
      const orphanB = 'profile_pictures/gone/0000000000000000000000bb-md.webp';
      await storage.put(orphanA, Buffer.alloc(123), { contentType: 'image/webp' });
      await storage.put(orphanB, Buffer.alloc(4567), { contentType: 'image/webp' });
      await storage.put('elsewhere/x.webp', Buffer.alloc(99), { contentType: 'image/webp' }); // outside the prefix

      const stored = await sizes(storage);
      const records = [(await pictures.get('42'))!, (await pictures.get('7'))!];
      const sizeOf = (record: PictureRecord, name: string) => stored.get(record.variants[name]!.key)!;
      expect(stored.has(first.variants.sm!.key)).toBe(false);
      expect(stored.has(first.master!.key)).toBe(false); // replaced with its variants
      expect(stored.size).toBe(2 * 3 + 2); // two pictures × (sm, md, master), two orphans

      expect(await pictures.stats()).toEqual({
        users: 2,
        objects: stored.size,
        bytes: sum(stored.values()),
        referenced: { objects: stored.size - 2, bytes: sum(stored.values()) - 123 - 4567 },
        variants: {
          sm: { objects: 2, bytes: sizeOf(records[0]!, 'sm') + sizeOf(records[1]!, 'sm') },
          md: { objects: 2, bytes: sizeOf(records[0]!, 'md') + sizeOf(records[1]!, 'md') },
        },
        stills: { objects: 0, bytes: 0 },
        // Each upload stores a master by default: one per current picture, sized as storage lists it.
        masters: { objects: 2, bytes: stored.get(records[0]!.master!.key)! + stored.get(records[1]!.master!.key)! },
        history: { objects: 0, bytes: 0 }, // history is opt-in (option history)
        orphans: { objects: 2, bytes: 123 + 4567 },
        missing: 0,
      });

      // An object deleted behind the library's back is missing, and no longer counted anywhere.
      await storage.delete(records[1]!.variants.md!.key);
      const after = await pictures.stats();
      expect(after).toMatchObject({ users: 2, objects: stored.size - 1, missing: 1, variants: { md: { objects: 1, bytes: sizeOf(records[0]!, 'md') } } });
    });

    it('is all zeros for an empty service', async () => {
      const pictures = createProfilePictures({ storage: makeStorage(), users: makeRepository(), variants });
      expect(await pictures.stats()).toEqual({
        users: 0,
        objects: 0,
        bytes: 0,
        referenced: { objects: 0, bytes: 0 },
        variants: {},
        stills: { objects: 0, bytes: 0 },
        masters: { objects: 0, bytes: 0 },
        history: { objects: 0, bytes: 0 },
        orphans: { objects: 0, bytes: 0 },
        missing: 0,
      });
    });
  });
});

describe('stats specifics', () => {
  it('counts variants an old record has under names no longer configured, by that name', async () => {
    const storage = memoryStorage();
    const users = memoryUserRepository();
    await createProfilePictures({ storage, users, variants: { sm: 16, xl: 48 } }).upload('42', images[0]!);
    const pictures = createProfilePictures({ storage, users, variants });
    const stored = await sizes(storage);
    const record = (await pictures.get('42'))!;
    expect((await pictures.stats()).variants).toEqual({
      sm: { objects: 1, bytes: stored.get(record.variants.sm!.key) },
      xl: { objects: 1, bytes: stored.get(record.variants.xl!.key) },
    });
  });

  it('counts the stills of an animated picture apart from its variants', async () => {
    const storage = memoryStorage();
    const pictures = createProfilePictures({ storage, users: memoryUserRepository(), variants, animated: true });
    const record = await pictures.upload('42', TERMINAL_GIF.bytes);
    const stored = await sizes(storage);
    const tally = (entries: Record<string, { key: string }>) => ({
      objects: Object.keys(entries).length,
      bytes: sum(Object.values(entries).map((entry) => stored.get(entry.key)!)),
    });
    expect(Object.keys(record.stills!)).toEqual(['sm', 'md']);
    const result = await pictures.stats();
    expect(result.stills).toEqual(tally(record.stills!));
    expect(result.variants).toEqual({ sm: tally({ sm: record.variants.sm! }), md: tally({ md: record.variants.md! }) });
    expect(result.referenced).toEqual({ objects: stored.size, bytes: sum(stored.values()) });
  });

  it('counts masters (option master) apart from the variants', async () => {
    const storage = memoryStorage();
    const pictures = createProfilePictures({ storage, users: memoryUserRepository(), variants, master: true });
    const record = await pictures.upload('42', images[0]!);
    const stored = await sizes(storage);
    const result = await pictures.stats();
    expect(result.masters).toEqual({ objects: 1, bytes: stored.get(record.master!.key) });
    expect(result.referenced).toEqual({ objects: 3, bytes: sum(stored.values()) });
    expect(result.referenced.bytes).toBe(result.variants.sm!.bytes + result.variants.md!.bytes + result.masters.bytes);
  });

  it('counts each object once however many records name it, and through which field', async () => {
    // Hand-made records (no upload makes these overlaps: invariant 5), in listing order: a's unknown field holds
    // what b's variant references; b's variant is held again by c's unknown field; a and c both name one missing key.
    const storage = memoryStorage();
    const users = memoryUserRepository();
    const key = (name: string) => `profile_pictures/${name}/0000000000000000000000aa-sm.webp`;
    const sizes: Record<string, number> = { shared: 100, second: 20, orphan: 3, heldOnly: 4000 };
    for (const [name, size] of Object.entries(sizes)) await storage.put(key(name), Buffer.alloc(size), { contentType: 'image/webp' });
    const now = new Date().toISOString();
    const record = (variants: Record<string, string>, extra: Record<string, unknown> = {}) => ({
      version: Math.random().toString(36).slice(2),
      contentHash: '0',
      contentType: 'image/webp',
      createdAt: now,
      updatedAt: now,
      variants: Object.fromEntries(Object.entries(variants).map(([name, k]) => [name, { key: k, width: 16, height: 16, bytes: 1 }])),
      ...extra,
    });
    await users.setPicture('a', record({ sm: key('gone') }, { future: { key: key('shared') }, another: [key('heldOnly')] }), null);
    await users.setPicture('b', record({ sm: key('shared'), md: key('second') }), null);
    await users.setPicture('c', record({ md: key('second'), sm: key('gone') }, { future: key('shared') }), null);
    const pictures = createProfilePictures({ storage, users, variants });

    expect(await pictures.stats()).toEqual({
      users: 3,
      objects: 4,
      bytes: 4123,
      referenced: { objects: 3, bytes: 4120 }, // shared, second, heldOnly: each once
      variants: { sm: { objects: 1, bytes: 100 }, md: { objects: 1, bytes: 20 } },
      stills: { objects: 0, bytes: 0 },
      masters: { objects: 0, bytes: 0 },
      history: { objects: 0, bytes: 0 },
      orphans: { objects: 1, bytes: 3 },
      missing: 1, // named by a and c, counted once
    });
  });

  it('onProgress: every 100 objects listed, then every 100 records read, and at the end of each walk', async () => {
    const storage = memoryStorage();
    const users = memoryUserRepository();
    const now = new Date().toISOString();
    for (let i = 0; i < 150; i++) {
      const key = `profile_pictures/u${i}/${String(i).padStart(24, '0')}-sm.webp`;
      await storage.put(key, Buffer.alloc(1), { contentType: 'image/webp' });
      const record = { version: `v${i}`, contentHash: '0', contentType: 'image/webp', createdAt: now, updatedAt: now };
      await users.setPicture(`u${i}`, { ...record, variants: { sm: { key, width: 16, height: 16, bytes: 1 } } }, null);
    }
    for (let i = 0; i < 130; i++) await storage.put(`profile_pictures/gone/${String(i).padStart(24, '0')}-md.webp`, Buffer.alloc(2), { contentType: 'image/webp' });
    const pictures = createProfilePictures({ storage, users, variants });
    const events: unknown[] = [];

    const result = await pictures.stats({
      onProgress: (progress) => {
        events.push(progress);
        throw new Error('display gone (injected)'); // ignored: the count goes on
      },
    });

    expect(result).toMatchObject({ users: 150, objects: 280, orphans: { objects: 130, bytes: 260 } });
    expect(events).toEqual([
      { phase: 'objects', objects: 100, records: 0 },
      { phase: 'objects', objects: 200, records: 0 },
      { phase: 'objects', objects: 280, records: 0 },
      { phase: 'records', objects: 280, records: 100 },
      { phase: 'records', objects: 280, records: 150 },
    ]);
    await expect(pictures.stats({ onProgress: 42 as never })).rejects.toThrow(
      new TypeError('[profile-picture] Expected a function for `stats({ onProgress })` but received 42 (number)'),
    );
  });

  it('rejects with a TypeError naming listPictures() when the repository has none', async () => {
    const { listPictures: _omitted, ...users } = memoryUserRepository();
    const pictures = createProfilePictures({ storage: memoryStorage(), users });
    await expect(pictures.stats()).rejects.toThrow(/stats\(\) needs `users\.listPictures\(\)`/);
  });
});
