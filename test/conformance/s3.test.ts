/**
 * `s3Storage()` against real S3-protocol servers on 127.0.0.1 (never a mocked SDK):
 * - s3rver, started by this file in a child process — always, so `npm test` needs nothing installed;
 * - the endpoint in `S3_ENDPOINT` (with `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, optional `S3_REGION`), which CI
 *   points at a Ceph RADOS Gateway started by `scripts/ceph-rgw.sh`. Without it those cases are skipped.
 * Each backend runs the shared conformance suite, then what only S3 has: listing and batch-deleting past 1,000
 * keys, errors that name what failed, presigned redirects through the service and the adapters, and uploads while
 * the backend fails mid-request (through a loopback proxy that cuts or throttles PUTs).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import express from 'express';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStorageAdapter, listKeys, pattern } from 'profile-picture/testing';
import { profilePictureRouter as expressRouter } from '../../adapters/express/index.js';
import { profilePictureRouter as koaRouter } from '../../adapters/koa/index.js';
import {
  createProfilePictures,
  memoryUserRepository,
  type PictureRecord,
  type ProfilePictures,
  type StorageAdapter,
} from '../../src/index.js';
import { s3Storage, type S3StorageOptions } from '../../src/storage/s3.js';
import { rejectionOf } from '../fixtures/service.js';
import { startFaultyProxy } from '../helpers/faulty-proxy.js';
import { distinctImages } from '../helpers/images.js';
import { request } from '../integration/adapter-suite.js';
import { startS3rver } from '../processes/s3rver.js';

/** Where a backend listens and how to sign in. */
interface Endpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop?(): Promise<void>;
}

