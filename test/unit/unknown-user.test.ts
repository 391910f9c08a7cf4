/**
 * A user the repository has no row for, with the example app's SQLite repository on memory and disk storage
 * (scenarios: unknown-user-suite.ts; PostgreSQL with `column`: unknown-user-postgres.test.ts). And the contrast: a
 * repository that stores a record for any id has no unknown users.
 */
import { describe, expect, it } from 'vitest';
import { createProfilePictures, memoryStorage, memoryUserRepository } from '../../src/index.js';
import { BACKEND_MATRIX } from '../helpers/backends.js';
import { describeUnknownUser } from './unknown-user-suite.js';

for (const [name, createBackends] of BACKEND_MATRIX.filter(([name]) => name.includes('sqlite'))) {
  describeUnknownUser(name, () => createBackends(['u1']));
}

describe('a repository that stores a record for any id (memory)', () => {
  it('locks a user it has never seen: a tombstone holds the lock, and unlocking clears it', async () => {
    const users = memoryUserRepository();
    const pictures = createProfilePictures({ storage: memoryStorage(), users });
    expect(await pictures.lock('ghost', 'Impersonation')).toBe(true);
    expect(await pictures.get('ghost')).toBeNull();
    expect((await users.getPicture('ghost'))?.lock?.reason).toBe('Impersonation');
    expect(await pictures.unlock('ghost')).toBe(true);
    expect(await users.getPicture('ghost')).toBeNull();
  });
});
