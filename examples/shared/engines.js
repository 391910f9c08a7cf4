// @ts-check
/**
 * Where the example keeps its data, chosen from the environment. With nothing set it needs no other service: users,
 * sessions and picture records in SQLite (`DATA_DIR/app.db`), pictures on local disk (`MEDIA_DIR`).
 * `DATABASE_URL` moves users, sessions and records to PostgreSQL; `S3_BUCKET` moves pictures to an S3-compatible
 * bucket. `pg` and `@aws-sdk/client-s3` are imported only then, so the default run never needs them.
 */
import { join } from 'node:path';
import { diskStorage } from 'profile-picture';
import { openDatabase, sqliteDatabase } from './database.js';
import { sqliteUserRepository } from './sqlite-users.js';

/**
 * @typedef {object} S3Settings
 * @property {string} bucket `S3_BUCKET`
 * @property {string | undefined} endpoint `S3_ENDPOINT`: R2, MinIO, Ceph, …; unset for AWS
 * @property {string | undefined} region `S3_REGION`; unset: the SDK's own (`AWS_REGION`), or `us-east-1` with an endpoint
 * @property {{ accessKeyId: string, secretAccessKey: string } | undefined} credentials `S3_ACCESS_KEY_ID` and
 *   `S3_SECRET_ACCESS_KEY`; unset: the SDK's default chain (`AWS_*` variables, profile, instance role)
 * @property {string | undefined} publicBaseUrl `S3_PUBLIC_BASE_URL`: pictures link there (a CDN or a public bucket)
 * @property {boolean} signedUrls `S3_SIGNED_URLS=1`: a private bucket; the media route redirects to presigned URLs
 */

/**
 * @typedef {object} EngineSettings
 * @property {string | undefined} databaseUrl `DATABASE_URL`: PostgreSQL instead of SQLite
 * @property {S3Settings | undefined} s3 set when `S3_BUCKET` is: S3 instead of local disk
 */

/**
 * @typedef {object} Engines
 * @property {import('./database.js').AppDatabase} database users, sessions and settings
 * @property {import('profile-picture').UserRepository} users the picture records (a column of `users`)
 * @property {import('profile-picture').StorageAdapter} storage the pictures
 * @property {string} description for the start-up line, e.g. `storage: disk (…), records: sqlite (…)`
 * @property {() => Promise<void>} close
 */

/** The variables that only mean something with `S3_BUCKET`. */
const S3_VARIABLES = [
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_PUBLIC_BASE_URL',
  'S3_SIGNED_URLS',
];

/**
 * Reads and checks the engine variables.
 * @param {NodeJS.ProcessEnv} env
 * @returns {EngineSettings}
 * @throws Error naming the variable and what it expects.
 */