const WEBP = { contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable' };

const external: Endpoint | null = process.env.S3_ENDPOINT
  ? {
      endpoint: process.env.S3_ENDPOINT,
      region: process.env.S3_REGION || 'us-east-1',
      credentials: {
        accessKeyId: process.env.S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? '',
      },
    }
  : null;
if (!external) {
  console.log('S3_ENDPOINT is not set: skipping s3Storage against an external S3 server (scripts/ceph-rgw.sh starts one)');
}

// s3rver overwrites an object by rewriting its file in place, so a get during a put can read a torn body: S3 and
// Ceph replace objects atomically, and the suite's atomic-overwrite test runs against Ceph (S3_ENDPOINT) instead.
describeS3('s3rver', () => startS3rver([]), { atomicOverwrite: false });
describe.skipIf(!external)('external S3 endpoint', () => {
  describeS3(`S3_ENDPOINT ${external?.endpoint}`, async () => external!, {});
});

describe('s3Storage options', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const valid: S3StorageOptions = { client, bucket: 'b' };
  const messageOf = (options: unknown) => {
    try {
      s3Storage(options as S3StorageOptions);
    } catch (err) {
      return `${(err as Error).constructor.name}: ${(err as Error).message}`;
    }
    return 'no error';
  };

  it('names the option, the expectation and the value', () => {
    expect(messageOf(undefined)).toBe(
      'TypeError: [profile-picture] Expected an options object for `s3Storage(options)` but received undefined',
    );
    expect(messageOf({ bucket: 'b' })).toBe(
      'TypeError: [profile-picture] Expected an S3Client for `s3Storage({ client })` or an S3ClientConfig for `s3Storage({ clientConfig })` but received neither',
    );
    expect(messageOf({ ...valid, clientConfig: {} })).toBe(
      'TypeError: [profile-picture] Expected either `s3Storage({ client })` or `s3Storage({ clientConfig })`, not both',
    );
    expect(messageOf({ client: {}, bucket: 'b' })).toBe(
      'TypeError: [profile-picture] Expected an S3Client for `s3Storage({ client })` but received an object',
    );
    expect(messageOf({ clientConfig: 'eu-west-1', bucket: 'b' })).toBe(
      'TypeError: [profile-picture] Expected an S3ClientConfig object for `s3Storage({ clientConfig })` but received "eu-west-1" (string)',
    );
    expect(messageOf({ client })).toBe(
      'TypeError: [profile-picture] Expected a non-empty string for `s3Storage({ bucket })` but received undefined',
    );
    expect(messageOf({ ...valid, keyPrefix: '/avatars/' })).toBe(
      'TypeError: [profile-picture] Expected slash-separated segments of [A-Za-z0-9_.-] without a leading or trailing "/" for `s3Storage({ keyPrefix })` but received "/avatars/" (string)',
    );
    expect(messageOf({ ...valid, keyPrefix: 'a/../b' })).toMatch(/for `s3Storage\(\{ keyPrefix \}\)` but received "a\/..\/b"/);
    expect(messageOf({ ...valid, publicBaseUrl: 'https://cdn.example.com' })).toBe(
      'TypeError: [profile-picture] Expected an absolute http(s) URL ending in "/" for `s3Storage({ publicBaseUrl })` but received "https://cdn.example.com" (string)',
    );
    expect(messageOf({ ...valid, publicBaseUrl: '/media/' })).toMatch(/publicBaseUrl/);
    expect(messageOf({ ...valid, publicBaseUrl: 'javascript:alert(1)//' })).toMatch(/publicBaseUrl/);
    expect(messageOf({ ...valid, signedUrls: true })).toBe(
      'TypeError: [profile-picture] Expected an object such as { expiresIn: 3600 } for `s3Storage({ signedUrls })` but received true (boolean)',
    );
    expect(messageOf({ ...valid, signedUrls: { expiresIn: 0 } })).toBe(
      'RangeError: [profile-picture] Expected an integer between 1 and 604800 for `s3Storage({ signedUrls: { expiresIn } })` but received 0 (number)',
    );
    expect(messageOf({ ...valid, signedUrls: { expiresIn: '1h' } })).toBe(
      'TypeError: [profile-picture] Expected an integer between 1 and 604800 for `s3Storage({ signedUrls: { expiresIn } })` but received "1h" (string)',
    );
    expect(messageOf({ ...valid, signedUrls: {}, publicBaseUrl: 'https://cdn.example.com/' })).toBe(
      'TypeError: [profile-picture] `s3Storage({ publicBaseUrl })` and `s3Storage({ signedUrls })` exclude each other: objects behind a public URL need no signature',
    );
    expect(messageOf({ ...valid, acl: 'public' })).toBe(
      "TypeError: [profile-picture] Expected one of 'private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control' for `s3Storage({ acl })` but received \"public\" (string)",
    );
    expect(messageOf({ ...valid, batchDelete: 'yes' })).toBe(
      'TypeError: [profile-picture] Expected a boolean for `s3Storage({ batchDelete })` but received "yes" (string)',
    );
  });

  it('accepts the documented shapes, and has url() or signedUrl() only when configured', () => {
    expect(s3Storage(valid).url).toBeUndefined();
    expect(s3Storage(valid).signedUrl).toBeUndefined();
    expect(s3Storage({ ...valid, signedUrls: {} }).signedUrl).toBeTypeOf('function');
    expect(s3Storage({ clientConfig: { region: 'eu-west-1' }, bucket: 'b', keyPrefix: '', acl: 'private', batchDelete: false }).name).toBe('s3');
  });

  it('url(key) is publicBaseUrl, the key prefix and the key; unsafe keys throw', () => {
    const storage = s3Storage({ ...valid, keyPrefix: 'apps/one', publicBaseUrl: 'https://cdn.example.com/avatars/' });
    expect(storage.url!('profile_pictures/42/abc-md.webp')).toBe(
      'https://cdn.example.com/avatars/apps/one/profile_pictures/42/abc-md.webp',
    );
    expect(s3Storage({ ...valid, publicBaseUrl: 'https://b.s3.amazonaws.com/' }).url!('p/1/a.webp')).toBe(
      'https://b.s3.amazonaws.com/p/1/a.webp',
    );
    expect(() => storage.url!('../x.webp')).toThrow(/Unsafe storage key/);
  });
});

