/**
 * Two app processes sharing one S3 bucket (s3Storage) and one PostgreSQL database (postgresUserRepository): the
 * multi-instance suite on the engines apps deploy. s3rver always; the S3 server in `S3_ENDPOINT` (Ceph RADOS Gateway
 * in CI) as well when it is set. PostgreSQL is the test run's server (`*postgres*.test.ts`, see vitest.config.ts).
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { StorageAdapter } from '../../src/index.js';
import { s3Storage } from '../../src/storage/s3.js';
import { postgresUserRepository } from '../../src/users/postgres.js';
import { useTestDatabase } from '../helpers/postgres.js';
import type { AppStorageConfig } from '../processes/app-process.js';
import { startS3rver } from '../processes/s3rver.js';
import { describeInstances, type SharedBackend } from './instances-suite.js';

const db = useTestDatabase();

/** An S3 endpoint: where it is, its credentials, and how to stop it (nothing to stop for an external one). */
interface Endpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop?(): Promise<void>;
}

describeInstances('one s3rver bucket and one PostgreSQL database', async () => shared(await startS3rver([])));

const external = process.env.S3_ENDPOINT;
describeInstances(
  `one bucket on ${external ?? 'S3_ENDPOINT (unset)'} and one PostgreSQL database`,
  async () =>
    shared({
      endpoint: external!,
      region: process.env.S3_REGION || 'us-east-1',
      credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? '' },
    }),
  { skip: external ? undefined : 'S3_ENDPOINT is not set' },
);

/** A fresh bucket on `endpoint`, one table in this file's database (per suite), and views of both. */
async function shared(endpoint: Endpoint): Promise<SharedBackend> {
  const bucket = `pp-instances-${randomBytes(4).toString('hex')}`;
  const clientConfig = { endpoint: endpoint.endpoint, region: endpoint.region, credentials: endpoint.credentials, forcePathStyle: true };
  const client = new S3Client(clientConfig);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const storageConfig: AppStorageConfig = { kind: 's3', ...clientConfig, bucket };
  const view: StorageAdapter = s3Storage({ client, bucket });
  const table = `pictures_${randomBytes(4).toString('hex')}`;
  const pool = db.pool();
  const users = postgresUserRepository({ pool, table });
  return {
    storage: storageConfig,
    users: { kind: 'postgres', url: db.url, table },
    prepare: () => users.migrate(),
    recordOf: (userId) => users.getPicture(userId),
    async storedKeys() {
      const keys: string[] = [];
      for await (const object of view.list('')) keys.push(object.key);
      return keys.sort();
    },
    async exists(key) {
      const object = await view.get(key);
      object?.body.destroy();
      return object !== null;
    },
    async close() {
      client.destroy();
      await endpoint.stop?.();
    },
  };
}
