/**
 * History and restore with the PostgreSQL repository (a table of its own per test, on this file's database) and
 * memory storage; the same scenarios as history.test.ts (history-suite.ts).
 */
import { memoryStorage } from '../../src/index.js';
import { postgresUserRepository } from '../../src/users/postgres.js';
import { useTestDatabase } from '../helpers/postgres.js';
import { describeHistory } from './history-suite.js';

const db = useTestDatabase();
let tables = 0;

describeHistory('memory storage + postgres repository', async () => {
  const users = postgresUserRepository({ pool: db.pool(), table: `history_pictures_${++tables}` });
  await users.migrate();
  return { storage: memoryStorage(), users };
});
