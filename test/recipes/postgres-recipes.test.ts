/**
 * The README's PostgreSQL recipes, run as written: `postgres-setup.ts`, `kysely-db.ts` and `kysely-migration.ts` are
 * README code blocks (checked below), imported here against this file's database on the run's PostgreSQL server.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleRecord } from 'profile-picture/testing';
import { postgresSchemaSql } from '../../src/users/postgres.js';
import { solidJpeg } from '../helpers/images.js';
import { useTestDatabase } from '../helpers/postgres.js';
import { down, up } from './kysely-migration.js';

const database = useTestDatabase();
let setup: typeof import('./postgres-setup.js');
let recipe: typeof import('./kysely-db.js');
let media: string;

/** Imports a recipe module with `env` set while it loads (the recipes read DATABASE_URL and MEDIA_ROOT). */
async function importWithEnv<T>(load: () => Promise<T>, env: Record<string, string>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await load();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

beforeAll(async () => {
  media = await mkdtemp(path.join(tmpdir(), 'pp-kysely-'));
  setup = await importWithEnv(() => import('./postgres-setup.js'), { DATABASE_URL: database.url });
  recipe = await importWithEnv(() => import('./kysely-db.js'), { DATABASE_URL: database.url, MEDIA_ROOT: media });
  // The app's earlier migration, then the recipe's.
  await recipe.db.schema
    .createTable('users')
    .addColumn('id', 'serial', (column) => column.primaryKey())
    .addColumn('name', 'text', (column) => column.notNull())
    .execute();
  await up(recipe.db);
});

afterAll(async () => {
  await setup?.pool.end();
  await recipe?.db.destroy(); // ends the pool the repository shares
  await rm(media, { recursive: true, force: true });
});

describe('README recipe: a dedicated table created on start', () => {
  it('migrated on import, and stores records', async () => {
    const { users, pictures } = setup;
    expect(await pictures.get('42')).toBeNull();
    expect(await users.setPicture('42', sampleRecord('s1'), null)).toBe(true);
    expect(await pictures.get('42')).toEqual(sampleRecord('s1'));
    await users.migrate(); // again, as the next start would
  });
});

async function addUser(name: string): Promise<number> {
  const { id } = await recipe.db.insertInto('users').values({ name }).returning('id').executeTakeFirstOrThrow();
  return id;
}

describe('README recipe: Kysely on the same pool', () => {
  it('uploads through the shared pool; Kysely reads the record with the row', async () => {
    const { db, pictures, members } = recipe;
    const ada = await addUser('Ada');
    const grace = await addUser('Grace');
    const record = await pictures.upload(String(ada), await solidJpeg([30, 90, 200]));
    expect(await stat(path.join(media, record.variants.sm!.key))).toMatchObject({ size: record.variants.sm!.bytes });
    const row = await db.selectFrom('users').select('profile_picture').where('id', '=', ada).executeTakeFirstOrThrow();
    expect(row.profile_picture).toEqual(record);
    expect(await members()).toEqual([
      { id: ada, name: 'Ada', avatar: pictures.url(record, 'sm') },
      { id: grace, name: 'Grace', avatar: null },
    ]);
  });

  it('replaces, sweeps and removes with integer ids; concurrent uploads leave one picture', async () => {
    const { pictures, members } = recipe;
    const id = String(await addUser('Linus'));
    const images = await Promise.all([solidJpeg([200, 30, 30]), solidJpeg([30, 200, 30]), solidJpeg([200, 200, 30])]);
    const results = await Promise.allSettled(images.map((image) => pictures.upload(id, image)));
    const current = await pictures.get(id);
    expect(results.filter((result) => result.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect(results.map((result) => result.status === 'fulfilled' && result.value)).toContainEqual(current);
    // Only the current picture's files remain once the grace period is over.
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ deleted: 0 });
    expect(await pictures.remove(id)).toBe(true);
    expect((await members()).find((member) => String(member.id) === id)?.avatar).toBeNull();
  });

  it('lets Kysely refuse writes to the column (they must go through the compare-and-set)', () => {
    // @ts-expect-error profile_picture is ColumnType<…, never, never>: not updatable with Kysely
    const query = recipe.db.updateTable('users').set({ profile_picture: null });
    expect(query.compile().sql).toContain('update "users"');
  });

  it('migrates down and up again', async () => {
    await down(recipe.db);
    await up(recipe.db);
  });

  it('is the code the README shows, next to the schema migrate() applies', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const file of ['postgres-setup.ts', 'kysely-db.ts', 'kysely-migration.ts']) {
      const source = await readFile(new URL(file, import.meta.url), 'utf8');
      expect(readme.includes('```ts\n' + source + '```\n'), `README shows test/recipes/${file} verbatim`).toBe(true);
    }
    expect(readme.includes('```sql\n' + postgresSchemaSql() + '```\n'), 'README shows postgresSchemaSql()').toBe(true);
  });
});
