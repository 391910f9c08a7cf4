/**
 * History and restore on the backends a scaled-out deployment uses: S3 storage (s3rver, a real S3 server in a child
 * process) and the PostgreSQL repository (a table of its own per scenario, on this file's database); the same
 * scenarios as history.test.ts (history-suite.ts).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { s3Storage } from '../../src/storage/s3.js';
import { postgresUserRepository } from '../../src/users/postgres.js';
import { useTestDatabase } from '../helpers/postgres.js';
import { startS3rver, type S3rverProcess } from '../processes/s3rver.js';
import { describeHistory } from './history-suite.js';

const db = useTestDatabase();
const BUCKET = 'pp-history';
let s3: { server: S3rverProcess; client: S3Client } | undefined;
let scenarios = 0;

beforeAll(async () => {
  const server = await startS3rver([]);
  const client = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3 = { server, client };
}, 60_000);

afterAll(async () => {
  s3?.client.destroy();
  await s3?.server.stop();
});

describeHistory('s3 storage (s3rver) + postgres repository', async () => {
  const n = ++scenarios;
  const users = postgresUserRepository({ pool: db.pool(), table: `history_pictures_${n}` });
  await users.migrate();
  // A key prefix per scenario: each sees an empty bucket of its own.
  return { storage: s3Storage({ client: s3!.client, bucket: BUCKET, keyPrefix: `h${n}` }), users };
});
