// @ts-check
/**
 * User accounts: sign-up with validation, login, and lookups. Ids are random UUIDs, so picture URLs (which contain
 * the user id) reveal neither how many users there are nor who signed up when.
 */
import { randomUUID } from 'node:crypto';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.js';

/**
 * @typedef {object} Account
 * @property {string} id
 * @property {string} username
 * @property {string} createdAt
 */

/** What a username may be: 3–30 letters, digits, dots, dashes or underscores. */
export const USERNAME = /^[\p{L}\p{N}_.-]{3,30}$/u;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 200;

/** The sign-up refusal when the name is taken. */
const TAKEN = /** @type {const} */ ({ field: 'username', error: 'This username is taken.' });

/**
 * @param {import('./database.js').AppDatabase} db
 */
export function accounts(db) {
  /**
   * @param {string | undefined | null} id
   * @returns {Promise<Account | null>}
   */
  async function find(id) {
    // An id from a query string or form may hold anything; one with a control character names no account (ids are
    // UUIDs), and a NUL would fail PostgreSQL's query with a 500.
    if (!id || /[\u0000-\u001f\u007f]/.test(id)) return null;
    const [row] = await db.all('SELECT id, username, created_at AS "createdAt" FROM users WHERE id = ?', [id]);
    // SQLite returns the ISO string it stored, PostgreSQL a Date (timestamptz): the same string either way.
    return row ? { id: row.id, username: row.username, createdAt: new Date(row.createdAt).toISOString() } : null;
  }

  /**
   * Usernames are unique regardless of case (a unique index on `lower(username)`, or SQLite's NOCASE).
   * @param {string} name
   */
  const byName = async (name) =>
    (await db.all('SELECT id, password_hash AS "passwordHash" FROM users WHERE lower(username) = lower(?)', [name]))[0];

  return {
    find,

    /**
     * Validates and creates an account.
     * @param {{ username: string, password: string }} input
     * @param {string} [id] an explicit id (tests); a random UUID by default
     * @returns {Promise<{ account: Account } | { error: string, field: 'username' | 'password' }>}
     */
    async create({ username, password }, id = randomUUID()) {
      const name = username.trim().normalize('NFC');
      if (!USERNAME.test(name)) {
        return { field: 'username', error: 'Use 3–30 letters, digits, dots, dashes or underscores.' };
      }
      if (password.length < MIN_PASSWORD) {
        return { field: 'password', error: `Use at least ${MIN_PASSWORD} characters.` };
      }
      if (password.length > MAX_PASSWORD) {
        return { field: 'password', error: `Use at most ${MAX_PASSWORD} characters.` };
      }
      if (await byName(name)) return TAKEN;
      const hash = await hashPassword(password);
      const now = new Date().toISOString();
      // Two sign-ups for one name may race past the check above: the unique index decides, and the loser inserts
      // nothing (ON CONFLICT DO NOTHING reads the same on SQLite and PostgreSQL).
      const inserted = await db.run(
        `INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
        [id, name, hash, now, now],
      );
      if (inserted === 0) return TAKEN;
      return { account: { id, username: name, createdAt: now } };
    },

    /**
     * @param {{ username: string, password: string }} input
     * @returns {Promise<Account | null>} the account when the password matches
     */
    async authenticate({ username, password }) {
      const name = username.trim().normalize('NFC');
      // A name sign-up would refuse matches no account: not looked up (a NUL would fail PostgreSQL's query with a 500).
      const row = USERNAME.test(name) ? await byName(name) : undefined;
      // Hash even for an unknown name: the response time must not tell which usernames exist.
      const ok = await verifyPassword(password.slice(0, MAX_PASSWORD), row?.passwordHash ?? DUMMY_HASH);
      return row && ok ? find(row.id) : null;
    },
  };
}
