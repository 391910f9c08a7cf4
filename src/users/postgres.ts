/**
 * `profile-picture/postgres`: a {@link UserRepository} on PostgreSQL through the app's own node-postgres `Pool`.
 *
 * Two ways to keep the record, both one `jsonb` value per user:
 * - a dedicated table (the default, `profile_pictures`), created by {@link PostgresUserRepository.migrate} or by the
 *   SQL of {@link postgresSchemaSql};
 * - a column on the app's own users table (`{ table: 'users', column: 'profile_picture' }`), where the user's row
 *   must already exist.
 *
 * Every `setPicture` is one statement whose `WHERE` compares the stored `version` with `expected`, so the
 * compare-and-set holds across connections and app processes without locks held between statements; its row count
 * (or a `RETURNING` row) says whether it wrote. Identifiers are validated and double-quoted; values only ever travel
 * as query parameters. Database errors are not caught here (the service wraps them in `STORAGE_FAILED`), save a
 * compare-and-set's `serialization_failure`: it wrote nothing, so it is a lost race (see `lostToConcurrentWrite`).
 *
 * This module never imports `pg`: it only calls `query()` on the pool it is given.
 */
import { unknownUserError } from '../unknown-user.js';
import { invalidOption, isPlainObject, positiveInteger } from '../validate.js';
import type { PictureRecord, UserRepository } from './types.js';

/**
 * What the repository needs of a pool: node-postgres's `query(text, values)`. A `pg.Pool` (the intended argument),
 * a `pg.Client` or a pool client all fit, as does any pool with the same method (e.g. `@neondatabase/serverless`).
 * Not a client inside a transaction of the app's: each call is meant to be its own transaction, so a lost
 * compare-and-set under SERIALIZABLE (`40001`) can be retried — inside the app's transaction it would abort that.
 */
