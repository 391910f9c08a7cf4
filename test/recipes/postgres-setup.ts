// pictures.ts — records in their own table, created on start
import pg from 'pg';
import { createProfilePictures, diskStorage } from 'profile-picture';
import { postgresUserRepository } from 'profile-picture/postgres';

// statement_timeout: a compare-and-set that timed out in the app must not commit much later in the database.
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, statement_timeout: 10_000 });
export const users = postgresUserRepository({ pool });
await users.migrate(); // CREATE TABLE IF NOT EXISTS "profile_pictures" …: safe on every start of every instance

export const pictures = createProfilePictures({ storage: diskStorage({ root: './media' }), users });
