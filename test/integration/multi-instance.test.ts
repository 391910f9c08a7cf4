/**
 * Two app instances in separate processes — one on Express, one on Koa, both on the built package — sharing one
 * media folder and one SQLite database, as an app behind a load balancer does. DESIGN invariants 5 and 7: no object
 * is ever referenced by two uploads, and correctness never relies on in-process locks. Each round races requests
 * for one user through both instances and then checks the only outcome that matters: the user's record points at
 * objects that exist. Afterwards `sweep()` (run in one instance) leaves no unreferenced object.
 */
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../examples/shared/database.js';
import type { PictureRecord } from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';
import { startAppProcess, type AppProcess } from '../processes/app-process.js';
import { multipart, request, type TestResponse } from './adapter-suite.js';

const ROUNDS = 200;
/** The second request of a round starts up to this much later, so the races land at every point of the first. */
const MAX_OFFSET_MS = 120;
const later = <T>(send: () => Promise<T>) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * MAX_OFFSET_MS)).then(send);

let dir: string;
let mediaRoot: string;
let db: Database.Database;
let instances: AppProcess[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pp-instances-'));
  mediaRoot = path.join(dir, 'media');
  const sqliteFile = path.join(dir, 'app.db');
  db = openDatabase(sqliteFile) as Database.Database;
  const now = new Date().toISOString();
  const insert = db.prepare('INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
  for (const id of ['racer', 'remover']) insert.run(id, id, 'x', now, now);
  instances = await Promise.all(
    (['express', 'koa'] as const).map((adapter) => startAppProcess({ adapter, mediaRoot, sqliteFile })),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all((instances ?? []).map((instance) => instance.stop()));
  db?.close();
  await rm(dir, { recursive: true, force: true });
});

function upload(instance: AppProcess, user: string, file: Buffer): Promise<TestResponse> {
  const form = multipart([{ name: 'profile_picture', filename: 'me.png', data: file }]);
  return request(instance.port, '/upload-profile-picture/', {
    method: 'POST',
    headers: { accept: 'application/json', 'x-test-user': user, 'content-type': form.contentType },
    body: form.body,
  });
}

function remove(instance: AppProcess, user: string): Promise<TestResponse> {
  return request(instance.port, '/remove-profile-picture/', {
    method: 'POST',
    headers: { accept: 'application/json', 'x-test-user': user },
  });
}

function recordOf(user: string): PictureRecord | null {
  const row = db.prepare('SELECT picture FROM users WHERE id = ?').get(user) as { picture: string | null };
  return row.picture ? (JSON.parse(row.picture) as PictureRecord) : null;
}

/** Keys the user's record references whose object is missing from the shared folder. */
async function missingObjects(user: string): Promise<string[]> {
  const record = recordOf(user);
  const keys = record ? Object.values(record.variants).map((variant) => variant.key) : [];
  const missing = await Promise.all(keys.map((key) => access(path.join(mediaRoot, ...key.split('/'))).then(() => null, () => key)));
  return missing.filter((key): key is string => key !== null);
}

/** Every stored file, as a key. */
async function storedKeys(): Promise<string[]> {
  const entries = await readdir(mediaRoot, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(mediaRoot, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

async function sweepThenExpectOnlyReferenced(): Promise<void> {
  const swept = await request(instances[0]!.port, '/__sweep?olderThan=0', { method: 'POST' });
  expect(swept.status, swept.text).toBe(200);
  const referenced = ['racer', 'remover'].flatMap((user) => {
    const record = recordOf(user);
    return record ? Object.values(record.variants).map((variant) => variant.key) : [];
  });
  expect(await storedKeys()).toEqual(referenced.sort());
}

describe('two app processes sharing one folder and one database', () => {
  it('an upload through one instance is served through the other, and a replace there deletes the old objects', async () => {
    const [a, b] = instances as [AppProcess, AppProcess];
    const [first, second] = await distinctImages(2, 40);
    const uploaded = await upload(a, 'racer', first!);
    expect(uploaded.status, uploaded.text).toBe(200);
    for (const url of Object.values<string>(uploaded.json.picture.urls)) expect((await request(b.port, url)).status).toBe(200);
    const replaced = await upload(b, 'racer', second!);
    expect(replaced.status, replaced.text).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the old objects are deleted after the answer
    for (const url of Object.values<string>(uploaded.json.picture.urls)) expect((await request(a.port, url)).status).toBe(404);
  });

  it(`the same picture uploaded through both at once (a double-click, a retried request) never leaves a dangling record: ${ROUNDS} rounds`, async () => {
    const [a, b] = instances as [AppProcess, AppProcess];
    // Two pictures in turn, and each round overlaps the next: while one round replaces picture A with B (and its
    // clean-up deletes A's objects), the other uploads A again.
    const pictures = await distinctImages(2, 40);
    const dangling: string[] = [];
    const statuses = new Set<number>();
    const round = (image: Buffer) => Promise.all([upload(a, 'racer', image), later(() => upload(b, 'racer', image))]);
    for (let pair = 0; pair < ROUNDS / 2; pair++) {
      const answers = await Promise.all([round(pictures[0]!), later(() => round(pictures[1]!))]);
      for (const answer of answers.flat()) statuses.add(answer.status);
      dangling.push(...(await missingObjects('racer')));
    }
    expect(dangling).toEqual([]);
    expect([...statuses]).toEqual([200]);
    await sweepThenExpectOnlyReferenced();
  }, 120_000);

  it(`an upload through one instance racing a remove through the other never leaves a dangling record: ${ROUNDS} rounds`, async () => {
    const [a, b] = instances as [AppProcess, AppProcess];
    const [picture] = await distinctImages(1, 44);
    const dangling: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // The user uploads their picture again (a retry, the same file chosen twice) while a remove goes through
      // the other instance.
      if (!recordOf('remover')) expect((await upload(a, 'remover', picture!)).status).toBe(200);
      const [uploaded, removed] = await Promise.all([upload(a, 'remover', picture!), later(() => remove(b, 'remover'))]);
      expect([uploaded.status, removed.status]).toEqual([200, 200]);
      dangling.push(...(await missingObjects('remover')));
    }
    expect(dangling).toEqual([]);
    await sweepThenExpectOnlyReferenced();
  }, 120_000);
});
