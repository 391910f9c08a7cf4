// @ts-check
/**
 * The app's own tables on PostgreSQL, used when `DATABASE_URL` is set: the same users, sessions and settings as
 * `database.js`, behind the same `AppDatabase` interface. The picture record is the `jsonb` column `users.picture`,
 * which `postgresUserRepository({ pool, table: 'users', column: 'picture' })` reads and compare-and-sets.
 */
import pg from 'pg';

// Sent as one multi-statement query, which PostgreSQL runs as one transaction. The advisory lock serialises
// instances that start at once: concurrent `CREATE … IF NOT EXISTS` can still fail on the catalog.
const SCHEMA = `
SELECT pg_advisory_xact_lock(hashtext('portrait schema'));
CREATE TABLE IF NOT EXISTS users (
  id            text PRIMARY KEY,
  username      text NOT NULL,
  password_hash text NOT NULL,
  picture       jsonb,           -- the library's PictureRecord, or NULL; written only through profile-picture
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_username_lower ON users (lower(username));
-- sweep() walks the users that have a picture, in id order.
CREATE INDEX IF NOT EXISTS users_with_picture ON users (id) WHERE picture IS NOT NULL;
CREATE TABLE IF NOT EXISTS sessions (
  sid        text PRIMARY KEY,
  data       text NOT NULL,
  expires_at bigint NOT NULL     -- epoch milliseconds
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
`;

/**
 * Connects to `url`, creates the tables when missing, and returns the pool (for the picture repository) and the
 * {@link import('./database.js').AppDatabase} interface on it.
 * @param {string} url a `postgres://` connection string
 * @returns {Promise<{ pool: pg.Pool, database: import('./database.js').AppDatabase }>}
 * @throws Error naming the server when it cannot be reached or the schema cannot be created.
 */
export async function openPostgres(url) {
  const pool = new pg.Pool({
    connectionString: url,
    // A statement the app gave up on must not commit much later: an upload whose compare-and-set timed out
    // deletes nothing, and sweep()'s grace period (an hour) must stay far above how long it can still land.
    statement_timeout: 10_000,
    lock_timeout: 10_000,
    connectionTimeoutMillis: 5_000,
  });
  // A connection the server drops while idle in the pool must not crash the app; the next query opens another.
  pool.on('error', (err) => console.error('PostgreSQL: an idle connection failed:', err.message));
  try {
    await pool.query(SCHEMA);
  } catch (err) {
    await pool.end();
    const { host, pathname } = new URL(url);
    const { message, code } = /** @type {Error & { code?: string }} */ (err);
    throw new Error(`PostgreSQL on ${host}${pathname}: ${message || code || err}`, { cause: err });
  }
  /** `?` placeholders, as in SQLite, become `$1`, `$2`, … @param {string} sql */
  const numbered = (sql) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    pool,
    database: {
      all: async (sql, params = []) => (await pool.query(numbered(sql), params)).rows,
      run: async (sql, params = []) => (await pool.query(numbered(sql), params)).rowCount ?? 0,
      close: () => pool.end(),
    },
  };
}
