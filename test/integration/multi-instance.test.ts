/**
 * Two app processes sharing one media folder (diskStorage) and one SQLite database (the example app's repository):
 * the multi-instance suite on the engines a single machine has. S3 + PostgreSQL: multi-instance-postgres.test.ts.
 */
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../examples/shared/database.js';
import type { PictureRecord } from '../../src/index.js';
import { describeInstances } from './instances-suite.js';

describeInstances('one folder and one SQLite file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pp-instances-'));
  const root = path.join(dir, 'media');
  const file = path.join(dir, 'app.db');
  const db = openDatabase(file) as Database.Database;
  return {
    storage: { kind: 'disk', root },
    users: { kind: 'sqlite', file },
    async prepare(userIds) {
      const now = new Date().toISOString();
      const insert = db.prepare('INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
      for (const id of userIds) insert.run(id, id, 'x', now, now);
    },
    async recordOf(userId) {
      const row = db.prepare('SELECT picture FROM users WHERE id = ?').get(userId) as { picture: string | null };
      return row.picture ? (JSON.parse(row.picture) as PictureRecord) : null;
    },
    async storedKeys() {
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
        .sort();
    },
    exists: (key) => access(path.join(root, ...key.split('/'))).then(() => true, () => false),
    async close() {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
