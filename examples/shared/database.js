// @ts-check
/**
 * Opens (and on first use creates) the example's SQLite database: users with their picture record, sessions, and a
 * small settings table. better-sqlite3 is synchronous, which keeps every query here a one-liner; each statement is
 * still atomic, and the picture compare-and-set relies on exactly that.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

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
 * Reads a setting, creating it with `create()` the first time (e.g. the session secret, so sessions survive a
 * restart without any configuration).
 * @param {import('better-sqlite3').Database} db
 * @param {string} key
 * @param {() => string} create
 * @returns {string}
 */
export function setting(db, key, create) {
  const row = /** @type {{ value: string } | undefined} */ (db.prepare('SELECT value FROM settings WHERE key = ?').get(key));
  if (row) return row.value;
  db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)').run(key, create());
  return /** @type {{ value: string }} */ (db.prepare('SELECT value FROM settings WHERE key = ?').get(key)).value;
}