export interface PostgresPool {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Options of {@link postgresUserRepository}. */
export interface PostgresUserRepositoryOptions {
  /**
   * The app's pool. The repository never opens, ends or holds a connection of its own: each method is one
   * `pool.query()` (`migrate()` two at most), and ending the pool stays the app's job.
   */
  pool: PostgresPool;
  /**
   * The table, optionally schema-qualified (`'app.users'`). Names are used as written, as if double-quoted: SQL
   * folds unquoted names to lower case, so a table created as `CREATE TABLE Users` is `'users'` here.
   * Required when `column` is set (it names your users table).
   * @default 'profile_pictures' (the dedicated table)
   */
  table?: string;
  /**
   * Store the record in this `jsonb` (or `json`) column of an existing table — your users table — instead of in a
   * dedicated table. Each user's row must exist before their first upload: `setPicture` for a missing row throws
   * `unknownUserError()` (the service answers `NOT_FOUND`, 404, `details.reason: 'no-such-user'`) rather than
   * resolving `false`, which the service would retry and report as `CONFLICT`. Clearing a picture sets the column to
   * `NULL`; the row stays.
   * @default undefined (a dedicated table)
   */
  column?: string;
  /**
   * The primary-key column of `table` when `column` is set. Its type may be `text`, `varchar`, `uuid`, `integer`,
   * `bigint` or any type PostgreSQL can read from the user id's text: user ids are passed as strings and cast by the
   * server (`'42'` → `42`), and `listPictures()` yields them as text. An id that is not valid for the type (e.g.
   * `'alice'` for an `integer` column) is a database error.
   * @default 'id'
   */
  idColumn?: string;
  /**
   * Rows per query while `listPictures()` walks the table (keyset pages in id order, so no query loads every row
   * and no connection is held between pages).
   * @default 500
   */
  pageSize?: number;
}

/** A {@link UserRepository} on PostgreSQL, with the schema helper and the listing always present. */
export interface PostgresUserRepository extends UserRepository {
  readonly name: 'postgres';
  listPictures(): AsyncIterable<{ userId: string; record: PictureRecord }>;
  /**
   * Creates what the repository needs when it is missing, and nothing else: the dedicated table
   * (`CREATE TABLE IF NOT EXISTS`, see {@link postgresSchemaSql}), or, with `column`, that column on your table
   * (`ALTER TABLE … ADD COLUMN IF NOT EXISTS … jsonb`). Safe to run on every start, from several instances at once:
   * it first looks the table or column up in the catalog (no lock, no DDL privilege needed when it exists), and
   * otherwise creates it under a transaction-scoped advisory lock, because concurrent `CREATE TABLE IF NOT EXISTS`
   * statements can still fail with a unique violation on `pg_type`.
   * @throws the database error, e.g. when the users table (with `column`) or the schema does not exist.
   */
  migrate(): Promise<void>;
}

/** The repository's defaults. */
export const POSTGRES_DEFAULTS = Object.freeze({ table: 'profile_pictures', idColumn: 'id', pageSize: 500 });

/**
 * The SQL that {@link PostgresUserRepository.migrate} applies for these options, for apps that run their own
 * migrations. With the defaults:
 *
 * ```sql
 * CREATE TABLE IF NOT EXISTS "profile_pictures" (
 *   "user_id" text PRIMARY KEY,
 *   "picture" jsonb NOT NULL,
 *   "updated_at" timestamptz NOT NULL DEFAULT now()
 * );
 * ```
 *
 * With `{ table: 'users', column: 'profile_picture' }`:
 * `ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "profile_picture" jsonb;`
 *
 * @example
 * ```ts
 * import { postgresSchemaSql } from 'profile-picture/postgres';
 * await writeFile('migrations/0007_profile_pictures.sql', postgresSchemaSql());
 * ```
 * @throws TypeError for an invalid `table`, `column` or `idColumn`, as {@link postgresUserRepository} does.
 */
export function postgresSchemaSql(options: Omit<PostgresUserRepositoryOptions, 'pool'> = {}): string {
  return schemaSql(resolveNames(options));
}

/**
 * A {@link UserRepository} on PostgreSQL (node-postgres `pg` 8, an optional peer dependency), on the app's pool.
 *
 * Compare-and-set is one statement per call; `listPictures()` walks the table in keyset pages. User ids are opaque
 * strings; in the dedicated table they are `text`.
 *
 * @example Dedicated table
 * ```ts
 * import pg from 'pg';
 * import { postgresUserRepository } from 'profile-picture/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const users = postgresUserRepository({ pool });
 * await users.migrate(); // CREATE TABLE IF NOT EXISTS "profile_pictures" …, safe on every start
 * const pictures = createProfilePictures({ storage, users });
 * ```
 * @example A column on your users table
 * ```ts
 * // ALTER TABLE users ADD COLUMN profile_picture jsonb;
 * const users = postgresUserRepository({ pool, table: 'users', idColumn: 'id', column: 'profile_picture' });
 * ```
 * @throws TypeError when `pool` has no `query()` method, or `table`, `column` or `idColumn` is not a valid
 *   identifier (empty, longer than 63 bytes, containing NUL, or more than one `.` in `table`), or `idColumn` is
 *   given without `column`; RangeError when `pageSize` is not a positive integer.
 */
export function postgresUserRepository(options: PostgresUserRepositoryOptions): PostgresUserRepository {
  const pool = isPlainObject(options) ? options.pool : undefined;
  if (typeof (pool as Partial<PostgresPool> | undefined)?.query !== 'function') {
    throw invalidOption('pool', 'a pg Pool (an object with a query() method)', pool);
  }
  const pageSize = positiveInteger('pageSize', options.pageSize ?? POSTGRES_DEFAULTS.pageSize);
  const names = resolveNames(options);
  const sql = names.column === undefined ? dedicatedTableStatements(names) : usersTableStatements(names);
  const query = async (statement: Statement) => (pool as PostgresPool).query(statement.text, statement.values);

  return {
    name: 'postgres',

    async getPicture(userId) {
      const { rows } = await query({ text: sql.get, values: [userId] });
      return parseRecord((rows[0] as PictureRow | undefined)?.picture ?? null);
    },

    async setPicture(userId, next, expected) {
      const statement = sql.set(userId, next === null ? null : JSON.stringify(next), expected);
      let result: QueryResult;
      try {
        result = await query(statement);
      } catch (error) {
        if (lostToConcurrentWrite(error)) return false;
        throw error;
      }
      return statement.won(result);
    },

    async *listPictures() {
      let after: string | undefined;
      for (;;) {
        const { rows } = await query(
          after === undefined
            ? { text: sql.firstPage, values: [pageSize] }
            : { text: sql.nextPage, values: [after, pageSize] },
        );
        const page = rows as PictureRow[];
        for (const row of page) {
          const record = parseRecord(row.picture);
          if (record !== null) yield { userId: row.user_id, record };
        }
        if (page.length < pageSize) return;
        after = page[page.length - 1]!.user_id;
      }
    },

    async migrate() {
      if ((await query(sql.exists)).rowCount === 1) return;
      // A query without parameters uses the simple protocol, which runs all its statements in one implicit
      // transaction: the transaction-scoped lock covers the DDL without checking a client out of the pool.
      await query({ text: `SELECT pg_advisory_xact_lock(${MIGRATE_LOCK});\n${schemaSql(names)}`, values: [] });
    },
  };
}

// --- internal ---

/** Key of the advisory lock `migrate()` takes (a constant: migrations of any table serialise, which is harmless). */
const MIGRATE_LOCK = `hashtext('profile-picture: migrate')`;

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1): a longer name would silently name another object. */
const MAX_IDENTIFIER_BYTES = 63;

