/**
 * Lock, change limit and erase across real app processes (issue 11 §4–5): two Node processes on the built package —
 * one on Express, one on Koa — share one media folder and one SQLite file, and the test process acts as the admin
 * with a service of its own on the same folder and file. Nothing is shared but the storage and the database, so
 * these hold only because the state lives in the records (DESIGN invariant 7).
 */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import { createProfilePictures, diskStorage, type PictureRecord, type ProfilePictures } from '../../src/index.js';
import { recordKeys } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';
import { startAppProcess, type AppProcess } from '../processes/app-process.js';
import { multipart, request } from './adapter-suite.js';

const USERS = ['limited', 'locked', 'erased'];
const PER_MS = 3_000;
const images = await distinctImages(4, 40);

let dir: string;
let root: string;
let db: Database.Database;
let admin: ProfilePictures;
let a: AppProcess;
let b: AppProcess;
/** While this file does not exist, B's puts of `-lg.` keys wait (see app-server.mjs `holdPuts`). */
let release: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pp-lock-processes-'));
  root = path.join(dir, 'media');
  const file = path.join(dir, 'app.db');
  release = path.join(dir, 'release');
  db = openDatabase(file) as Database.Database;
  const now = new Date().toISOString();
  const insert = db.prepare('INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
  for (const id of USERS) insert.run(id, id, 'x', now, now);
  admin = createProfilePictures({ storage: diskStorage({ root }), users: sqliteUserRepository(db), onOrphan: () => {} });
  const shared = { storage: { kind: 'disk' as const, root }, users: { kind: 'sqlite' as const, file }, service: { limits: { changes: { max: 2, perMs: PER_MS } } } };
  [a, b] = await Promise.all([
    startAppProcess({ adapter: 'express', ...shared }),
    startAppProcess({ adapter: 'koa', ...shared, holdPuts: { match: '^profile_pictures/erased/.*-lg\\.webp$', until: release } }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  db?.close();
  await rm(dir, { recursive: true, force: true });
});

function upload(through: AppProcess, user: string, image: Buffer) {
  const form = multipart([{ name: 'profile_picture', filename: 'me.png', type: 'image/png', data: image }]);
  return request(through.port, '/upload-profile-picture/', {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': form.contentType, 'x-test-user': user },
    body: form.body,
  });
}

const recordOf = (user: string) => sqliteUserRepository(db).getPicture(user);
/** The objects under the user's prefix as the storage lists them (a write in progress, a temp file, is not one). */
async function storedUnder(user: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of diskStorage({ root }).list(`profile_pictures/${user}/`)) keys.push(key);
  return keys.sort();
}
const exists = (key: string) => access(path.join(root, ...key.split('/'))).then(() => true, () => false);

describe('two app processes sharing one folder and one SQLite file', () => {
  it('limits.changes: two uploads through A, the third through B gets 429 with Retry-After; after the window B stores it', async () => {
    expect((await upload(a, 'limited', images[0]!)).status).toBe(200);
    expect((await upload(a, 'limited', images[1]!)).status).toBe(200);
    const refused = await upload(b, 'limited', images[2]!);
    expect([refused.status, refused.json.error.code]).toEqual([429, 'TOO_MANY_CHANGES']);
    const retryAfter = refused.json.error.details.retryAfter as number;
    expect(refused.headers['retry-after']).toBe(String(retryAfter));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(PER_MS / 1000);
    // Nothing of the refused upload: only the current picture's objects (the replaced one's are deleted in the
    // background by A, so wait for that).
    const current = (await recordOf('limited'))!;
    for (let wait = 0; wait < 50 && (await storedUnder('limited')).length > recordKeys(current).length; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await storedUnder('limited')).toEqual(recordKeys(current));

    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    const stored = await upload(b, 'limited', images[2]!);
    expect(stored.status).toBe(200);
    expect((await recordOf('limited'))!.version).toBe(stored.json.picture.version);
  });

  it('a lock written by another process refuses uploads through both at once; unlock lets them through', async () => {
    await admin.lock('locked', 'Reported; contact support.');
    for (const through of [a, b]) {
      const res = await upload(through, 'locked', images[0]!);
      expect([res.status, res.json.error]).toEqual([
        403,
        { code: 'LOCKED', message: 'Your profile picture is locked: Reported; contact support.', details: { reason: 'Reported; contact support.' } },
      ]);
    }
    expect(await storedUnder('locked')).toEqual([]);
    await admin.unlock('locked');
    expect((await upload(b, 'locked', images[1]!)).status).toBe(200);
  });

  it('erase: an upload in process B that wrote objects before the erase listed them fails with 409 CONFLICT erased and leaves nothing', async () => {
    const pending = upload(b, 'erased', images[3]!);
    // B wrote sm, md and its master (stored by default) and holds lg: the erase runs between its first writes and its
    // commit.
    while ((await storedUnder('erased')).length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await storedUnder('erased')).filter((key) => key.includes('.master.'))).toHaveLength(1);
    expect(await admin.erase('erased')).toMatchObject({ objects: 3 });
    await writeFile(release, '');
    const res = await pending;
    expect([res.status, res.json.error.code, res.json.error.details]).toEqual([409, 'CONFLICT', { reason: 'erased' }]);
    expect(await storedUnder('erased')).toEqual([]);
    const record = (await recordOf('erased')) as PictureRecord;
    expect(record).toMatchObject({ variants: {}, erasure: expect.any(String) });
    for (const key of recordKeys(record)) expect(await exists(key)).toBe(true); // none: it references nothing
    // The user's next upload (started after the erase) is stored as usual.
    const again = await upload(b, 'erased', images[0]!);
    expect(again.status).toBe(200);
    expect(await storedUnder('erased')).toEqual(recordKeys(await recordOf('erased')));
  });
});
