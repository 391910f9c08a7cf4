/**
 * `profile-picture/testing`: the conformance suites our own storages and repositories pass, for yours. Each
 * `describe…()` registers vitest tests (vitest is an optional peer dependency, imported only by this entry), so call
 * it from a test file. ES modules only, like vitest itself. Re-exports only.
 *
 * @example
 * ```ts
 * // my-storage.test.ts
 * import { describeStorageAdapter } from 'profile-picture/testing';
 * import { myStorage } from './my-storage.js';
 *
 * describeStorageAdapter('my storage', { create: () => myStorage(), capabilities: { url: true } });
 * ```
 */
export { describeStorageAdapter, UNSAFE_KEYS, pattern, readBody, listKeys } from './storage-suite.js';
export type { StorageSuiteOptions, StorageProbe, StorageCapabilities, StorageSuiteContext } from './storage-suite.js';
export { describeUserRepository, sampleRecord, SUITE_USER_IDS, LISTING_USER_IDS } from './user-repository-suite.js';
export type { UserRepositorySuiteOptions, UserRepositoryProbe } from './user-repository-suite.js';
