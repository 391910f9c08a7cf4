// @ts-check
/**
 * Session rows in the app's database (SQLite or PostgreSQL), shared by the Express store (express-session) and the
 * Koa store (koa-session). Expired rows are ignored on read and pruned periodically.
 */

const PRUNE_EVERY = 15 * 60 * 1000;

/**
 * @param {import('./database.js').AppDatabase} db
 */
export function sessionTable(db) {
  const prune = () => db.run('DELETE FROM sessions WHERE expires_at <= ?', [Date.now()]);
  const timer = setInterval(() => prune().catch((err) => console.error('Pruning sessions failed:', err)), PRUNE_EVERY);
  timer.unref(); // never keep the process alive just to prune

  return {
    /** @param {string} sid @returns {Promise<unknown>} the stored value, or undefined */
    async get(sid) {
      const [row] = await db.all('SELECT data FROM sessions WHERE sid = ? AND expires_at > ?', [sid, Date.now()]);
      return row ? JSON.parse(row.data) : undefined;
    },
    /** @param {string} sid @param {unknown} data @param {number} expiresAt epoch ms */
    async set(sid, data, expiresAt) {
      await db.run(
        `INSERT INTO sessions (sid, data, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
        [sid, JSON.stringify(data), expiresAt],
      );
    },
    /** @param {string} sid @param {number} expiresAt */
    async touch(sid, expiresAt) {
      await db.run('UPDATE sessions SET expires_at = ? WHERE sid = ?', [expiresAt, sid]);
    },
    /** @param {string} sid */
    async destroy(sid) {
      await db.run('DELETE FROM sessions WHERE sid = ?', [sid]);
    },
    close() {
      clearInterval(timer);
    },
  };
}
