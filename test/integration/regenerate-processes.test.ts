/**
 * Two app processes (the built package) regenerating at once over one media folder and one SQLite file: nothing may
 * rely on in-process locks (DESIGN invariant 7). In-process instances and the other backends: test/unit/regenerate*.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import { createProfilePictures, diskStorage, type RegenerateResult } from '../../src/index.js';
import { distinctImages } from '../helpers/images.js';
import { recordKeys } from '../fixtures/service.js';
import { startAppProcess, type AppProcess } from '../processes/app-process.js';
import { request } from './adapter-suite.js';

const USERS = Array.from({ length: 8 }, (_, i) => `user${i}`);
const WIDER = { sm: 64, md: 200, lg: 512, xl: 768 };

describe('regenerate() in two app processes at once', () => {
  let dir: string;
  let root: string;
  let db: ReturnType<typeof openDatabase>;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pp-regenerate-processes-'));
    root = path.join(dir, 'media');
    const file = path.join(dir, 'app.db');
    db = openDatabase(file);
    const now = new Date().toISOString();
    const insert = db.prepare("INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)");
    for (const id of USERS) insert.run(id, id, now, now);
    const seeding = createProfilePictures({ storage: diskStorage({ root }), users: sqliteUserRepository(db), master: true });
    const images = await distinctImages(USERS.length, 96);
    for (const [i, id] of USERS.entries()) await seeding.upload(id, images[i]!);
    await seeding.flush();
    for (let i = 0; i < 2; i++) {
      processes.push(
        await startAppProcess({ adapter: 'express', storage: { kind: 'disk', root }, users: { kind: 'sqlite', file }, service: { variants: WIDER } }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('re-render every user exactly once between them and leave exactly the referenced objects', async () => {
    const results = await Promise.all(
      processes.map(async (process) => (await request(process.port, '/__regenerate', { method: 'POST' })).json as RegenerateResult),
    );
    for (const result of results) expect(result).toMatchObject({ scanned: USERS.length, failed: [], aborted: false });
    expect(results[0]!.regenerated + results[1]!.regenerated).toBe(USERS.length);
    const users = sqliteUserRepository(db);
    const referenced: string[] = [];
    for (const id of USERS) {
      const record = (await users.getPicture(id))!;
      expect(Object.fromEntries(Object.entries(record.variants).map(([name, variant]) => [name, variant.width]))).toEqual(WIDER);
      referenced.push(...recordKeys(record));
    }
    const stored = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
    expect(stored.sort()).toEqual(referenced.sort());
  }, 120_000);
});
