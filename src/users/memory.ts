import type { PictureRecord, UserRepository } from './types.js';
import { markProcessLocal } from '../process-local.js';

/**
 * Keeps picture records in process memory, with a real compare-and-set. For tests, demos and prototypes.
 *
 * @example
 * ```ts
 * const users = memoryUserRepository();
 * const pictures = createProfilePictures({ storage: memoryStorage(), users });
 * ```
 */
export function memoryUserRepository(): UserRepository {
  const records = new Map<string, string>();
  // Records are stored serialised: callers can never mutate what the repository holds.
  const read = (userId: string): PictureRecord | null => {
    const json = records.get(userId);
    return json === undefined ? null : (JSON.parse(json) as PictureRecord);
  };
  return markProcessLocal({
    async getPicture(userId: string): Promise<PictureRecord | null> {
      return read(userId);
    },
    async setPicture(userId: string, next: PictureRecord | null, expected: string | null): Promise<boolean> {
      if ((read(userId)?.version ?? null) !== expected) return false;
      if (next === null) records.delete(userId);
      else records.set(userId, JSON.stringify(next));
      return true;
    },
    async *listPictures(): AsyncIterable<{ userId: string; record: PictureRecord }> {
      for (const userId of [...records.keys()]) {
        const record = read(userId);
        if (record) yield { userId, record };
      }
    },
  });
}
