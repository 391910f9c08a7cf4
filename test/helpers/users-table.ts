/**
 * A repository that keeps records on the app's own user rows, in memory: only ids with a row have a record, and a
 * write for an id without one throws `unknownUserError()` — as the example's SQLite repository and
 * `postgresUserRepository({ column })` do. `beforeNextWrite` runs a step (say, deleting the row) inside the next
 * `setPicture`, after the service read the record: the window where a row vanishes mid-operation.
 */
import { memoryUserRepository, unknownUserError, type UserRepository } from '../../src/index.js';

export function usersTable(ids: readonly string[]) {
  const rows = new Set(ids);
  const records = memoryUserRepository();
  let pending: (() => void) | undefined;
  const users: UserRepository = {
    getPicture: async (userId) => (rows.has(userId) ? records.getPicture(userId) : null),
    async setPicture(userId, next, expected) {
      const step = pending;
      pending = undefined;
      step?.();
      if (!rows.has(userId)) throw unknownUserError(userId);
      return records.setPicture(userId, next, expected);
    },
    async *listPictures() {
      for await (const entry of records.listPictures!()) if (rows.has(entry.userId)) yield entry;
    },
  };
  return {
    users,
    /** Deletes the user's row (and with it the record), as the app deleting an account does. */
    deleteRow: (userId: string) => void rows.delete(userId),
    /** Gives the row back, with the record it held (the records outlive a deleted row here, unlike in a database). */
    restoreRow: (userId: string) => void rows.add(userId),
    beforeNextWrite: (step: () => void) => void (pending = step),
  };
}
