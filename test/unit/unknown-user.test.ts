/**
 * A user the repository has no row for, with the example app's SQLite repository on memory and disk storage
 * (scenarios: unknown-user-suite.ts; PostgreSQL with `column`: unknown-user-postgres.test.ts). And the contrast: a
 * repository that stores a record for any id has no unknown users.
 */
import { describe, expect, it } from 'vitest';
import { createRequestHandler } from '../../adapters/web/index.js';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  ProfilePictureError,
  toErrorBody,
  unknownUserError,
  type UserRepository,
} from '../../src/index.js';
import { listKeys, rejectionOf } from '../fixtures/service.js';
import { solidJpeg } from '../helpers/images.js';
import { usersTable } from '../helpers/users-table.js';
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

describe("the repository's words stay out of what a client sees", () => {
  const SECRET = 'no row in internal_accounts_v2 (replica db-7.internal) for id 42';

  it('unknownUserError(userId, message) keeps the message as its cause, not its message', () => {
    const error = unknownUserError('42', SECRET);
    expect(error.message).toBe('There is no user with the id "42".');
    expect((error.cause as Error).message).toBe(SECRET);
    expect(JSON.stringify(toErrorBody(error))).not.toContain('internal_accounts_v2');
  });

  it('thrown from getPicture (which the service passes on as it is): the 404 JSON body of a remove never holds it', async () => {
    const users: UserRepository = { ...memoryUserRepository(), getPicture: async (userId) => Promise.reject(unknownUserError(userId, SECRET)) };
    const handle = createRequestHandler(createProfilePictures({ storage: memoryStorage(), users }), { getUser: () => ({ id: '42' }) });
    const response = (await handle(
      new Request('http://app.test/remove-profile-picture', { method: 'POST', headers: { accept: 'application/json' } }),
    ))!;
    const body = await response.text();
    expect(response.status).toBe(404);
    expect(JSON.parse(body)).toEqual({
      error: { code: 'NOT_FOUND', message: 'There is no user with the id "42".', details: { reason: 'no-such-user', userId: '42' } },
    });
    expect(body).not.toContain('internal_accounts_v2');
  });

  it("a hand-made NOT_FOUND from setPicture adds nothing to the service's error: its message and details are the service's", async () => {
    const table = usersTable(['u1']);
    const users: UserRepository = {
      ...table.users,
      setPicture: async (userId) => {
        throw new ProfilePictureError('NOT_FOUND', SECRET, { details: { reason: 'no-such-user', userId, table: 'internal_accounts_v2' } });
      },
    };
    const pictures = createProfilePictures({ storage: memoryStorage(), users });
    const error = await rejectionOf(pictures.upload('u1', await solidJpeg([200, 30, 30])));
    expect(toErrorBody(error)).toEqual({
      error: { code: 'NOT_FOUND', message: 'There is no user with the id "u1".', details: { reason: 'no-such-user', userId: 'u1' } },
    });
  });
});

describe('a row deleted between the read and the write (the app deleting the account meanwhile)', () => {
  it('remove(), unlock() and restore() fail with NOT_FOUND no-such-user, deleting no object', async () => {
    const table = usersTable(['u1']);
    const storage = memoryStorage();
    const pictures = createProfilePictures({ storage, users: table.users, history: { keep: 2 } });
    const first = await pictures.upload('u1', await solidJpeg([200, 30, 30]));
    await pictures.upload('u1', await solidJpeg([30, 30, 200]));
    await pictures.flush();
    const keys = await listKeys(storage);
    const vanishing = () => table.beforeNextWrite(() => table.deleteRow('u1'));
    const operations = {
      restore: () => (vanishing(), pictures.restore('u1', first.version)),
      remove: () => (vanishing(), pictures.remove('u1')),
      unlock: async () => {
        expect(await pictures.lock('u1', 'Impersonation')).toBe(true);
        vanishing();
        return pictures.unlock('u1');
      },
    };
    for (const [name, operation] of Object.entries(operations)) {
      const error = await rejectionOf(operation());
      expect(error.message, name).toBe('There is no user with the id "u1".');
      expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, details: { reason: 'no-such-user', userId: 'u1' } });
      await pictures.flush();
      expect(await listKeys(storage)).toEqual(keys); // left for sweep(): nothing of a record is deleted before its write
      table.restoreRow('u1');
    }
  });
});
