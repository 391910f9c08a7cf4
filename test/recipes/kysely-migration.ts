// migrations/0002_profile_picture.ts — with Kysely's Migrator, instead of calling users.migrate()
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('profile_picture', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('profile_picture').execute();
}