// --- per backend ---

function describeS3(name: string, start: () => Promise<Endpoint>, options: { atomicOverwrite?: boolean }): void {
  describe(`s3Storage on ${name}`, () => {
    const bucket = `pp-test-${randomBytes(4).toString('hex')}`;
    let server: Endpoint;
    let clientConfig: S3ClientConfig;
    let raw: S3Client;
    let counter = 0;
    let keyPrefix = '';
    /** A key prefix no other test uses, so every test starts from an empty "bucket". */
    const freshPrefix = () => (keyPrefix = `t${++counter}`);

    beforeAll(async () => {
      server = await start();
      clientConfig = { endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true };
      raw = new S3Client(clientConfig);
      await raw.send(new CreateBucketCommand({ Bucket: bucket }));
    }, 120_000);

    afterAll(async () => {
      if (raw) {
        await deleteEverything(raw, bucket);
        await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
        raw.destroy();
      }
      await server?.stop?.();
    }, 120_000);

    describeStorageAdapter(name, {
      create: () => s3Storage({ clientConfig, bucket, keyPrefix: freshPrefix(), signedUrls: { expiresIn: 600 } }),
      probe: {
        rawExists: async (key) => (await rawRead(raw, bucket, `${keyPrefix}/${key}`)) !== null,
        rawRead: (key) => rawRead(raw, bucket, `${keyPrefix}/${key}`),
        rawFiles: async () => (await rawKeys(raw, bucket, `${keyPrefix}/`)).map((key) => key.slice(keyPrefix.length + 1)),
        // Every test writes under its own `t<n>/`: anything else in the bucket escaped its prefix.
        outsideRoot: async () => (await rawKeys(raw, bucket, '')).filter((key) => !/^t\d+\//.test(key)),
      },
      capabilities: { signedUrl: true, deleteMany: true, atomicOverwrite: options.atomicOverwrite },
      additionalTests: ({ storage }) => {
        describe('S3 specifics', () => {
          it('writes under keyPrefix with Content-Type, immutable Cache-Control, inline disposition and an MD5 ETag', async () => {
            const bytes = pattern(4321, 9);
            await storage().put('profile_pictures/42/abc-md.webp', bytes, WEBP);
            expect(await rawKeys(raw, bucket, `${keyPrefix}/`)).toEqual([`${keyPrefix}/profile_pictures/42/abc-md.webp`]);
            const head = await raw.send(
              new HeadObjectCommand({ Bucket: bucket, Key: `${keyPrefix}/profile_pictures/42/abc-md.webp` }),
            );
            expect(head).toMatchObject({
              ContentType: 'image/webp',
              CacheControl: 'public, max-age=31536000, immutable',
              ContentDisposition: 'inline',
              ContentLength: 4321,
            });
            expect(head.ETag).toBe(`"${createHash('md5').update(bytes).digest('hex')}"`);
          });

          it('lists past 1,000 keys with continuation tokens and deletes them in batches of 1,000', async () => {
            const { client, counts } = countingClient(clientConfig);
            const counted = s3Storage({ client, bucket, keyPrefix });
            const keys = Array.from({ length: 1003 }, (_, i) => `u/big/${String(i).padStart(4, '0')}-sm.webp`);
            await inParallel(keys, 16, (key) => counted.put(key, pattern(16, 1), WEBP));
            await counted.put('u/other/kept.webp', pattern(16, 2), WEBP);
            counts.clear();
            expect(await listKeys(counted, 'u/big/')).toEqual(keys);
            expect(counts.get('ListObjectsV2Command')).toBe(2);
            counts.clear();
            await counted.deleteMany!(keys);
            expect(Object.fromEntries(counts)).toEqual({ DeleteObjectsCommand: 2 });
            expect(await listKeys(counted, '')).toEqual(['u/other/kept.webp']);
            await counted.dispose!();
            await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 })); // a shared client stays open
            client.destroy();
          }, 120_000);

          it('deletes one key per request with batchDelete: false', async () => {
            const { client, counts } = countingClient(clientConfig);
            const single = s3Storage({ client, bucket, keyPrefix, batchDelete: false });
            for (const key of ['u/1/a.webp', 'u/1/b.webp', 'u/1/c.webp']) await single.put(key, pattern(8, 1), WEBP);
            counts.clear();
            await single.deleteMany!(['u/1/a.webp', 'u/1/b.webp', 'u/1/missing.webp']);
            expect(Object.fromEntries(counts)).toEqual({ DeleteObjectCommand: 3 });
            expect(await listKeys(single, '')).toEqual(['u/1/c.webp']);
            client.destroy();
          });

          it('reports a missing bucket (not "no such object") from every method, with the SDK error as cause', async () => {
            const missing = s3Storage({ clientConfig, bucket: `${bucket}-missing` });
            const failures = [
              await missing.put('u/1/a.webp', pattern(4, 1), WEBP).catch((err: Error) => err),
              await missing.get('u/1/a.webp').catch((err: Error) => err),
              await missing.delete('u/1/a.webp').catch((err: Error) => err),
              await listKeys(missing, 'u/').catch((err: Error) => err),
            ];
            for (const failure of failures) {
              expect(failure).toBeInstanceOf(Error);
              expect((failure as Error & { cause: Error }).cause.name).toBe('NoSuchBucket');
            }
            expect((failures[0] as Error).message).toBe(
              `[profile-picture] s3Storage: PutObject "u/1/a.webp" in bucket "${bucket}-missing" failed: NoSuchBucket (HTTP 404): ` +
                (failures[0] as Error & { cause: Error }).cause.message,
            );
            expect((failures[3] as Error).message).toMatch(/ListObjectsV2 under "u\/" in bucket .* failed: NoSuchBucket \(HTTP 404\)/);
            await missing.dispose!();
          });

          it('streams get() bodies instead of buffering them', async () => {
            const big = pattern(3 * 1024 * 1024, 4);
            await storage().put('u/1/big.webp', big, WEBP);
            const object = (await storage().get('u/1/big.webp'))!;
            let chunks = 0;
            let largest = 0;
            const received: Buffer[] = [];
            for await (const chunk of object.body) {
              chunks++;
              largest = Math.max(largest, (chunk as Buffer).byteLength);
              received.push(chunk as Buffer);
            }
            expect(Buffer.concat(received).equals(big)).toBe(true);
            expect(chunks).toBeGreaterThan(1);
            expect(largest).toBeLessThan(big.byteLength);
          });

          it('retries a throttled put (503 SlowDown), then rejects naming it, with the SDK error as cause', async () => {
            const proxy = await startFaultyProxy(server.endpoint);
            const throttled = s3Storage({ clientConfig: { ...clientConfig, endpoint: proxy.endpoint }, bucket, keyPrefix });
            try {
              proxy.fail('PUT', 'throttle');
              const error = (await throttled.put('u/1/a.webp', pattern(10, 1), WEBP).catch((err: Error) => err)) as Error & {
                cause: Error & { $metadata: { attempts?: number } };
              };
              expect(error.message).toBe(
                `[profile-picture] s3Storage: PutObject "u/1/a.webp" in bucket "${bucket}" failed: SlowDown (HTTP 503): Please reduce your request rate.`,
              );
              expect(error.cause.name).toBe('SlowDown');
              expect(error.cause.$metadata.attempts).toBe(3); // the SDK's standard retries stayed on
              expect(proxy.failures()).toBe(3);
              proxy.pass();
              await throttled.put('u/1/a.webp', pattern(10, 1), WEBP);
              expect(await listKeys(throttled, '')).toEqual(['u/1/a.webp']);
            } finally {
              await throttled.dispose!();
              await proxy.stop();
            }
          });
        });
      },
    });

    describe(`the service on ${name}`, () => {
      let images: Buffer[];
      beforeAll(async () => {
        images = await distinctImages(2, 96);
      });

      it('streams media through the app with the same headers as disk: ETag, 304, immutable caching', async () => {
        const storage = s3Storage({ clientConfig, bucket, keyPrefix: freshPrefix() });
        const pictures = createProfilePictures({ storage, users: memoryUserRepository() });
        const record = await pictures.upload('42', images[0]!);
        expect(pictures.url(record, 'md')).toBe(`/media/${record.variants.md!.key}`);
        const served = await pictures.serve(record.variants.md!.key);
        expect(served.status).toBe(200);
        expect(served.headers).toMatchObject({
          'Content-Type': 'image/webp',
          'Content-Length': String(record.variants.md!.bytes),
          'Cache-Control': 'public, max-age=31536000, immutable',
          'X-Content-Type-Options': 'nosniff',
        });
        expect((await bytesOf(served.body!)).byteLength).toBe(record.variants.md!.bytes);
        const again = await pictures.serve(record.variants.md!.key, { ifNoneMatch: served.headers.ETag });
        expect(again).toMatchObject({ status: 304, body: null });
        await storage.dispose!();
      });

      it('redirects media to a presigned GET (never signing unsafe or foreign keys); Express and Koa answer 302', async () => {
        const inner = s3Storage({ clientConfig, bucket, keyPrefix: freshPrefix(), signedUrls: { expiresIn: 600 } });
        const signed: string[] = [];
        const storage: StorageAdapter = {
          ...inner,
          signedUrl: (key) => {
            signed.push(key);
            return inner.signedUrl!(key);
          },
        };
        const pictures = createProfilePictures({ storage, users: memoryUserRepository() });
        const record = await pictures.upload('42', images[0]!);
        const key = record.variants.md!.key;
        signed.length = 0;

        const served = await pictures.serve(key);
        expect(served.status).toBe(302);
        expect(served.body).toBeNull();
        const maxAge = Number(/^private, max-age=(\d+)$/.exec(served.headers['Cache-Control']!)?.[1]);
        expect(maxAge).toBeGreaterThanOrEqual(150); // a URL is valid ≥ 300 s after it is handed out
        expect(maxAge).toBeLessThanOrEqual(300); // and a cached redirect never outlives half of that
        const response = await fetch(served.headers.Location!);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('image/webp');
        expect(Buffer.from(await response.arrayBuffer()).byteLength).toBe(record.variants.md!.bytes);
        // Within one signing window every request gets the same URL, so browsers and CDNs cache the image.
        expect((await pictures.serve(key)).headers.Location).toBe(served.headers.Location);

        const head = await pictures.serve(key, { method: 'HEAD' });
        expect(head).toMatchObject({ status: 200, body: null });
        expect(head.headers['Content-Length']).toBe(String(record.variants.md!.bytes));

        signed.length = 0;
        for (const foreign of ['other/42/x-md.webp', 'profile_pictures/../x.webp', 'profile_pictures/42/..', '../profile_pictures/42/a.webp']) {
          expect((await pictures.serve(foreign)).status, foreign).toBe(404);
        }
        expect(signed).toEqual([]);

        for (const start of [startExpress, startKoa]) {
          const app = await start(pictures);
          try {
            const media = await request(app.port, `/media/${key}`);
            expect(media.status).toBe(302);
            expect(media.headers.location).toBe(served.headers.Location);
            expect(media.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
            expect((await request(app.port, `/media/other/42/x-md.webp`)).status).toBe(404);
            expect((await request(app.port, `/media/${key}`, { method: 'HEAD' })).status).toBe(200);
          } finally {
            await app.close();
          }
        }
        await inner.dispose!();
      });

      it('a put cut mid-request fails the upload with STORAGE_FAILED and leaves the current picture served', async () => {
        const proxy = await startFaultyProxy(server.endpoint);
        const storage = s3Storage({ clientConfig: { ...clientConfig, endpoint: proxy.endpoint }, bucket, keyPrefix: freshPrefix() });
        const pictures = createProfilePictures({ storage, users: memoryUserRepository() });
        try {
          const current = await pictures.upload('42', images[0]!);
          const before = await servedBytes(pictures, current);

          proxy.fail('PUT', 'cut');
          const error = await rejectionOf(pictures.upload('42', images[1]!));
          expect(error).toMatchObject({ code: 'STORAGE_FAILED', status: 502 });
          const cause = error.cause as Error & { cause: Error };
          expect(cause.message).toMatch(/^\[profile-picture\] s3Storage: PutObject "profile_pictures\/42\/[0-9a-f]{24}-\w+\.webp" in bucket .* failed: /);
          expect(cause.cause).toBeInstanceOf(Error); // the network error, as the SDK reported it
          // Each of the three variants' puts was attempted three times (the SDK retries a reset connection).
          expect(proxy.failures()).toBeGreaterThanOrEqual(2 * Object.keys(current.variants).length);
          proxy.pass();

          expect(await pictures.get('42')).toEqual(current);
          expect(await servedBytes(pictures, current)).toEqual(before);
          const keys = await listKeys(storage, '');
          for (const variant of Object.values(current.variants)) expect(keys).toContain(variant.key);

          const next = await pictures.upload('42', images[1]!);
          await pictures.flush(); // the replaced picture's objects are deleted after the answer
          const expected = [...Object.values(next.variants).map((variant) => variant.key), ...(next.master ? [next.master.key] : [])].sort();
          // s3rver, unlike S3 and Ceph, keeps an empty object for a PUT cut after its head, written a moment after the
          // cut: on a loaded machine that can land after the failed upload's rollback deleted its keys. A write landing
          // late is what sweep() is for. Anything else left (the replaced picture's bytes) would be a real orphan.
          const leftovers: Array<{ key: string; size: number }> = [];
          for await (const object of storage.list('')) if (!expected.includes(object.key)) leftovers.push(object);
          for (const { key, size } of leftovers) expect({ key, size }).toEqual({ key, size: 0 });
          await pictures.sweep({ olderThan: 0 });
          expect(await listKeys(storage, '')).toEqual(expected);
        } finally {
          await storage.dispose!();
          await proxy.stop();
        }
      });
    });
  });
}