interface PictureRow {
  user_id: string;
  picture: string | null;
}

interface Statement {
  text: string;
  values: unknown[];
}

/** One `setPicture` call: its single statement and how to read whether it wrote. */
interface SetStatement extends Statement {
  won(result: QueryResult): boolean;
}

/**
 * The statements of one storage mode; each repository call runs exactly one of them. Outcomes are read from row
 * counts and text, never from booleans, so they hold whatever type parsers the app installed on its pool.
 */
interface Statements {
  get: string;
  set(userId: string, json: string | null, expected: string | null): SetStatement;
  firstPage: string;
  nextPage: string;
  /** One row when `migrate()` has nothing to do. */
  exists: Statement;
}

type QueryResult = Awaited<ReturnType<PostgresPool['query']>>;

/** Quoted identifiers (`"app"."users"`), plus the raw column name the catalog lookup takes as a value. */
interface Names {
  table: string;
  idColumn: string;
  column?: string;
  rawColumn?: string;
}

/** Records are read as text and parsed here, whatever type parsers the app installed on its pool. */
function parseRecord(text: string | null): PictureRecord | null {
  return text === null ? null : (JSON.parse(text) as PictureRecord | null);
}

/**
 * True for SQLSTATE 40001 (`serialization_failure`). Under REPEATABLE READ or SERIALIZABLE (a database's
 * `default_transaction_isolation`; CockroachDB always) a compare-and-set whose row another transaction changed
 * meanwhile fails with it rather than matching no row. The failed statement wrote nothing, so it is a lost
 * compare-and-set like any other: the service re-reads and retries, instead of failing the upload with
 * `STORAGE_FAILED` and keeping both pictures' objects as if the write's outcome were unknown.
 */
function lostToConcurrentWrite(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '40001';
}

function wroteOneRow(result: QueryResult): boolean {
  return result.rowCount === 1;
}

/**
 * The dedicated table: a row exists exactly while the user has a picture, so a missing row is "no picture". Three
 * statement shapes, each answering with its row count: claim (insert, or take over a row holding no version) when
 * nothing is expected, a versioned update, and a versioned delete.
 */
function dedicatedTableStatements({ table, idColumn }: Names): Statements {
  const version = `("picture" ->> 'version')`;
  const claim =
    `INSERT INTO ${table} AS existing (${idColumn}, "picture") VALUES ($1, $2::jsonb) ` +
    `ON CONFLICT (${idColumn}) DO UPDATE SET "picture" = excluded."picture", "updated_at" = now() ` +
    `WHERE (existing."picture" ->> 'version') IS NULL`;
  const replace =
    `UPDATE ${table} SET "picture" = $2::jsonb, "updated_at" = now() ` +
    `WHERE ${idColumn} = $1 AND ${version} = $3::text`;
  // Clearing with expected = null also wins when there is no row: the DELETE and NOT EXISTS read one snapshot.
  const clear =
    `WITH removed AS (DELETE FROM ${table} ` +
    `WHERE ${idColumn} = $1 AND ${version} IS NOT DISTINCT FROM $2::text RETURNING 1) ` +
    `SELECT 1 WHERE EXISTS (SELECT 1 FROM removed) OR ($2::text IS NULL AND NOT EXISTS ` +
    `(SELECT 1 FROM ${table} WHERE ${idColumn} = $1 AND ${version} IS NOT NULL))`;
  const select = `SELECT ${idColumn} AS "user_id", "picture"::text AS "picture" FROM ${table}`;
  return {
    get: `SELECT "picture"::text AS "picture" FROM ${table} WHERE ${idColumn} = $1`,
    set(userId, json, expected) {
      if (json === null) return { text: clear, values: [userId, expected], won: wroteOneRow };
      if (expected === null) return { text: claim, values: [userId, json], won: wroteOneRow };
      return { text: replace, values: [userId, json, expected], won: wroteOneRow };
    },
    firstPage: `${select} ORDER BY ${idColumn} LIMIT $1`,
    nextPage: `${select} WHERE ${idColumn} > $1 ORDER BY ${idColumn} LIMIT $2`,
    exists: { text: `SELECT 1 WHERE to_regclass($1) IS NOT NULL`, values: [table] },
  };
}

