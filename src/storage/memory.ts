import { Readable } from 'node:stream';
import { assertSafeKey, isSafePrefix } from '../keys.js';
import { etagOf } from './etag.js';
import type { ObjectInfo, PutMeta, StorageAdapter, StoredObject } from './types.js';
import { markProcessLocal } from '../process-local.js';

interface Entry {
  bytes: Uint8Array;
  contentType: string;
  etag: string;
  lastModified: Date;
}

/**
 * Keeps objects in process memory. For tests, demos and single-process apps that do not need persistence.
 *
 * @example
 * ```ts
 * const pictures = createProfilePictures({ storage: memoryStorage(), users: memoryUserRepository() });
 * ```
 */
export function memoryStorage(): StorageAdapter {
  const objects = new Map<string, Entry>();
  return markProcessLocal({
    name: 'memory',
    async put(key: string, body: Uint8Array, meta: PutMeta): Promise<void> {
      assertSafeKey(key);
      // Copy so later mutation of the caller's buffer cannot change what is stored.
      const bytes = new Uint8Array(body);
      objects.set(key, { bytes, contentType: meta.contentType, etag: etagOf(bytes), lastModified: new Date() });
    },
    async get(key: string): Promise<StoredObject | null> {
      assertSafeKey(key);
      const entry = objects.get(key);
      if (!entry) return null;
      return {
        body: Readable.from([Buffer.from(entry.bytes)]),
        size: entry.bytes.byteLength,
        contentType: entry.contentType,
        etag: entry.etag,
        lastModified: entry.lastModified,
      };
    },
    async delete(key: string): Promise<void> {
      assertSafeKey(key);
      objects.delete(key);
    },
    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      if (!isSafePrefix(prefix)) throw new TypeError(`[profile-picture] Unsafe storage prefix: ${JSON.stringify(prefix)}`);
      for (const [key, entry] of [...objects]) {
        if (key.startsWith(prefix)) yield { key, size: entry.bytes.byteLength, lastModified: entry.lastModified };
      }
    },
    async dispose(): Promise<void> {
      objects.clear();
    },
  });
}
