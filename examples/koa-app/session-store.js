// @ts-check
/** A koa-session external store on the example's SQLite `sessions` table (the cookie only holds the session id). */
import { sessionTable } from '../shared/sessions.js';

const ONE_DAY = 24 * 60 * 60 * 1000;

/**
 * @param {import('better-sqlite3').Database} db
 */
export function sqliteSessionStore(db) {
  const table = sessionTable(db);
  return {
    /** @param {string} key */
    async get(key) {
      return table.get(key);
    },
    /** @param {string} key @param {unknown} session @param {number | 'session'} maxAge */
    async set(key, session, maxAge) {
      table.set(key, session, Date.now() + (typeof maxAge === 'number' ? maxAge : ONE_DAY));
    },
    /** @param {string} key */
    async destroy(key) {
      table.destroy(key);
    },
  };
}
