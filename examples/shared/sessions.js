// @ts-check
/**
 * Session rows in SQLite, shared by the Express store (express-session) and the Koa store (koa-session). Expired
 * rows are ignored on read and pruned periodically.
 */

const PRUNE_EVERY = 15 * 60 * 1000;

/**
 * @param {import('better-sqlite3').Database} db
 */
export function sessionTable(db) {
  const get = db.prepare('SELECT data FROM sessions WHERE sid = ? AND expires_at > ?');
  const set = db.prepare(
    `INSERT INTO sessions (sid, data, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
  );
  const touch = db.prepare('UPDATE sessions SET expires_at = ? WHERE sid = ?');
  const destroy = db.prepare('DELETE FROM sessions WHERE sid = ?');
  const prune = db.prepare('DELETE FROM sessions WHERE expires_at <= ?');
  const timer = setInterval(() => prune.run(Date.now()), PRUNE_EVERY);
  timer.unref(); // never keep the process alive just to prune

  return {
    /** @param {string} sid @returns {unknown} the stored value, or undefined */
    get(sid) {
      const row = /** @type {{ data: string } | undefined} */ (get.get(sid, Date.now()));
      return row ? JSON.parse(row.data) : undefined;
    },
    /** @param {string} sid @param {unknown} data @param {number} expiresAt epoch ms */
    set(sid, data, expiresAt) {
      set.run(sid, JSON.stringify(data), expiresAt);
    },
    /** @param {string} sid @param {number} expiresAt */
    touch(sid, expiresAt) {
      touch.run(expiresAt, sid);
    },
    /** @param {string} sid */
    destroy(sid) {
      destroy.run(sid);
    },
    close() {
      clearInterval(timer);
    },
  };
}
