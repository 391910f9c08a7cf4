/**
 * `sweep()` on a disk install with many users: after the listing it asks the storage for its leftovers
 * (`sweepTemporary`), one call that walks every user's directory. Under a single `timeouts.storageMs` that call failed
 * every sweep once the install was large enough (20,000 users took 2.5-8 s here; the default timeout is 10 s), though
 * the listing of the same tree, timed per step, went through.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfilePictures, diskStorage, memoryUserRepository, type PictureRecord } from '../../src/index.js';

const USERS = 5_000;
const STORAGE_MS = 200;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pp-sweep-temporary-'));
}, 60_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('sweep() with more users than one storage timeout can walk', () => {
  it('finishes: sweepTemporary gets twice what the listing of the same prefix took, when that is longer than the timeout', async () => {
    const storage = diskStorage({ root });
    const users = memoryUserRepository();
    const now = new Date().toISOString();
    for (let at = 0; at < USERS; at += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, offset) => {
          const userId = `u${at + offset}`;
          const key = `profile_pictures/${userId}/aaaaaaaaaaaaaaaaaaaaaaaa-sm.webp`;
          await storage.put(key, new Uint8Array([1]), { contentType: 'image/webp' });
          const record: PictureRecord = {
            version: userId,
            contentHash: '0',
            contentType: 'image/webp',
            variants: { sm: { key, width: 1, height: 1, bytes: 1 } },
            createdAt: now,
            updatedAt: now,
          };
          await users.setPicture(userId, record, null);
        }),
      );
    }
    const pictures = createProfilePictures({ storage, users, timeouts: { storageMs: STORAGE_MS } });

    const started = performance.now();
    const result = await pictures.sweep({ olderThan: 0 });

    expect(result).toEqual({ scanned: USERS, deleted: 0, temporary: 0 });
    // The walk itself took longer than one timeout: the case this is about.
    expect(performance.now() - started).toBeGreaterThan(STORAGE_MS);
  }, 60_000);
});