// --- helpers ---

async function rawRead(client: S3Client, bucket: string, key: string): Promise<Uint8Array | null> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body!.transformToByteArray();
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return null;
    throw err;
  }
}

async function rawKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function deleteEverything(client: S3Client, bucket: string): Promise<void> {
  const keys = await rawKeys(client, bucket, '');
  for (let start = 0; start < keys.length; start += 1000) {
    const Objects = keys.slice(start, start + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
  }
}

/** A client that counts the commands it sends, by name. */
function countingClient(config: S3ClientConfig): { client: S3Client; counts: Map<string, number> } {
  const client = new S3Client(config);
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = String(context.commandName);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { client, counts };
}

async function inParallel<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

async function bytesOf(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The bytes of every variant as the media route serves them. */
async function servedBytes(pictures: ProfilePictures, record: PictureRecord): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const [name, variant] of Object.entries(record.variants)) {
    const served = await pictures.serve(variant.key);
    expect(served.status).toBe(200);
    out[name] = await bytesOf(served.body!);
  }
  return out;
}
const getUser = () => null;

async function startExpress(pictures: ProfilePictures) {
  const app = express();
  app.use(expressRouter(pictures, { getUser }));
  return startServer(http.createServer(app));
}

async function startKoa(pictures: ProfilePictures) {
  const app = new Koa();
  app.use(koaRouter(pictures, { getUser }));
  return startServer(http.createServer(app.callback()));
}

async function startServer(server: http.Server): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
