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

const USERNAME = /^[\p{L}\p{N}_.-]{3,30}$/u;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 200;

/**
 * @param {import('better-sqlite3').Database} db
 */
export function accounts(db) {
  const byId = db.prepare('SELECT id, username, created_at AS createdAt FROM users WHERE id = ?');
  const byName = db.prepare('SELECT id, username, password_hash AS passwordHash FROM users WHERE username = ?');
  const insert = db.prepare(
    'INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
  );

  /**
   * @param {string | undefined | null} id
   * @returns {Account | null}
   */
  function find(id) {
    if (!id) return null;
    return /** @type {Account | undefined} */ (byId.get(id)) ?? null;
  }

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
      if (byName.get(name)) return { field: 'username', error: 'This username is taken.' };
      const hash = await hashPassword(password);
      const now = new Date().toISOString();
      try {
        insert.run(id, name, hash, now, now);
      } catch (err) {
        // Two sign-ups for one name raced past the check above: the UNIQUE constraint decides.
        if (/** @type {{ code?: string }} */ (err).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          return { field: 'username', error: 'This username is taken.' };
        }
        throw err;
      }
      return { account: { id, username: name, createdAt: now } };
    },

    /**
     * @param {{ username: string, password: string }} input
     * @returns {Promise<Account | null>} the account when the password matches
     */
    async authenticate({ username, password }) {
      const row = /** @type {{ id: string, username: string, passwordHash: string } | undefined} */ (
        byName.get(username.trim().normalize('NFC'))
      );
      // Hash even for an unknown name: the response time must not tell which usernames exist.
      const ok = await verifyPassword(password.slice(0, MAX_PASSWORD), row?.passwordHash ?? DUMMY_HASH);
      return row && ok ? find(row.id) : null;
    },
  };
}
