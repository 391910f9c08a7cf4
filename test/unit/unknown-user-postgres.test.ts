/**
 * A user the repository has no row for, with `postgresUserRepository` keeping records in a column of the app's users
 * table (a table per scenario, on this file's database) and memory storage; the same scenarios as
 * unknown-user.test.ts (unknown-user-suite.ts).
 */
import { memoryStorage } from '../../src/index.js';
import { postgresUserRepository } from '../../src/users/postgres.js';
import { useTestDatabase } from '../helpers/postgres.js';
import { describeUnknownUser } from './unknown-user-suite.js';

const db = useTestDatabase();
let tables = 0;

describeUnknownUser('memory storage + postgres repository (column on the users table)', async () => {
  const pool = db.pool();
  const table = `unknown_users_${++tables}`;
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY)`);
  await pool.query(`INSERT INTO ${table} (id) VALUES ('u1')`);
  const users = postgresUserRepository({ pool, table, column: 'picture' });
  await users.migrate();
  return { storage: memoryStorage(), users };
});
