/**
 * `regenerate()` edge cases on memory storage and repository (the scenarios on every backend: regenerate-suite.ts):
 * animated records are skipped, fields the render does not build are kept, and a listing that fails midway rejects
 * only once the users in progress are done, a source read that stalls is bounded by the storage timeout and stops
 * with the signal, a user erased meanwhile, or whose row the app deleted meanwhile, is skipped, and onProgress gets one
 * growing failure list.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { TERMINAL_GIF } from '../fixtures/animated.js';
import * as fx from '../fixtures/index.js';
import { listKeys, recordKeys, rejectionOf } from '../fixtures/service.js';
import { usersTable } from '../helpers/users-table.js';

describe('regenerate() edge cases', () => {
  it('an animated upload stores variants and stills but no master; regenerate() skips it, untouched', async () => {
    const storage = memoryStorage();
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ storage, users, animated: true, master: true });
    const record = await pictures.upload('u1', TERMINAL_GIF.bytes);
    expect(record.master).toBeUndefined();
    expect(Object.keys(record.stills!).sort()).toEqual(['lg', 'md', 'sm']);
    expect(await listKeys(storage)).toEqual(recordKeys(record));
    // A new size: the animated record is stale, yet it is not turned into stills from one frame.
    const wider = createProfilePictures({ storage, users, animated: true, variants: { sm: 64, md: 256, lg: 512, xl: 1024 } });
    expect(await wider.regenerate()).toEqual({ scanned: 1, regenerated: 0, skipped: 1, failed: [], aborted: false });
    await wider.flush();
    expect(await users.getPicture('u1')).toEqual(record);
    expect(await listKeys(storage)).toEqual(recordKeys(record));
    // remove() deletes the stills with the variants.
    expect(await wider.remove('u1')).toBe(true);
    await wider.flush();
    expect(await listKeys(storage)).toEqual([]);
  });

  it("regenerate() keeps the record's fields it does not build and replaces those it does", async () => {
    const storage = memoryStorage();
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ storage, users, master: true });
    const uploaded = await pictures.upload('u1', await fx.jpegQuadrants());
    // An app field stored in the same record, and a stale preview that the new render must replace.
    const stale = { ...uploaded, appNote: { approvedBy: 'mod-7' }, preview: { color: '#000000', thumbhash: 'AAAA' } };
    expect(await users.setPicture('u1', stale, uploaded.version)).toBe(true);
    const wider = createProfilePictures({ storage, users, master: true, variants: { sm: 64, md: 256, lg: 512, xl: 768 } });
    expect(await wider.regenerate()).toMatchObject({ regenerated: 1, failed: [] });
    await wider.flush();
    const record = (await users.getPicture('u1'))! as typeof stale;
    expect(record.appNote).toEqual({ approvedBy: 'mod-7' });
    // Re-rendered from the master (a JPEG), so equal to the upload's preview up to rounding, and never the stale one.
    expect(record.preview).not.toEqual(stale.preview);
    const channels = (color: string) => [1, 3, 5].map((at) => parseInt(color.slice(at, at + 2), 16));
    const [now, then] = [channels(record.preview!.color), channels(uploaded.preview!.color)];
    now.forEach((value, i) => expect(Math.abs(value - then[i]!)).toBeLessThanOrEqual(3));
    expect(Object.keys(record.variants)).toEqual(['sm', 'md', 'lg', 'xl']);
    expect(record.master!.key).not.toBe(uploaded.master!.key);
    expect([record.createdAt, record.updatedAt]).toEqual([uploaded.createdAt, uploaded.updatedAt]);
    expect(await listKeys(storage)).toEqual(recordKeys(record));
  });

  it('regenerate() rejects on a listing that fails midway only once the users in progress are done', async () => {
    const base = memoryStorage();
    let active = 0;
    const slow = <T>(work: () => Promise<T>) => {
      active++;
      return new Promise((resolve) => setTimeout(resolve, 100)).then(work).finally(() => active--);
    };
    const storage: StorageAdapter = { ...base, get: (key) => slow(() => base.get(key)), put: (...args) => slow(() => base.put(...args)) };
    const users = memoryUserRepository();
    const seeding = createProfilePictures({ storage: base, users, master: true });
    for (const userId of ['u1', 'u2']) await seeding.upload(userId, await fx.jpegQuadrants());
    const listing: UserRepository = {
      ...users,
      async *listPictures() {
        for await (const entry of users.listPictures!()) yield entry;
        await new Promise((resolve) => setTimeout(resolve, 20)); // the two users are rendering now
        throw new Error('connection lost while listing (injected)');
      },
    };
    const wider = createProfilePictures({ storage, users: listing, master: true, variants: { sm: 64, md: 256, lg: 512, xl: 768 } });
    expect((await rejectionOf(wider.regenerate({ concurrency: 2 }))).code).toBe('STORAGE_FAILED');
    // Nothing of the run is still reading or writing, and both users it had started are committed.
    expect(active).toBe(0);
    for (const userId of ['u1', 'u2']) expect(Object.keys((await users.getPicture(userId))!.variants)).toContain('xl');
  });

  /** A storage whose source reads send one chunk and then stall; `streams` holds their bodies. */
  function stallingReads(base: StorageAdapter) {
    const streams: Readable[] = [];
    const storage: StorageAdapter = {
      ...base,
      async get(key) {
        const object = await base.get(key);
        if (!object) return null;
        object.body.destroy();
        const body = new Readable({ read() {} });
        body.push(Buffer.from([0xff, 0xd8, 0xff]));
        streams.push(body);
        return { ...object, body };
      },
    };
    return { storage, streams };
  }

  it('a source read that stalls fails with STORAGE_FAILED after timeouts.storageMs, its stream destroyed', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    await createProfilePictures({ storage: base, users, master: true }).upload('u1', await fx.jpegQuadrants());
    const { storage, streams } = stallingReads(base);
    const wider = createProfilePictures({ storage, users, master: true, variants: { sm: 64, xl: 768 }, timeouts: { storageMs: 300 } });
    const started = Date.now();
    expect(await wider.regenerate()).toEqual({ scanned: 1, regenerated: 0, skipped: 0, failed: [{ userId: 'u1', code: 'STORAGE_FAILED' }], aborted: false });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(streams).toHaveLength(1);
    expect(streams[0]!.destroyed).toBe(true);
  });

  it('a stalled source read stops with the signal: the run resolves aborted, the stream destroyed, nothing written', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    const before = await createProfilePictures({ storage: base, users, master: true }).upload('u1', await fx.jpegQuadrants());
    const { storage, streams } = stallingReads(base);
    const wider = createProfilePictures({ storage, users, master: true, variants: { sm: 64, xl: 768 }, timeouts: { storageMs: 60_000 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    expect(await wider.regenerate({ signal: controller.signal })).toMatchObject({ regenerated: 0, failed: [], aborted: true });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(streams[0]!.destroyed).toBe(true);
    expect(await users.getPicture('u1')).toEqual(before);
    expect(await listKeys(base)).toEqual(recordKeys(before));
  });

  it('a user erased by this process while being re-rendered counts as skipped and keeps nothing', async () => {
    const base = memoryStorage();
    const users = memoryUserRepository();
    const seeding = createProfilePictures({ storage: base, users, master: true });
    for (const userId of ['u1', 'u2']) await seeding.upload(userId, await fx.jpegQuadrants());
    let erasing: Promise<unknown> | undefined;
    const storage: StorageAdapter = {
      ...base,
      async put(key, body, meta) {
        // The first new object of u1: the user erases their data while regenerate writes it.
        if (!erasing && key.startsWith('profile_pictures/u1/')) await (erasing = wider.erase('u1'));
        return base.put(key, body, meta);
      },
    };
    const wider = createProfilePictures({ storage, users, master: true, variants: { sm: 64, md: 256, lg: 512, xl: 768 } });
    expect(await wider.regenerate({ concurrency: 1 })).toEqual({ scanned: 2, regenerated: 1, skipped: 1, failed: [], aborted: false });
    await wider.flush();
    expect(await wider.get('u1')).toBeNull(); // the erase's tombstone (its marker) stays: no picture
    expect((await listKeys(base)).filter((key) => key.startsWith('profile_pictures/u1/'))).toEqual([]);
    expect(await listKeys(base)).toEqual(recordKeys(await users.getPicture('u2')));
  });

  it("a user whose row the app deleted while being re-rendered counts as skipped, not failed, and keeps nothing new", async () => {
    const storage = memoryStorage();
    const table = usersTable(['u1', 'u2']);
    const seeding = createProfilePictures({ storage, users: table.users });
    for (const userId of ['u1', 'u2']) await seeding.upload(userId, await fx.jpegQuadrants());
    const before = await listKeys(storage);
    const wider = createProfilePictures({ storage, users: table.users, variants: { sm: 64, md: 256, lg: 512, xl: 768 } });
    // The first compare-and-set is u1's (one user at a time): the row goes after the render, before the write.
    table.beforeNextWrite(() => table.deleteRow('u1'));
    expect(await wider.regenerate({ concurrency: 1 })).toEqual({ scanned: 2, regenerated: 1, skipped: 1, failed: [], aborted: false });
    await wider.flush();
    expect(await wider.get('u1')).toBeNull();
    // u1's new renders are deleted again; what is left of u1 is the deleted row's objects, for sweep() as orphans.
    const u1 = (keys: string[]) => keys.filter((key) => key.startsWith('profile_pictures/u1/'));
    expect(u1(await listKeys(storage))).toEqual(u1(before));
    expect(await listKeys(storage)).toEqual([...u1(before), ...recordKeys(await table.users.getPicture('u2'))].sort());
  });

  it('onProgress gets one growing failure list, not a copy per user; what the hook does to it stays out of the result', async () => {
    // 300 stale records whose only variant is missing from storage: every user fails with NOT_FOUND.
    const users = memoryUserRepository();
    const now = new Date().toISOString();
    const count = 300;
    for (let index = 0; index < count; index++) {
      const variant = { key: `profile_pictures/u${index}/x-sm.webp`, width: 24, height: 24, bytes: 1 };
      const record = { version: `v${index}`, contentHash: '0', contentType: 'image/webp', createdAt: now, updatedAt: now, variants: { sm: variant } };
      await users.setPicture(`u${index}`, record, null);
    }
    const pictures = createProfilePictures({ storage: memoryStorage(), users, variants: { sm: 16 } });
    const lists = new Set<unknown>();
    const seen: number[] = [];

    const result = await pictures.regenerate({
      concurrency: 4,
      onProgress: ({ scanned, failed }) => {
        lists.add(failed);
        seen.push(failed.length - scanned);
        if (scanned === count) failed.splice(0, failed.length, { userId: 'nobody', code: 'INTERNAL' });
      },
    });

    expect({ ...result, failed: result.failed.length }).toEqual({ scanned: count, regenerated: 0, skipped: 0, failed: count, aborted: false });
    expect(new Set(result.failed.map((failure) => failure.userId)).size).toBe(count);
    expect(result.failed.every((failure) => failure.code === 'NOT_FOUND')).toBe(true);
    expect(seen).toEqual(Array(count).fill(0)); // each call read the list as it stood: every user looked at so far
    expect(lists.size).toBe(1);
  });
});
