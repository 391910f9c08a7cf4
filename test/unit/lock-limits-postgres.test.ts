/**
 * `lock()` / `unlock()` and `limits.changes` with the PostgreSQL repository (a table of its own per scenario, on this
 * file's database) and memory storage; the same scenarios as lock-limits.test.ts (lock-limits-suite.ts).
 */
import { memoryStorage } from '../../src/index.js';
import { postgresUserRepository } from '../../src/users/postgres.js';
import { useTestDatabase } from '../helpers/postgres.js';
import { describeLockLimits } from './lock-limits-suite.js';

const db = useTestDatabase();
let tables = 0;

describeLockLimits('memory storage + postgres repository', async () => {
  const users = postgresUserRepository({ pool: db.pool(), table: `lock_pictures_${++tables}` });
  await users.migrate();
  return { storage: memoryStorage(), users };
});