/**
 * A column on the app's users table: one UPDATE for every case (`$2` NULL clears). The same statement reports a
 * missing row, so an unknown user is `unknownUserError()` instead of a lost compare-and-set that the service would
 * retry.
 */
function usersTableStatements({ table, idColumn, column, rawColumn }: Names): Statements {
  const set =
    `WITH written AS (UPDATE ${table} SET ${column} = $2::jsonb ` +
    `WHERE ${idColumn} = $1 AND (${column} ->> 'version') IS NOT DISTINCT FROM $3::text RETURNING 'won'::text AS "outcome") ` +
    `SELECT "outcome" FROM written ` +
    `UNION ALL SELECT 'missing' WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE ${idColumn} = $1)`;
  // `::text` on the id: uuid, integer and bigint ids come back as the strings the library uses, and the cursor
  // goes back as a parameter the server casts to the column's type, so pages follow the column's own order.
  const select =
    `SELECT ${idColumn}::text AS "user_id", ${column}::text AS "picture" FROM ${table} WHERE ${column} IS NOT NULL`;
  return {
    get: `SELECT ${column}::text AS "picture" FROM ${table} WHERE ${idColumn} = $1`,
    set(userId, json, expected) {
      const won = ({ rows }: QueryResult): boolean => {
        const outcome = (rows[0] as { outcome: string } | undefined)?.outcome;
        if (outcome === 'missing') {
          throw unknownUserError(
            userId,
            `[profile-picture] postgresUserRepository: no row of ${table} has ${idColumn} = ${JSON.stringify(userId)}; ` +
              `create the user's row before storing their picture`,
          );
        }
        return outcome === 'won';
      };
      return { text: set, values: [userId, json, expected], won };
    },
    firstPage: `${select} ORDER BY ${idColumn} LIMIT $1`,
    nextPage: `${select} AND ${idColumn} > $1 ORDER BY ${idColumn} LIMIT $2`,
    exists: {
      text:
        `SELECT 1 FROM pg_attribute ` +
        `WHERE attrelid = $1::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped`,
      values: [table, rawColumn],
    },
  };
}

function schemaSql({ table, column }: Names): string {
  return column === undefined
    ? `CREATE TABLE IF NOT EXISTS ${table} (\n` +
        `  "user_id" text PRIMARY KEY,\n` +
        `  "picture" jsonb NOT NULL,\n` +
        `  "updated_at" timestamptz NOT NULL DEFAULT now()\n` +
        `);\n`
    : `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} jsonb;\n`;
}

function resolveNames(options: Omit<PostgresUserRepositoryOptions, 'pool'>): Names {
  const { table, column, idColumn } = options;
  if (column === undefined) {
    if (idColumn !== undefined) {
      throw invalidOption('idColumn', 'undefined unless `column` is set (the dedicated table has its own "user_id")', idColumn);
    }
    return { table: quoteTable(table ?? POSTGRES_DEFAULTS.table), idColumn: '"user_id"' };
  }
  if (table === undefined) throw invalidOption('table', "your users table's name (required with `column`)", table);
  return {
    table: quoteTable(table),
    idColumn: quoteIdentifier('idColumn', idColumn ?? POSTGRES_DEFAULTS.idColumn),
    column: quoteIdentifier('column', column),
    rawColumn: column,
  };
}

/** `'users'` → `"users"`, `'app.users'` → `"app"."users"`. */
function quoteTable(table: unknown): string {
  const parts = typeof table === 'string' ? table.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || parts.some((part) => !isIdentifier(part))) {
    throw invalidOption('table', 'a table name or "schema.table" (each part 1-63 bytes, no NUL)', table);
  }
  return parts.map((part) => `"${part.replaceAll('"', '""')}"`).join('.');
}

function quoteIdentifier(path: string, name: unknown): string {
  if (!isIdentifier(name)) throw invalidOption(path, 'a column name (1-63 bytes, no NUL)', name);
  return `"${name.replaceAll('"', '""')}"`;
}

function isIdentifier(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !name.includes('\0') &&
    Buffer.byteLength(name, 'utf8') <= MAX_IDENTIFIER_BYTES
  );
}
