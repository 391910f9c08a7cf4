/**
 * `diskStorage().list()` on an install with many users: the service times each step of a listing against
 * `timeouts.storageMs`, so the first object must come without reading the whole prefix directory (one entry per user)
 * first — with a million users that alone took longer than the default 10 s, and every sweep() and stats() failed.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskStorage } from '../../src/index.js';

const USERS = 10_000;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pp-disk-list-'));
  const users = Array.from({ length: USERS }, (_, index) => path.join(root, 'profile_pictures', `u${index}`));
  for (let at = 0; at < users.length; at += 200) {
    await Promise.all(
      users.slice(at, at + 200).map(async (dir) => {
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'aaaaaaaaaaaaaaaaaaaaaaaa-sm.webp'), 'x');
      }),
    );
  }
}, 60_000);
afterAll(() => rm(root, { recursive: true, force: true }));

/** Milliseconds until `list()` yields its first object. */
async function firstStepMs(): Promise<number> {
  const iterator = diskStorage({ root }).list('profile_pictures/')[Symbol.asyncIterator]();
  const started = performance.now();
  const first = await iterator.next();
  const elapsed = performance.now() - started;
  expect(first.done).toBe(false);
  await iterator.return?.();
  return elapsed;
}

describe('diskStorage list() with many users', () => {
  it(`yields its first object without reading all ${USERS} user directories first`, async () => {
    // The fastest of three, so a pause of this busy machine does not count; reading 10,000 directory entries took
    // 50-100 ms here, one user's directory well under 5.
    const fastest = Math.min(await firstStepMs(), await firstStepMs(), await firstStepMs());
    expect(fastest).toBeLessThan(15);
  });

  it('still yields every object exactly once', async () => {
    const keys: string[] = [];
    for await (const object of diskStorage({ root }).list('profile_pictures/')) keys.push(object.key);
    expect(keys.length).toBe(USERS);
    expect(new Set(keys).size).toBe(USERS);
  });
});
