// @ts-check
/**
 * A koa-session external store on the app's `sessions` table, in SQLite or PostgreSQL (the cookie only holds the
 * session id).
 */
import { sessionTable } from '../shared/sessions.js';

const ONE_DAY = 24 * 60 * 60 * 1000;

/**
 * @param {import('../shared/database.js').AppDatabase} db
 */
export function databaseSessionStore(db) {
  const table = sessionTable(db);
  return {
    /** @param {string} key */
    get: (key) => table.get(key),
    /** @param {string} key @param {unknown} session @param {number | 'session'} maxAge */
    set: (key, session, maxAge) => table.set(key, session, Date.now() + (typeof maxAge === 'number' ? maxAge : ONE_DAY)),
    /** @param {string} key */
    destroy: (key) => table.destroy(key),
  };
}
