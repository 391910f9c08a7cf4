/**
 * The storage × repository matrix the lifecycle suites (regenerate, history, lock and limits) run on: memory and
 * disk storage × the memory repository and the example app's SQLite repository. PostgreSQL runs in files of its own
 * (`*postgres*`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../examples/shared/database.js';
import { sqliteUserRepository } from '../../examples/shared/sqlite-users.js';
import { diskStorage, memoryStorage, memoryUserRepository, type StorageAdapter, type UserRepository } from '../../src/index.js';

/** A fresh storage and repository (the repository knows `userIds`), and a way to release them. */
export interface Backends {
  storage: StorageAdapter;
  users: UserRepository;
  dispose?(): Promise<void>;
}

export type CreateBackends = (userIds: readonly string[]) => Promise<Backends>;

type Storage = { storage: StorageAdapter; dispose(): Promise<void> };
type Users = { users: UserRepository; dispose(): Promise<void> };

const storages: Record<string, () => Promise<Storage>> = {
  memory: async () => ({ storage: memoryStorage(), dispose: async () => {} }),
  disk: async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pp-backends-'));
    return { storage: diskStorage({ root }), dispose: () => rm(root, { recursive: true, force: true }) };
  },
};

const repositories: Record<string, (userIds: readonly string[]) => Promise<Users>> = {
  memory: async () => ({ users: memoryUserRepository(), dispose: async () => {} }),
  sqlite: async (userIds) => {
    const db = openDatabase(':memory:');
    const insert = db.prepare("INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'unused', ?, ?)");
    const now = new Date().toISOString();
    for (const id of userIds) insert.run(id, `user ${id}`, now, now);
    return { users: sqliteUserRepository(db), dispose: async () => void db.close() };
  },
};

/** `[name, createBackends]` for each storage × repository pair, e.g. `'disk storage + sqlite repository'`. */
export const BACKEND_MATRIX: ReadonlyArray<readonly [string, CreateBackends]> = Object.entries(storages).flatMap(
  ([storageName, createStorage]) =>
    Object.entries(repositories).map(([usersName, createUsers]) => {
      const create: CreateBackends = async (userIds) => {
        const [storage, users] = await Promise.all([createStorage(), createUsers(userIds)]);
        return {
          storage: storage.storage,
          users: users.users,
          dispose: async () => {
            await users.dispose();
            await storage.dispose();
          },
        };
      };
      return [`${storageName} storage + ${usersName} repository`, create] as const;
    }),
);
