/**
 * The background clean-up after a commit: bounded (a few deletes at once, a bounded backlog), reported to `onOrphan`
 * (whose failures are ignored) or by default to `console.warn`; deleting late is safe because no two uploads share
 * a key.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listKeys } from 'profile-picture/testing';
import { CLEANUP_BACKLOG, CLEANUP_CONCURRENCY } from '../../src/cleanup.js';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type OrphanEvent,
  type PictureRecord,
  type ProfilePicturesOptions,
  type StorageAdapter,
} from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';

const [first, second, third, fourth] = (await distinctImages(4)) as [Buffer, Buffer, Buffer, Buffer];
const keysOf = (record: PictureRecord) => Object.values(record.variants).map((variant) => variant.key).sort();

/** Memory storage whose deletes wait until `open()`; counts deletes in flight. */
function gatedStorage() {
  const base = memoryStorage();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const state = { running: 0, mostRunning: 0, started: 0 };
  const storage: StorageAdapter = {
    ...base,
    async delete(key) {
      state.started++;
      state.mostRunning = Math.max(state.mostRunning, ++state.running);
      await gate;
      await base.delete(key);
      state.running--;
    },
  };
  return { base, storage, state, open };
}

function service(storage: StorageAdapter, options: Partial<ProfilePicturesOptions> = {}) {
  const users = memoryUserRepository();
  const orphans: OrphanEvent[] = [];
  const pictures = createProfilePictures({
    master: false, // these tests count each upload's objects; test/unit/master.test.ts covers masters
    storage,
    users,
    timeouts: { storageMs: 5_000 },
    onOrphan: (event) => void orphans.push(event),
    ...options,
  });
  return { pictures, users, orphans };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('background clean-up', () => {
  it(`runs at most ${CLEANUP_CONCURRENCY} deletes at once and reports keys beyond a backlog of ${CLEANUP_BACKLOG}`, async () => {
    const { base, storage, state, open } = gatedStorage();
    const { pictures, users, orphans } = service(storage);
    // Records pointing at stored objects, cheap to make in bulk: removing them schedules three deletes each.
    const count = Math.ceil((CLEANUP_BACKLOG + CLEANUP_CONCURRENCY) / 3) + 10;
    const all: string[] = [];
    for (let i = 0; i < count; i++) {
      const record = fakeRecord(`u${i}`);
      for (const key of keysOf(record)) await base.put(key, Buffer.from('x'), { contentType: 'image/webp' });
      await users.setPicture(`u${i}`, record, null);
      all.push(...Object.values(record.variants).map((variant) => variant.key)); // in the order they are scheduled
    }
    for (let i = 0; i < count; i++) expect(await pictures.remove(`u${i}`)).toBe(true); // none waits for the gate
    expect(state.running).toBe(CLEANUP_CONCURRENCY);
    const overflow = all.slice(CLEANUP_CONCURRENCY + CLEANUP_BACKLOG);
    expect(orphans).toEqual(overflow.map((key) => ({ key, reason: 'backlog-full' })));

    open();
    await pictures.flush();
    expect(state.mostRunning).toBe(CLEANUP_CONCURRENCY);
    expect(state.started).toBe(CLEANUP_CONCURRENCY + CLEANUP_BACKLOG);
    expect(await listKeys(base, '')).toEqual([...overflow].sort());
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ deleted: overflow.length });
    expect(await listKeys(base, '')).toEqual([]);
  });

  it('a re-upload of the bytes whose deletes are still queued commits at once and loses nothing when they land', async () => {
    const { base, storage, state, open } = gatedStorage();
    const { pictures, users } = service(storage);
    // Two other users' replaced pictures take all four workers (waiting at the gate) and two places in the queue.
    for (const userId of ['x', 'w']) {
      await pictures.upload(userId, first);
      await pictures.upload(userId, second);
    }
    const old = await pictures.upload('42', third);
    await pictures.upload('42', fourth); // its three deletes wait in the queue behind them
    expect([state.running, state.started]).toEqual([CLEANUP_CONCURRENCY, CLEANUP_CONCURRENCY]);

    // The same bytes as the picture being cleaned up: with keys of its own it need not wait for those deletes.
    const record = await pictures.upload('42', third);
    expect(record.contentHash).toBe(old.contentHash);
    for (const key of keysOf(record)) expect(keysOf(old)).not.toContain(key);
    open();
    await pictures.flush();
    expect(await users.getPicture('42')).toEqual(record);
    expect(await listKeys(base, 'profile_pictures/42/')).toEqual(keysOf(record));
  });

  it('answers even when the hook throws or rejects, and swallows what it throws', async () => {
    const storage: StorageAdapter = { ...memoryStorage(), delete: async () => Promise.reject(new Error('refused (injected)')) };
    const calls: OrphanEvent[] = [];
    const throwing = service(storage, {
      onOrphan: (event) => {
        calls.push(event);
        throw new Error('logger down');
      },
    }).pictures;
    await throwing.upload('42', first);
    expect((await throwing.upload('42', second)).variants).toBeDefined();
    await throwing.flush();
    expect(calls.map(({ reason }) => reason)).toEqual(['delete-failed', 'delete-failed', 'delete-failed']);
    expect(String(calls[0]!.cause)).toContain('refused (injected)');

    const rejecting = service(storage, { onOrphan: async () => Promise.reject(new Error('async logger down')) }).pictures;
    await rejecting.upload('7', first);
    await rejecting.upload('7', second);
    await rejecting.flush(); // an unhandled rejection would fail this test run
  });

  it('warns once per key on the console when there is no hook, naming sweep()', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const storage: StorageAdapter = { ...memoryStorage(), delete: async () => Promise.reject(new Error('refused')) };
    const pictures = createProfilePictures({ master: false, storage, users: memoryUserRepository() });
    const old = await pictures.upload('42', first);
    await pictures.upload('42', second);
    await pictures.flush();
    expect(warn.mock.calls.map(([line]) => line).sort()).toEqual(
      keysOf(old).map(
        (key) => `[profile-picture] Left ${key} in storage (delete-failed); sweep() will remove it once no record references it.`,
      ),
    );
  });
});

/** A well-formed record whose keys nobody rendered (the clean-up only needs the keys). */
function fakeRecord(userId: string): PictureRecord {
  const now = new Date().toISOString();
  const variant = (name: string) => ({ key: `profile_pictures/${userId}/${'0'.repeat(24)}-${name}.webp`, width: 1, height: 1, bytes: 1 });
  return {
    version: `v-${userId}`,
    contentHash: '0'.repeat(64),
    contentType: 'image/webp',
    variants: { sm: variant('sm'), md: variant('md'), lg: variant('lg') },
    createdAt: now,
    updatedAt: now,
  };
}
