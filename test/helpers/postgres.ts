/**
 * A database of its own for each test file, on the run's PostgreSQL server (`postgres-global-setup.ts`), and pools
 * on it that are ended after the file. Only for files of the `postgres` vitest project (`*postgres*.test.ts`).
 *
 * @example
 * ```ts
 * const db = useTestDatabase();
 * it('…', async () => {
 *   const pool = db.pool();
 *   await pool.query('SELECT 1');
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

export interface TestDatabase {
  /** Connection string of this file's database (valid from `beforeAll` on). */
  readonly url: string;
  /** A new pool on this file's database, ended after the file. */
  pool(config?: pg.PoolConfig): pg.Pool;
}

/** Creates this file's database before its tests and drops it (and ends every pool) after them. */
export function useTestDatabase(): TestDatabase {
  const admin = inject('postgresUrl');
  const name = `pp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const pools: pg.Pool[] = [];

  beforeAll(async () => {
    await adminQuery(admin, `CREATE DATABASE "${name}"`);
  });
  afterAll(async () => {
    // DROP … WITH (FORCE) terminates what is still connected, including clients of a pool a test ended without
    // awaiting: their "terminating connection" errors are expected here, not a pool's uncaught 'error' event.
    for (const pool of pools) pool.on('error', () => {});
    await Promise.all(pools.splice(0).filter((pool) => !pool.ended).map((pool) => pool.end()));
    await adminQuery(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  return {
    url: url.href,
    pool(config = {}) {
      const pool = new pg.Pool({ connectionString: url.href, ...config });
      pools.push(pool);
      return pool;
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
