/**
 * Tombstones (record-state.ts): a record that holds user state outlives its picture. Until history and locks write
 * that state themselves, the tests put it in the repository directly, as an earlier write would have.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { listKeys } from 'profile-picture/testing';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type ProfilePictures,
  type StorageAdapter,
  type UserRepository,
} from '../../src/index.js';
import { solidPng } from '../helpers/images.js';

const red = await solidPng([220, 20, 20]);
const blue = await solidPng([20, 20, 220]);
const lock = { reason: 'spam', at: '2026-12-02T00:00:00.000Z' };

describe('records that hold user state', () => {
  let storage: StorageAdapter;
  let users: UserRepository;
  let pictures: ProfilePictures;

  beforeEach(() => {
    storage = memoryStorage();
    users = memoryUserRepository();
    pictures = createProfilePictures({ master: false, storage, users });
  });

  /** Uploads a picture, then adds `state` to the stored record by compare-and-set. */
  async function uploadWithState(userId: string, state: Partial<PictureRecord>): Promise<PictureRecord> {
    const record = await pictures.upload(userId, red);
    const withState = { ...record, ...state, version: 'with-state' };
    expect(await users.setPicture(userId, withState, record.version)).toBe(true);
    return withState;
  }

  it('remove() keeps a tombstone with the state, answered as no picture, and deletes the objects', async () => {
    const record = await uploadWithState('42', { lock, changes: ['2026-12-02T01:00:00.000Z'] });
    expect(await pictures.remove('42')).toBe(true);
    await pictures.flush();
    const stored = await users.getPicture('42');
    expect(stored).toMatchObject({ variants: {}, lock, changes: ['2026-12-02T01:00:00.000Z'], createdAt: record.createdAt });
    expect(stored!.version).not.toBe(record.version);
    expect(stored!.removedAt).toBe(stored!.updatedAt);
    expect(stored).not.toHaveProperty('preview');
    expect(await pictures.get('42')).toBeNull();
    expect(await listKeys(storage, '')).toEqual([]);
    // Removing again finds no picture: no write.
    expect(await pictures.remove('42')).toBe(false);
    expect((await users.getPicture('42'))!.version).toBe(stored!.version);
  });

  it('remove() of a record without state clears it, as before', async () => {
    await pictures.upload('42', red);
    expect(await pictures.remove('42')).toBe(true);
    expect(await users.getPicture('42')).toBeNull();
  });

  it('an upload carries the state into the new record, from a picture or from a tombstone (a lock would refuse it: lock-limits.test.ts)', async () => {
    const changes = ['2026-12-02T01:00:00.000Z'];
    const first = await uploadWithState('42', { changes, erasure: 'e1' });
    const second = await pictures.upload('42', blue);
    expect(second).toMatchObject({ changes, erasure: 'e1', createdAt: first.createdAt });
    expect(second).not.toHaveProperty('removedAt');
    await pictures.remove('42');
    const third = await pictures.upload('42', red);
    expect(third).toMatchObject({ changes, erasure: 'e1', createdAt: first.createdAt });
    expect(third).not.toHaveProperty('removedAt');
    expect(await pictures.get('42')).toEqual(third);
  });

  it('stats() does not count a tombstone as a user with a picture; regenerate() skips it', async () => {
    await uploadWithState('1', { lock });
    await pictures.upload('2', blue);
    await pictures.remove('1');
    await pictures.flush();
    expect((await pictures.stats()).users).toBe(1);
    const changed = createProfilePictures({ master: false, storage, users, variants: { sm: 64, md: 256, lg: 512, xl: 1024 } });
    const result = await changed.regenerate();
    expect(result).toMatchObject({ scanned: 1, regenerated: 1, failed: [] });
    expect(await changed.regenerate({ userIds: ['1'] })).toMatchObject({ scanned: 0, failed: [] });
    expect((await users.getPicture('1'))!.variants).toEqual({});
  });
});
