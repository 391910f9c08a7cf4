/**
 * serve(key, { ifNoneMatch, method }): the framework-neutral response for a stored object, on memory and disk
 * storage. Unsafe or foreign keys answer 404 without the storage ever being asked (and, on disk, without any file
 * outside the root being touched).
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { listKeys, readBody } from 'profile-picture/testing';
import {
  createProfilePictures,
  diskStorage,
  memoryStorage,
  memoryUserRepository,
  type PictureRecord,
  type ProfilePictures,
  type ServeResult,
  type StorageAdapter,
} from '../../src/index.js';
import { solidPng } from '../helpers/images.js';
import { recordKeys } from '../fixtures/service.js';

const image = await solidPng([90, 160, 30]);
const sandbox = await mkdtemp(path.join(tmpdir(), 'pp-serve-'));
afterAll(() => rm(sandbox, { recursive: true, force: true }));

const backends: Array<[string, (base: string) => StorageAdapter]> = [
  ['memory', () => memoryStorage()],
  ['disk', (base) => diskStorage({ root: path.join(base, 'root') })],
];

async function bodyOf(result: ServeResult): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of result.body!) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(backends)('serve on %s storage', (name, makeStorage) => {
  let base: string;
  let storage: StorageAdapter;
  let gets: string[];
  let pictures: ProfilePictures;
  let record: PictureRecord;
  let md: string;

  beforeEach(async () => {
    base = await mkdtemp(path.join(sandbox, `${name}-`));
    const inner = makeStorage(base);
    gets = [];
    storage = {
      ...inner,
      get: (key) => {
        gets.push(key);
        return inner.get(key);
      },
    };
    pictures = createProfilePictures({ storage, users: memoryUserRepository() });
    record = await pictures.upload('42', image);
    md = record.variants.md!.key;
    gets.length = 0;
  });

  it('answers 200 with the bytes and safe, immutable headers', async () => {
    const result = await pictures.serve(md);
    expect(result.status).toBe(200);
    const body = await bodyOf(result);
    expect(body.byteLength).toBe(record.variants.md!.bytes);
    expect(body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect(body.equals(await readBody((await storage.get(md))!))).toBe(true);
    expect(result.headers).toMatchObject({
      'Content-Type': 'image/webp',
      'Content-Length': String(record.variants.md!.bytes),
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    expect(result.headers.ETag).toMatch(/^"[^"]+"$/);
    expect(new Date(result.headers['Last-Modified']!).getTime()).not.toBeNaN();
  });

  it('gives every variant its own ETag, stable across requests', async () => {
    const etags = await Promise.all(
      Object.values(record.variants).map(async (variant) => {
        const first = await pictures.serve(variant.key, { method: 'HEAD' });
        const second = await pictures.serve(variant.key, { method: 'HEAD' });
        expect(second.headers.ETag).toBe(first.headers.ETag);
        return first.headers.ETag;
      }),
    );
    expect(new Set(etags).size).toBe(3);
  });

  describe('If-None-Match', () => {
    let etag: string;
    beforeEach(async () => {
      etag = (await pictures.serve(md, { method: 'HEAD' })).headers.ETag!;
    });

    it.each([
      ['the exact tag', (tag: string) => tag],
      ['a weak form of it', (tag: string) => `W/${tag}`],
      ['a list containing it', (tag: string) => `"nope", ${tag} , "other"`],
      ['a list containing its weak form', (tag: string) => `"nope",W/${tag}`],
      ['*', () => '*'],
    ])('answers 304 without a body for %s', async (_label, header) => {
      const result = await pictures.serve(md, { ifNoneMatch: header(etag) });
      expect(result.status).toBe(304);
      expect(result.body).toBeNull();
      expect(result.headers.ETag).toBe(etag);
      expect(result.headers['Cache-Control']).toBe('public, max-age=31536000, immutable');
      expect(result.headers['Content-Length']).toBeUndefined();
    });

    it.each([
      ['another tag', () => '"abc"'],
      ['a list of other tags', () => '"abc", W/"def"'],
      ['an empty header', () => ''],
      ['a tag that merely contains it', (tag: string) => `"x${tag.slice(1, -1)}"`],
    ])('answers 200 for %s', async (_label, header) => {
      const result = await pictures.serve(md, { ifNoneMatch: header(etag) });
      expect(result.status).toBe(200);
      expect((await bodyOf(result)).byteLength).toBe(record.variants.md!.bytes);
    });
  });

  it('answers HEAD with the headers and no body', async () => {
    const result = await pictures.serve(md, { method: 'HEAD' });
    expect(result.status).toBe(200);
    expect(result.body).toBeNull();
    expect(result.headers['Content-Length']).toBe(String(record.variants.md!.bytes));
    expect(result.headers['Content-Type']).toBe('image/webp');
  });

  it('answers 404 for an unknown key under the prefix, with safety headers', async () => {
    const result = await pictures.serve('profile_pictures/42/000000000000000000000000-md.webp');
    expect(result.status).toBe(404);
    expect(result.body).toBeNull();
    expect(result.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(result.headers['Cache-Control']).toBe('no-store');
  });

  it('answers 404 for a removed picture', async () => {
    await pictures.remove('42');
    await pictures.flush(); // the objects are deleted after remove() resolves
    expect((await pictures.serve(md)).status).toBe(404);
  });

  describe('traversal and foreign keys', () => {
    const attempts = [
      '../secret.txt',
      'profile_pictures/../secret.txt',
      'profile_pictures/../../secret.txt',
      'profile_pictures/%2e%2e%2f%2e%2e%2fsecret.txt',
      'profile_pictures/%2E%2E/secret.txt',
      'profile_pictures/42/..\\..\\..\\secret.txt',
      'profile_pictures\\42\\x.webp',
      'profile_pictures/42/x.webp\0.txt',
      '/profile_pictures/42/x.webp',
      '/x/../secret.txt',
      'profile_pictures//42/x.webp',
      'profile_pictures',
      'profile_pictures/',
      '',
      'other/secret.webp',
      'profile_picturesX/secret.webp',
    ];

    beforeEach(async () => {
      // Real targets an escape would reach: outside the root, and inside the root but outside the prefix.
      await writeFile(path.join(base, 'secret.txt'), 'top secret');
      await storage.put('other/secret.webp', Buffer.from('not a picture'), { contentType: 'image/webp' });
      await storage.put('profile_picturesX/secret.webp', Buffer.from('not a picture'), { contentType: 'image/webp' });
      gets.length = 0;
    });

    it.each(attempts)('answers 404 for %j without asking the storage', async (key) => {
      const before = await snapshot(base);
      const result = await pictures.serve(key);
      expect(result.status).toBe(404);
      expect(result.body).toBeNull();
      expect(gets).toEqual([]);
      expect(await snapshot(base)).toEqual(before);
    });

    it('still serves real keys afterwards and never exposed the foreign objects', async () => {
      for (const key of attempts) await pictures.serve(key);
      expect((await pictures.serve(md)).status).toBe(200);
      expect(await listKeys(storage, 'profile_pictures/')).toEqual(recordKeys(record));
    });
  });
});

/** Names, sizes and mtimes of everything under `dir` (to prove nothing was created, changed or removed). */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return Promise.all(
    entries.sort().map(async (entry) => {
      const info = await stat(path.join(dir, entry));
      return `${entry}:${info.isDirectory() ? 'dir' : info.size}:${info.mtimeMs}`;
    }),
  );
}


