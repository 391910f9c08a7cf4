// db.ts — Kysely and profile-picture on one pg Pool
import { Kysely, PostgresDialect, type ColumnType, type Generated } from 'kysely';
import pg from 'pg';
import { createProfilePictures, diskStorage, type PictureRecord } from 'profile-picture';
import { postgresUserRepository } from 'profile-picture/postgres';

export interface Database {
  users: {
    id: Generated<number>;
    name: string;
    // Read it with Kysely; write it only through `pictures` (compare-and-set). `never` makes Kysely refuse writes.
    profile_picture: ColumnType<PictureRecord | null, never, never>;
  };
}

// One pool: Kysely's queries and the picture repository share its connections and settings.
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
export const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

export const pictures = createProfilePictures({
  storage: diskStorage({ root: process.env.MEDIA_ROOT ?? './media' }),
  users: postgresUserRepository({ pool, table: 'users', idColumn: 'id', column: 'profile_picture' }),
});

// A page of members with their avatars: the record comes with the row, no second query.
export async function members() {
  const rows = await db.selectFrom('users').select(['id', 'name', 'profile_picture']).orderBy('id').execute();
  return rows.map(({ id, name, profile_picture: picture }) => ({
    id,
    name,
    avatar: picture ? pictures.url(picture, 'sm') : null,
  }));
}