export function enginesFromEnv(env) {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:$/.test(urlOf(databaseUrl)?.protocol ?? '')) {
    // The URL may hold a password: never repeat it.
    throw new Error('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const bucket = env.S3_BUCKET || undefined;
  if (!bucket) {
    const stray = S3_VARIABLES.filter((name) => env[name]);
    if (stray.length > 0) {
      const are = stray.length > 1 ? 'are' : 'is';
      throw new Error(`${stray.join(', ')} ${are} set but S3_BUCKET is not: set S3_BUCKET to keep pictures in S3, ` +
        'or unset the S3_* variables to keep them on disk');
    }
    return { databaseUrl, s3: undefined };
  }
  const endpoint = env.S3_ENDPOINT || undefined;
  if (endpoint) httpUrl('S3_ENDPOINT', endpoint);
  const publicBaseUrl = env.S3_PUBLIC_BASE_URL || undefined;
  if (publicBaseUrl && !httpUrl('S3_PUBLIC_BASE_URL', publicBaseUrl).endsWith('/')) {
    throw new Error(`S3_PUBLIC_BASE_URL must end in "/" (the bucket's root), got "${publicBaseUrl}"`);
  }
  if (!['', '0', '1'].includes(env.S3_SIGNED_URLS ?? '')) {
    throw new Error(`S3_SIGNED_URLS must be 1 (presigned URLs) or 0, got "${env.S3_SIGNED_URLS}"`);
  }
  const signedUrls = env.S3_SIGNED_URLS === '1';
  if (signedUrls && publicBaseUrl) {
    throw new Error('S3_SIGNED_URLS=1 and S3_PUBLIC_BASE_URL exclude each other: a private bucket behind presigned ' +
      'URLs, or a public prefix (CDN)');
  }
  const accessKeyId = env.S3_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY || undefined;
  if (!accessKeyId !== !secretAccessKey) {
    throw new Error('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both, or neither to use the AWS ' +
      "SDK's default credentials (AWS_* variables, profile, instance role)");
  }
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
  const region = env.S3_REGION || (endpoint ? 'us-east-1' : undefined);
  return { databaseUrl, s3: { bucket, endpoint, region, credentials, publicBaseUrl, signedUrls } };
}

/**
 * Opens the database and the storage the settings name.
 * @param {EngineSettings & { dataDir: string, mediaDir: string }} settings
 * @returns {Promise<Engines>}
 * @throws Error saying which engine could not be reached.
 */
export async function openEngines({ databaseUrl, s3, dataDir, mediaDir }) {
  const records = databaseUrl ? await openPostgresRecords(databaseUrl) : openSqliteRecords(join(dataDir, 'app.db'));
  const media = await (s3 ? openS3Storage(s3) : openDiskStorage(mediaDir)).catch(async (err) => {
    await records.database.close();
    throw err;
  });
  return {
    database: records.database,
    users: records.users,
    storage: media.storage,
    description: `storage: ${media.description}, records: ${records.description}`,
    async close() {
      await media.close();
      await records.database.close();
    },
  };
}

/** @param {string} file */
function openSqliteRecords(file) {
  const db = openDatabase(file);
  const description = `sqlite (users.picture in ${file})`;
  return { database: sqliteDatabase(db), users: sqliteUserRepository(db), description };
}

/** @param {string} url */
async function openPostgresRecords(url) {
  const { openPostgres } = await import('./postgres-database.js');
  const { postgresUserRepository } = await import('profile-picture/postgres');
  const { pool, database } = await openPostgres(url);
  // The record is a jsonb column of the app's own users table, created by the app's schema (postgres-database.js).
  const users = postgresUserRepository({ pool, table: 'users', column: 'picture' });
  const { host, pathname } = /** @type {URL} */ (urlOf(url));
  return { database, users, description: `postgres (users.picture on ${host}${pathname})` };
}

/** @param {string} root */
async function openDiskStorage(root) {
  return { storage: diskStorage({ root }), description: `disk (${root})`, close: async () => {} };
}

/** @param {S3Settings} s3 */
async function openS3Storage({ bucket, endpoint, region, credentials, publicBaseUrl, signedUrls }) {
  const { HeadBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const { s3Storage } = await import('profile-picture/s3');
  const client = new S3Client({
    region,
    credentials,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
    // S3-compatible servers: path-style URLs, and no CRC32 checksum headers, which some of them reject (R2).
    ...(endpoint
      ? { endpoint, forcePathStyle: true, requestChecksumCalculation: /** @type {const} */ ('WHEN_REQUIRED') }
      : {}),
  });
  const where = `bucket ${bucket} ${endpoint ? `at ${endpoint}` : `on AWS${region ? ` (${region})` : ''}`}`;
  try {
    // Fail at start, not at the first upload, when the bucket or the credentials are wrong.
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    client.destroy();
    const { name, message, $metadata } = /** @type {Error & { $metadata?: { httpStatusCode?: number } }} */ (err);
    const why = `${name}${message && message !== name ? `: ${message}` : ''}`;
    const status = $metadata?.httpStatusCode ? ` (HTTP ${$metadata.httpStatusCode})` : '';
    throw new Error(`S3 ${where} is not reachable: ${why}${status}`, { cause: err });
  }
  const storage = s3Storage({
    client,
    bucket,
    ...(publicBaseUrl ? { publicBaseUrl } : {}),
    ...(signedUrls ? { signedUrls: { expiresIn: 3600 } } : {}),
  });
  const serving = publicBaseUrl ? `, public at ${publicBaseUrl}` : signedUrls ? ', presigned URLs' : '';
  return { storage, description: `s3 (${where}${serving})`, close: async () => client.destroy() };
}

/** @param {string} name @param {string} value @returns {string} */
function httpUrl(name, value) {
  if (!/^https?:$/.test(urlOf(value)?.protocol ?? '')) {
    throw new Error(`${name} must be an http:// or https:// URL, got "${value}"`);
  }
  return value;
}

/** @param {string} value */
function urlOf(value) {
  return URL.canParse(value) ? new URL(value) : undefined;
}
