/**
 * The example app's SQLite repository must pass the same conformance suite as the built-in ones, on a real
 * SQLite database (in memory here; the same statements run on the example's file).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeUserRepository, sampleRecord, SUITE_USER_IDS } from 'profile-picture/testing';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';

type Db = ReturnType<typeof openDatabase>;
const open: Db[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

/** Inserts bare user rows (the repository only knows existing users; password hashing is not under test). */
function insertUsers(db: Db, ids: readonly string[]): void {
  const insert = db.prepare(
    "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'unused', ?, ?)",
  );
  const now = new Date().toISOString();
  db.transaction(() => ids.forEach((id) => insert.run(id, `user ${id}`, now, now)))();
}

/** A fresh in-memory database holding one user per id the suite uses. */
async function databaseWithUsers(ids: readonly string[] = SUITE_USER_IDS): Promise<Db> {
  const db = openDatabase(':memory:');
  open.push(db);
  insertUsers(db, ids);
  return db;
}

let current: Db;
describeUserRepository('sqlite (example app)', {
  create: async () => {
    current = await databaseWithUsers();
    return sqliteUserRepository(current);
  },
  unknownUserId: 'nobody',
  probe: {
    async rawHasPicture(userId) {
      const row = current.prepare('SELECT picture, picture_version FROM users WHERE id = ?').get(userId) as
        | { picture: string | null; picture_version: string | null }
        | undefined;
      return row !== undefined && (row.picture !== null || row.picture_version !== null);
    },
  },
});

describe('sqliteUserRepository specifics', () => {
  it('stores the record as JSON in the users row and bumps updated_at', async () => {
    const db = await databaseWithUsers(['u1']);
    const before = db.prepare('SELECT updated_at FROM users WHERE id = ?').get('u1') as { updated_at: string };
    await new Promise((resolve) => setTimeout(resolve, 5));
    const record = sampleRecord('j1');
    expect(await sqliteUserRepository(db).setPicture('u1', record, null)).toBe(true);
    const row = db.prepare('SELECT picture, picture_version, updated_at FROM users WHERE id = ?').get('u1') as {
      picture: string;
      picture_version: string;
      updated_at: string;
    };
    expect(JSON.parse(row.picture)).toEqual(record);
    expect(row.picture_version).toBe(record.version);
    expect(row.updated_at > before.updated_at).toBe(true);
  });

  it('creates no row for a user that does not exist', async () => {
    const db = await databaseWithUsers(['u1']);
    const repo = sqliteUserRepository(db);
    await expect(repo.setPicture('nobody', sampleRecord('n1'), null)).rejects.toMatchObject({
      message: 'There is no user with the id "nobody".',
      cause: { message: '[sqlite-users] No row in users has id "nobody"' },
    });
    expect(db.prepare('SELECT COUNT(*) AS n FROM users').get()).toEqual({ n: 1 });
  });

  it('compare-and-set holds across two connections to one database file (two app processes)', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'pp-sqlite-'));
    try {
      const first = openDatabase(join(dir, 'app.db'));
      const second = openDatabase(join(dir, 'app.db'));
      open.push(first, second);
      insertUsers(first, ['u1']);
      const a = sqliteUserRepository(first);
      const b = sqliteUserRepository(second);
      await a.setPicture('u1', sampleRecord('base'), null);
      expect(await a.setPicture('u1', sampleRecord('left'), 'v-base')).toBe(true);
      expect(await b.setPicture('u1', sampleRecord('right'), 'v-base')).toBe(false);
      expect(await b.getPicture('u1')).toEqual(sampleRecord('left'));
    } finally {
      for (const db of open.splice(0)) db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