describe('serve on a storage with signedUrl()', () => {
  let signed: string[];
  let expiresAt: Date;
  let pictures: ProfilePictures;
  let record: PictureRecord;
  let failSigning: boolean;

  beforeEach(async () => {
    const inner = memoryStorage();
    signed = [];
    failSigning = false;
    expiresAt = new Date(Date.now() + 600_000);
    const storage: StorageAdapter = {
      ...inner,
      async signedUrl(key) {
        signed.push(key);
        if (failSigning) throw new Error('credentials expired');
        return { url: `https://bucket.example.com/${key}?X-Amz-Signature=abc`, expiresAt };
      },
    };
    pictures = createProfilePictures({ storage, users: memoryUserRepository() });
    record = await pictures.upload('42', image);
    signed.length = 0;
  });

  it('answers GET with a 302 to the signed URL, cacheable privately for half the time it has left', async () => {
    const key = record.variants.md!.key;
    const result = await pictures.serve(key);
    expect(result).toMatchObject({ status: 302, body: null });
    expect(result.headers.Location).toBe(`https://bucket.example.com/${key}?X-Amz-Signature=abc`);
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(result.headers['Cache-Control']!)?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(299);
    expect(maxAge).toBeLessThanOrEqual(300);
    expect(result.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(signed).toEqual([key]);
  });

  it('never lets a redirect be cached once the URL has expired', async () => {
    expiresAt = new Date(Date.now() - 1000);
    expect((await pictures.serve(record.variants.md!.key)).headers['Cache-Control']).toBe('private, max-age=0');
  });

  it('answers HEAD from the storage itself (a URL signed for GET cannot answer HEAD)', async () => {
    const result = await pictures.serve(record.variants.md!.key, { method: 'HEAD' });
    expect(result).toMatchObject({ status: 200, body: null });
    expect(result.headers['Content-Length']).toBe(String(record.variants.md!.bytes));
    expect(signed).toEqual([]);
  });

  it.each(['../secret.webp', 'other/42/x.webp', 'profile_pictures/../x.webp', 'profile_pictures/42/%2e%2e', '', 'profile_pictures'])(
    'signs nothing for %j and answers 404',
    async (key) => {
      expect((await pictures.serve(key)).status).toBe(404);
      expect(signed).toEqual([]);
    },
  );

  it('turns a signing failure into STORAGE_FAILED with the cause', async () => {
    failSigning = true;
    const error = await pictures.serve(record.variants.md!.key).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'STORAGE_FAILED', status: 502 });
    expect((error as { cause: Error }).cause.message).toBe('credentials expired');
  });
});
