/**
 * The example apps on the engines a deployment uses: users, sessions and picture records in PostgreSQL (this run's
 * server: `*postgres*.test.ts`, see vitest.config.ts) and pictures in an S3 bucket (s3rver), each app started as
 * `npm run example` starts it, with `DATABASE_URL` and `S3_*` set. Over real HTTP with the session cookie, as a
 * browser without JavaScript would: sign up, log out and in, upload through the form route, replace, remove —
 * checking `users.picture` in PostgreSQL and the objects in the bucket at each step. Express streams pictures
 * through its media route; Koa runs with `S3_SIGNED_URLS=1`, so its media route redirects to presigned URLs.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { s3Storage } from '../../src/storage/s3.js';
import { useTestDatabase } from '../helpers/postgres.js';
import { multipart, request, type TestResponse } from '../integration/adapter-suite.js';
import { startS3rver, type S3rverProcess } from '../processes/s3rver.js';
import { startExample, type RunningExample } from './example-server.js';
import { COOL, portraitJpeg, WARM } from './photos.js';

const APPS = [
  { app: 'express-app', bucket: 'portrait-express', env: {}, serving: '' },
  { app: 'koa-app', bucket: 'portrait-koa', env: { S3_SIGNED_URLS: '1' }, serving: ', presigned URLs' },
] as const;

let s3: S3rverProcess;
let client: S3Client;
let photos: { warm: Buffer; cool: Buffer };

beforeAll(async () => {
  const [server, warm, cool] = await Promise.all([
    startS3rver(APPS.map(({ bucket }) => bucket)),
    portraitJpeg(WARM, 800, 600),
    portraitJpeg(COOL, 800, 600),
  ]);
  s3 = server;
  client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true });
  photos = { warm, cool };
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

for (const { app, bucket, env, serving } of APPS) {
  describe(`${app} on PostgreSQL and S3`, () => {
    const db = useTestDatabase();
    let server: RunningExample;
    let port: number;
    const cookies = new Map<string, string>();
    const username = `${app.replace('-app', '')}_user`;
    const password = 'correct-horse-battery';

    /** One request with the session cookie, sent as a browser sends a same-origin form post or page load. */
    async function browse(method: 'GET' | 'POST', path: string, body?: { type: string; data: Buffer | string }): Promise<TestResponse> {
      const headers: Record<string, string> = {
        accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-site': 'same-origin',
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      };
      if (method === 'POST') headers.origin = server.url;
      if (body) headers['content-type'] = body.type;
      const response = await request(port, path, { method, headers, body: body?.data });
      for (const line of response.headers['set-cookie'] ?? []) {
        const [name, value] = line.split(';')[0]!.split(/=(.*)/s) as [string, string];
        if (value === '') cookies.delete(name);
        else cookies.set(name, value);
      }
      return response;
    }
    const postForm = (path: string, fields: Record<string, string>) =>
      browse('POST', path, { type: 'application/x-www-form-urlencoded', data: new URLSearchParams(fields).toString() });
    const upload = (photo: Buffer) => {
      const { body, contentType } = multipart([{ name: 'profile_picture', filename: 'me.jpg', type: 'image/jpeg', data: photo }]);
      return browse('POST', '/upload-profile-picture/', { type: contentType, data: body });
    };

    /** `users.picture` of the test user, as PostgreSQL holds it (jsonb, parsed by pg). */
    async function pictureColumn(): Promise<{ version: string; variants: Record<string, { key: string }>; master?: { key: string } } | null> {
      const { rows } = await db.pool().query('SELECT picture FROM users WHERE username = $1', [username]);
      return rows[0].picture;
    }
    async function bucketKeys(): Promise<string[]> {
      const keys: string[] = [];
      for await (const object of s3Storage({ client, bucket }).list('')) keys.push(object.key);
      return keys.sort();
    }
    const keysOf = (record: { variants: Record<string, { key: string }>; master?: { key: string } }) =>
      [...Object.values(record.variants).map(({ key }) => key), ...(record.master ? [record.master.key] : [])].sort();

    beforeAll(async () => {
      server = await startExample(app, {
        DATABASE_URL: db.url,
        S3_BUCKET: bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: s3.region,
        S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        // These tests follow a replaced or removed picture's objects out of the bucket: no previous pictures kept
        // (history on S3 + PostgreSQL: test/unit/history-postgres.test.ts).
        PROFILE_PICTURE_HISTORY: '0',
        ...env,
      });
      port = Number(new URL(server.url).port);
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('names its engines at start-up', () => {
      const { host, pathname } = new URL(db.url);
      expect(server.output()).toContain(
        `storage: s3 (bucket ${bucket} at ${s3.endpoint}${serving}), records: postgres (users.picture on ${host}${pathname})`,
      );
    });

    it('signs up, logs out and logs back in, with users and sessions in PostgreSQL', async () => {
      const signup = await postForm('/signup/', { username, password });
      expect(signup.status).toBe(303);
      expect(signup.headers.location).toBe('/success/?welcome=new');
      expect((await browse('GET', '/dashboard/')).text).toContain(username);
      const pool = db.pool();
      const { rows: users } = await pool.query('SELECT id, picture FROM users WHERE username = $1', [username]);
      expect(users).toEqual([{ id: expect.any(String), picture: null }]);
      expect((await pool.query('SELECT count(*)::int AS n FROM sessions')).rows[0].n).toBe(1);

      // Usernames are unique whatever their case (a unique index on lower(username)).
      const again = await postForm('/signup/', { username: username.toUpperCase(), password });
      expect(again.status).toBe(400);
      expect(again.text).toContain('This username is taken.');

      expect((await postForm('/logout/', {})).headers.location).toBe('/login/?bye=1');
      expect((await browse('GET', '/dashboard/')).headers.location).toBe('/login/');
      expect((await postForm('/login/', { username, password: 'wrong-password' })).status).toBe(401);
      const login = await postForm('/login/', { username: username.toUpperCase(), password });
      expect(login.headers.location).toBe('/success/');
      expect((await browse('GET', '/dashboard/')).text).toContain(username);
    });

    it('answers a login whose username holds a NUL as a wrong password (401), not a PostgreSQL error (500)', async () => {
      // No text column holds a NUL: the lookup threw "invalid byte sequence", a 500 and a logged stack for anyone.
      const login = await postForm('/login/', { username: `${username}\u0000`, password });
      expect([login.status, login.text.includes('Wrong username or password.')]).toEqual([401, true]);
      expect(server.output()).not.toMatch(/invalid byte sequence|Error/);
    });

    it('uploads through the form route: the record in users.picture, the objects in the bucket', async () => {
      const answer = await upload(photos.warm);
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe('/profile/?profile_picture=uploaded');
      const record = await pictureColumn();
      expect(Object.keys(record!.variants).sort()).toEqual(['lg', 'md', 'sm']);
      expect(record!.master?.key).toMatch(/\.master\.[0-9a-f]{24}\.jpg$/); // stored by default
      expect(await bucketKeys()).toEqual(keysOf(record!));

      const page = await browse('GET', answer.headers.location!);
      expect(page.text).toContain('Your new profile picture is saved.');
      const src = /<img class="avatar avatar--lg"[^>]*\ssrc="([^"]+)"/.exec(page.text)![1]!;
      expect(src).toBe(`/media/${record!.variants.lg!.key}`);
      const media = await browse('GET', src);
      let image: { status: number; type: string | null; body: Buffer };
      if (serving) {
        // A private bucket: the app redirects to a presigned GET on the bucket, which serves the bytes.
        expect(media.status).toBe(302);
        const location = new URL(media.headers.location!);
        expect(location.origin + location.pathname).toBe(`${s3.endpoint}/${bucket}/${record!.variants.lg!.key}`);
        expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
        const direct = await fetch(location);
        image = { status: direct.status, type: direct.headers.get('content-type'), body: Buffer.from(await direct.arrayBuffer()) };
      } else {
        expect(media.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        image = { status: media.status, type: media.headers['content-type'] ?? null, body: media.body };
      }
      expect(image.status).toBe(200);
      expect(image.type).toBe('image/webp');
      expect(image.body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    });

    it('replaces it: a new record, and the old objects gone after the background clean-up', async () => {
      const before = (await pictureColumn())!;
      expect((await upload(photos.cool)).headers.location).toBe('/profile/?profile_picture=uploaded');
      const after = (await pictureColumn())!;
      expect(after.version).not.toBe(before.version);
      expect(keysOf(after).some((key) => keysOf(before).includes(key))).toBe(false);
      await vi.waitFor(async () => expect(await bucketKeys()).toEqual(keysOf(after)), { timeout: 5_000 });
    });

    it('shows the admin page to the first account: its queries and pictures.stats() on PostgreSQL and S3', async () => {
      const page = await browse('GET', '/admin/');
      expect(page.status).toBe(200);
      const stat = (name: string) => new RegExp(`data-stat="${name}" data-value="(\\d+)"`).exec(page.text)?.[1];
      // One picture: its three variants and its master (stored by default).
      expect([stat('accounts'), stat('users'), stat('objects'), stat('variant-lg'), stat('masters')]).toEqual(['1', '1', '4', '1', '1']);
      expect(page.text).toContain(`<tr data-user="${username}">`);
      const status = await browse('GET', '/admin/regenerate/status');
      expect(JSON.parse(status.text)).toMatchObject({ state: 'idle', scanned: 0 });
    });

    it('answers an admin link whose user id holds a NUL as an unknown user, not a PostgreSQL error', async () => {
      expect((await browse('GET', '/admin/confirm/?action=remove&user=%00')).status).toBe(404);
      expect((await browse('GET', '/admin/?done=remove&user=%00')).status).toBe(200);
      expect(server.output()).not.toMatch(/invalid byte sequence|Error/);
    });

    it('removes it: users.picture is NULL and the bucket empty', async () => {
      const answer = await postForm('/remove-profile-picture/', {});
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe('/profile/?profile_picture=removed');
      expect(await pictureColumn()).toBeNull();
      await vi.waitFor(async () => expect(await bucketKeys()).toEqual([]), { timeout: 5_000 });
      expect((await browse('GET', answer.headers.location!)).text).toContain('Your profile picture has been removed.');
    });
  });
}
