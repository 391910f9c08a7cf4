// @ts-check
/**
 * An express-session store on the app's `sessions` table, in SQLite or PostgreSQL (the default MemoryStore leaks
 * memory and forgets everyone on restart).
 */
import session from 'express-session';
import { sessionTable } from '../shared/sessions.js';

const ONE_DAY = 24 * 60 * 60 * 1000;

export class DatabaseSessionStore extends session.Store {
  /** @param {import('../shared/database.js').AppDatabase} db */
  constructor(db) {
    super();
    this.table = sessionTable(db);
  }

  /**
   * @param {string} sid
   * @param {(err: unknown, session?: import('express-session').SessionData | null) => void} callback
   */
  get(sid, callback) {
    const read = this.table.get(sid);
    settle(callback, read.then((data) => /** @type {import('express-session').SessionData | undefined} */ (data) ?? null));
  }

  /**
   * @param {string} sid
   * @param {import('express-session').SessionData} data
   * @param {(err?: unknown) => void} [callback]
   */
  set(sid, data, callback) {
    settle(callback, this.table.set(sid, data, expiresAt(data)));
  }

  /**
   * @param {string} sid
   * @param {import('express-session').SessionData} data
   * @param {(err?: unknown) => void} [callback]
   */
  touch(sid, data, callback) {
    settle(callback, this.table.touch(sid, expiresAt(data)));
  }

  /**
   * @param {string} sid
   * @param {(err?: unknown) => void} [callback]
   */
  destroy(sid, callback) {
    settle(callback, this.table.destroy(sid));
  }
}

/** @param {import('express-session').SessionData} data */
function expiresAt(data) {
  const expires = data.cookie?.expires;
  return expires ? new Date(expires).getTime() : Date.now() + ONE_DAY;
}

/**
 * Reports a database call through a Node-style callback, as express-session expects.
 * @template T
 * @param {((err: unknown, value?: T) => void) | undefined} callback
 * @param {Promise<T>} call
 */
function settle(callback, call) {
  call.then(
    (value) => callback?.(null, value),
    (err) => callback?.(err),
  );
}
