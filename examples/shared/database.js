// @ts-check
/**
 * The app's own tables (users with their picture record, sessions, a small settings table) behind one small async
 * interface, `AppDatabase`, so the accounts and sessions code runs unchanged on SQLite (this file, the default) and
 * PostgreSQL (`postgres-database.js`). Queries are written once, with `?` placeholders and SQL both engines accept.
 * better-sqlite3 is synchronous, which keeps every query here a one-liner; each statement is still atomic, and the
 * picture compare-and-set (`sqlite-users.js`) relies on exactly that.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * What the app's own code needs of a database.
 * @typedef {object} AppDatabase
 * @property {(sql: string, params?: unknown[]) => Promise<Array<Record<string, any>>>} all the rows of a query
 * @property {(sql: string, params?: unknown[]) => Promise<number>} run runs a statement; resolves how many rows it changed
 * @property {() => Promise<void>} close
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id              TEXT PRIMARY KEY,
  username        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash   TEXT NOT NULL,
  picture         TEXT,              -- the library's PictureRecord as JSON, or NULL
  picture_version TEXT,              -- picture.version, the compare-and-set token (NULL = no picture)
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_username_lower ON users (lower(username));
CREATE TABLE IF NOT EXISTS sessions (
  sid        TEXT PRIMARY KEY,
  data       TEXT NOT NULL,
  expires_at INTEGER NOT NULL        -- epoch milliseconds
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * Opens `file` (`':memory:'` for tests), creating the directory and the tables when missing.
 * @param {string} file
 * @returns {import('better-sqlite3').Database}
 */
export function openDatabase(file) {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  // WAL lets page reads continue while an upload commits; busy_timeout makes a second process wait, not fail.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  return db;
}

/**
 * The {@link AppDatabase} interface on an open SQLite database. Statements are prepared once and reused.
 * @param {import('better-sqlite3').Database} db
 * @returns {AppDatabase}
 */
export function sqliteDatabase(db) {
  /** @type {Map<string, import('better-sqlite3').Statement>} */
  const statements = new Map();
  /** @param {string} sql */
  const prepare = (sql) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  return {
    all: async (sql, params = []) => /** @type {Array<Record<string, any>>} */ (prepare(sql).all(...params)),
    run: async (sql, params = []) => prepare(sql).run(...params).changes,
    close: async () => void db.close(),
  };
}

/**
 * Reads a setting, creating it with `create()` the first time (e.g. the session secret, so sessions survive a
 * restart without any configuration). When several instances start at once, the first insert wins and every
 * instance reads that one.
 * @param {AppDatabase} db
 * @param {string} key
 * @param {() => string} create
 * @returns {Promise<string>}
 */
export async function setting(db, key, create) {
  const read = async () => (await db.all('SELECT value FROM settings WHERE key = ?', [key]))[0]?.value;
  const value = await read();
  if (value !== undefined) return value;
  await db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [key, create()]);
  return read();
}
