// @ts-check
/**
 * An express-session store on the example's SQLite `sessions` table (the default MemoryStore leaks memory and
 * forgets everyone on restart).
 */
import session from 'express-session';
import { sessionTable } from '../shared/sessions.js';

const ONE_DAY = 24 * 60 * 60 * 1000;

export class SqliteSessionStore extends session.Store {
  /** @param {import('better-sqlite3').Database} db */
  constructor(db) {
    super();
    this.table = sessionTable(db);
  }

  /**
   * @param {string} sid
   * @param {(err: unknown, session?: import('express-session').SessionData | null) => void} callback
   */
  get(sid, callback) {
    settle(callback, () => /** @type {import('express-session').SessionData | undefined} */ (this.table.get(sid)) ?? null);
  }

  /**
   * @param {string} sid
   * @param {import('express-session').SessionData} data
   * @param {(err?: unknown) => void} [callback]
   */
  set(sid, data, callback) {
    settle(callback, () => this.table.set(sid, data, expiresAt(data)));
  }

  /**
   * @param {string} sid
   * @param {import('express-session').SessionData} data
   * @param {(err?: unknown) => void} [callback]
   */
  touch(sid, data, callback) {
    settle(callback, () => this.table.touch(sid, expiresAt(data)));
  }

  /**
   * @param {string} sid
   * @param {(err?: unknown) => void} [callback]
   */
  destroy(sid, callback) {
    settle(callback, () => this.table.destroy(sid));
  }
}

/** @param {import('express-session').SessionData} data */
function expiresAt(data) {
  const expires = data.cookie?.expires;
  return expires ? new Date(expires).getTime() : Date.now() + ONE_DAY;
}

/**
 * Runs a synchronous SQLite call and reports it through a Node-style callback.
 * @template T
 * @param {((err: unknown, value?: T) => void) | undefined} callback
 * @param {() => T} run
 */
function settle(callback, run) {
  let value;
  try {
    value = run();
  } catch (err) {
    callback?.(err);
    return;
  }
  callback?.(null, value);
}
