// @ts-check
/**
 * `sqliteUserRepository(db)`: the library's `UserRepository` on the app's own `users` table. The picture record is
 * one JSON column; its version is mirrored in `picture_version` so the compare-and-set is a single atomic
 * `UPDATE … WHERE id = ? AND picture_version IS ?` whose `changes` count says whether this write won. That holds
 * across processes too (several app instances on one database file).
 *
 * Copy this file to use SQLite in your app; it passes the library's repository conformance suite
 * (test/conformance/sqlite-users.test.ts).
 */

import { unknownUserError } from 'profile-picture';

/** @typedef {import('profile-picture').PictureRecord} PictureRecord */
/** @typedef {import('profile-picture').UserRepository} UserRepository */

/** Rows per page for listPictures(): the iteration never holds a statement open across an await. */
const PAGE = 500;

/**
 * @param {import('better-sqlite3').Database} db an open database with the example's `users` table
 * @returns {UserRepository & { name: string }}
 */
export function sqliteUserRepository(db) {
  const select = db.prepare('SELECT picture FROM users WHERE id = ?');
  const update = db.prepare(
    `UPDATE users SET picture = ?, picture_version = ?, updated_at = ?
     WHERE id = ? AND picture_version IS ?`,
  );
  const exists = db.prepare('SELECT 1 FROM users WHERE id = ?');
  const page = db.prepare(
    'SELECT id, picture FROM users WHERE picture IS NOT NULL AND id > ? ORDER BY id LIMIT ?',
  );

  return {
    name: 'sqlite',

    async getPicture(userId) {
      const row = /** @type {{ picture: string | null } | undefined} */ (select.get(userId));
      return row?.picture ? /** @type {PictureRecord} */ (JSON.parse(row.picture)) : null;
    },

    async setPicture(userId, next, expected) {
      const json = next === null ? null : JSON.stringify(next);
      const result = update.run(json, next?.version ?? null, new Date().toISOString(), userId, expected);
      if (result.changes === 1) return true;
      // 0 changes: another write moved the version on, and this one lost (the service retries) — unless there is no
      // such user, which no retry can fix: the service answers NOT_FOUND (404) for that.
      if (!exists.get(userId)) throw unknownUserError(userId, `[sqlite-users] No row in users has id ${JSON.stringify(userId)}`);
      return false;
    },

    async *listPictures() {
      let after = '';
      for (;;) {
        const rows = /** @type {Array<{ id: string, picture: string }>} */ (page.all(after, PAGE));
        for (const row of rows) yield { userId: row.id, record: /** @type {PictureRecord} */ (JSON.parse(row.picture)) };
        if (rows.length < PAGE) return;
        after = /** @type {{ id: string }} */ (rows[rows.length - 1]).id;
      }
    },
  };
}
