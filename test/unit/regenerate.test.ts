/**
 * `regenerate()` on memory and disk storage × the memory repository and the example app's SQLite repository
 * (PostgreSQL: regenerate-postgres.test.ts). The scenarios live in regenerate-suite.ts.
 */
import { BACKEND_MATRIX } from '../helpers/backends.js';
import { describeRegenerate } from './regenerate-suite.js';

for (const [name, createBackends] of BACKEND_MATRIX) describeRegenerate(name, createBackends);
