/**
 * The StorageAdapter conformance suite, published as `profile-picture/testing`. Every storage (ours: disk, memory,
 * S3; anyone's own) calls `describeStorageAdapter()` from its own vitest test file.
 *
 * Optional probes let the suite look at the backend directly (Auth.js's `db` probes): whether an object really is
 * gone, whether temp files were left behind, whether anything was written outside the storage's root.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectInfo, StorageAdapter, StoredObject } from '../storage/types.js';

/** Direct views of the backend, bypassing the adapter. */
export interface StorageProbe {
  /** Whether the backend holds an object for `key`. */
  rawExists(key: string): Promise<boolean>;
  /** The raw stored bytes of `key`, or null. */
  rawRead?(key: string): Promise<Uint8Array | null>;
  /**
   * Every entry the backend holds under its root, as `/`-separated relative paths, including hidden and temporary
   * files the adapter's `list()` would hide. After any operation it must equal the listed keys.
   */
  rawFiles?(): Promise<string[]>;
  /** Whatever exists outside the storage's root that the test did not create (must stay empty). */
  outsideRoot?(): Promise<string[]>;
  /** Arranges for the next `put(key)` to fail inside the backend (not by key validation). */
  breakKey?(key: string): Promise<void>;
}

/** Optional capabilities; tests for absent ones are skipped. The suite checks the storage has exactly these. */
export interface StorageCapabilities {
  /** The storage implements `url(key)`. */
  url?: boolean;
  /** The storage implements `signedUrl(key)`; its URLs are fetched over HTTP. */
  signedUrl?: boolean;
  /** The storage implements `deleteMany(keys)`. */
  deleteMany?: boolean;
  /**
   * Concurrent `get`s during an overwrite always see one whole version. Required by the contract: set `false` only
   * for a test double of a real backend that is atomic (e.g. s3rver standing in for S3), with a comment saying why,
   * and run the suite against the real backend too.
   * @default true
   */
  atomicOverwrite?: boolean;
}

/** What `additionalTests` receives. */
export interface StorageSuiteContext {
  /** The storage instance of the running test (fresh per test). */
  storage(): StorageAdapter;
}

/** Options of {@link describeStorageAdapter}. */
export interface StorageSuiteOptions {
  /** A fresh, isolated instance; called before every test. */
  create: () => StorageAdapter | Promise<StorageAdapter>;
  probe?: StorageProbe;
  capabilities?: StorageCapabilities;
  /** Adapter-specific tests, registered inside the suite's `describe` with access to the current instance. */
  additionalTests?: (ctx: StorageSuiteContext) => void;
}

/** Keys every storage must refuse, with an error, before touching its backend. */
export const UNSAFE_KEYS: readonly string[] = [
  '',
  '../x.webp',
  '/abs.webp',
  'a/../../b.webp',
  'a/../b.webp',
  'profile_pictures/../../escape.webp',
  'a/\0b.webp',
  'a\\b.webp',
  '..\\..\\x.webp',
  'a//b.webp',
  './a.webp',
];

const WEBP = { contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable' };

/**
 * Registers the conformance tests for one StorageAdapter implementation.
 *
 * @example
 * ```ts
 * describeStorageAdapter('memory', { create: () => memoryStorage() });
 * ```
 */
export function describeStorageAdapter(name: string, options: StorageSuiteOptions): void {
  const { probe, capabilities = {} } = options;

  describe(`StorageAdapter conformance: ${name}`, () => {
    let storage: StorageAdapter;

    beforeEach(async () => {
      storage = await options.create();
    });
    afterEach(async () => {
      await storage.dispose?.();
    });

    it('has a non-empty name and the required methods', () => {
      expect(typeof storage.name).toBe('string');
      expect(storage.name.length).toBeGreaterThan(0);
      for (const method of ['put', 'get', 'delete', 'list'] as const) expect(typeof storage[method]).toBe('function');
      for (const capability of ['url', 'signedUrl', 'deleteMany'] as const) {
        expect(typeof storage[capability], `declared capability ${capability}`).toBe(
          capabilities[capability] ? 'function' : 'undefined',
        );
      }
    });

    describe('put / get', () => {
      it('round-trips bytes, size, content type and an etag', async () => {
        const bytes = pattern(3000, 7);
        await storage.put('u/1/abc-md.webp', bytes, WEBP);
        const object = await storage.get('u/1/abc-md.webp');
        expect(object).not.toBeNull();
        const body = await readBody(object!);
        expect(Buffer.compare(body, bytes)).toBe(0);
        expect(object!.size).toBe(bytes.byteLength);
        expect(object!.contentType).toBe('image/webp');
        expect(object!.etag).toMatch(/^(W\/)?"[^"]+"$/);
        if (probe?.rawRead) expect(Buffer.compare(Buffer.from((await probe.rawRead('u/1/abc-md.webp'))!), bytes)).toBe(0);
        expect(await probe?.rawExists('u/1/abc-md.webp')).not.toBe(false);
      });

      it('keeps the content type given at put', async () => {
        await storage.put('u/1/a.png', pattern(10, 1), { contentType: 'image/png' });
        const object = await storage.get('u/1/a.png');
        expect(object!.contentType).toBe('image/png');
        await readBody(object!);
      });

      it('stores a copy: mutating the caller buffer afterwards changes nothing', async () => {
        const bytes = pattern(64, 3);
        const copy = Buffer.from(bytes);
        await storage.put('u/1/copy.webp', bytes, WEBP);
        bytes.fill(0);
        expect(Buffer.compare(await readBody((await storage.get('u/1/copy.webp'))!), copy)).toBe(0);
      });

      it('gives the same etag for the same bytes and a different one for different bytes', async () => {
        const bytes = pattern(500, 11);
        await storage.put('u/1/e.webp', bytes, WEBP);
        const first = await getEtag(storage, 'u/1/e.webp');
        await storage.put('u/1/e.webp', Buffer.from(bytes), WEBP);
        expect(await getEtag(storage, 'u/1/e.webp')).toBe(first);
        await storage.put('u/1/other.webp', Buffer.from(bytes), WEBP);
        expect(await getEtag(storage, 'u/1/other.webp')).toBe(first);
        await storage.put('u/1/e.webp', pattern(500, 12), WEBP);
        expect(await getEtag(storage, 'u/1/e.webp')).not.toBe(first);
      });

      it('stores empty bodies', async () => {
        await storage.put('u/1/empty.webp', new Uint8Array(0), WEBP);
        const object = await storage.get('u/1/empty.webp');
        expect(object!.size).toBe(0);
        expect((await readBody(object!)).byteLength).toBe(0);
      });

      it('resolves null for a missing key, including under a missing directory', async () => {
        expect(await storage.get('u/404/missing.webp')).toBeNull();
        await storage.put('u/1/present.webp', pattern(5, 1), WEBP);
        expect(await storage.get('u/1/absent.webp')).toBeNull();
        expect(await storage.get('u/1/present.webp/deeper.webp')).toBeNull();
      });

      it('resolves null for a key that names a "directory" of other keys', async () => {
        await storage.put('u/1/x/a.webp', pattern(5, 1), WEBP);
        expect(await storage.get('u/1/x')).toBeNull();
      });
    });

    describe('delete', () => {
      it('resolves for a missing key', async () => {
        await expect(storage.delete('u/404/missing.webp')).resolves.toBeUndefined();
      });

      it('removes the object: get → null, list omits it, the backend no longer has it', async () => {
        await storage.put('u/1/gone.webp', pattern(20, 1), WEBP);
        await storage.put('u/1/stays.webp', pattern(20, 2), WEBP);
        await storage.delete('u/1/gone.webp');
        expect(await storage.get('u/1/gone.webp')).toBeNull();
        expect(await listKeys(storage, 'u/')).toEqual(['u/1/stays.webp']);
        if (probe) expect(await probe.rawExists('u/1/gone.webp')).toBe(false);
        await storage.delete('u/1/gone.webp');
      });

      it('allows a put after delete under the same key', async () => {
        await storage.put('u/1/again.webp', pattern(20, 1), WEBP);
        await storage.delete('u/1/again.webp');
        await storage.put('u/1/again.webp', pattern(30, 2), WEBP);
        expect(await sizeOf(storage, 'u/1/again.webp')).toBe(30);
      });
    });

    describe('overwrite', () => {
      it.skipIf(capabilities.atomicOverwrite === false)('is atomic: concurrent gets see one whole version, with matching size and etag, never null', async () => {
        // Different lengths and fill bytes, so a torn or mixed read is visible in the bytes and the length.
        const versions = [Buffer.alloc(300_000, 0x61), Buffer.alloc(200_000, 0x62), Buffer.alloc(250_000, 0x63)];
        const etags = new Map<string, string>();
        for (const version of versions) {
          await storage.put('u/1/atomic.webp', version, WEBP);
          etags.set(version.toString('latin1', 0, 1), await getEtag(storage, 'u/1/atomic.webp'));
        }
        // Every round starts a write and three reads together, so reads land before, during and after the rename.
        const reads: Array<{ body: Buffer; size: number; etag: string }> = [];
        const read = async () => {
          const object = await storage.get('u/1/atomic.webp');
          expect(object).not.toBeNull();
          reads.push({ body: await readBody(object!), size: object!.size, etag: object!.etag });
        };
        for (let i = 0; i < 30; i++) {
          await Promise.all([storage.put('u/1/atomic.webp', versions[i % versions.length]!, WEBP), read(), read(), read()]);
        }
        expect(reads).toHaveLength(90);
        for (const read of reads) {
          const whole = versions.find((version) => version.equals(read.body));
          expect(whole, `a read of ${read.body.byteLength} bytes matched no written version`).toBeDefined();
          expect(read.size).toBe(read.body.byteLength);
          expect(read.etag).toBe(etags.get(read.body.toString('latin1', 0, 1)));
        }
      });
    });

    describe('list', () => {
      beforeEach(async () => {
        for (const key of ['u/12/a.webp', 'u/12/b/c.webp', 'u/123/a.webp', 'u/1/a.webp', 'v/12/a.webp']) {
          await storage.put(key, pattern(key.length, 1), WEBP);
        }
      });

      it('matches whole path segments: u/12/ does not return u/123/…', async () => {
        expect(await listKeys(storage, 'u/12/')).toEqual(['u/12/a.webp', 'u/12/b/c.webp']);
        expect(await listKeys(storage, 'u/1/')).toEqual(['u/1/a.webp']);
      });

      it('lists nested keys and everything for an empty prefix', async () => {
        expect(await listKeys(storage, 'u/')).toEqual(['u/1/a.webp', 'u/12/a.webp', 'u/12/b/c.webp', 'u/123/a.webp']);
        expect(await listKeys(storage, '')).toEqual([
          'u/1/a.webp',
          'u/12/a.webp',
          'u/12/b/c.webp',
          'u/123/a.webp',
          'v/12/a.webp',
        ]);
      });

      it('yields nothing for a prefix that does not exist', async () => {
        expect(await listKeys(storage, 'nope/')).toEqual([]);
        expect(await listKeys(storage, 'u/12/a.webp/')).toEqual([]);
      });

      it('reports size and a valid lastModified', async () => {
        const before = Date.now();
        await storage.put('u/12/fresh.webp', pattern(777, 2), WEBP);
        const entries = await collect(storage.list('u/12/'));
        const fresh = entries.find((entry) => entry.key === 'u/12/fresh.webp');
        expect(fresh?.size).toBe(777);
        for (const entry of entries) {
          expect(entry.lastModified).toBeInstanceOf(Date);
          expect(Number.isNaN(entry.lastModified.getTime())).toBe(false);
        }
        // Loose bounds: filesystem timestamps can be coarse, but they must be "now", not epoch or the far future.
        expect(Math.abs(fresh!.lastModified.getTime() - before)).toBeLessThan(60_000);
      });

      it('rejects an unsafe prefix', async () => {
        await expect(collect(storage.list('../'))).rejects.toThrow();
        await expect(collect(storage.list('/etc/'))).rejects.toThrow();
      });
    });

    describe('unsafe keys', () => {
      for (const key of UNSAFE_KEYS) {
        it(`rejects ${JSON.stringify(key)} in put, get and delete and writes nothing anywhere`, async () => {
          await expect(call(() => storage.put(key, pattern(10, 1), WEBP))).rejects.toThrow();
          await expect(call(() => storage.get(key))).rejects.toThrow();
          await expect(call(() => storage.delete(key))).rejects.toThrow();
          expect(await listKeys(storage, '')).toEqual([]);
          if (probe?.rawFiles) expect(await probe.rawFiles()).toEqual([]);
          if (probe?.outsideRoot) expect(await probe.outsideRoot()).toEqual([]);
        });
      }

      it('rejects a non-string key', async () => {
        await expect(call(() => storage.put(42 as unknown as string, pattern(1, 1), WEBP))).rejects.toThrow();
        await expect(call(() => storage.get(undefined as unknown as string))).rejects.toThrow();
      });
    });

    describe('temporary files', () => {
      it.skipIf(!probe?.rawFiles)('leaves none after successful writes and deletes', async () => {
        await storage.put('u/7/a.webp', pattern(10_000, 1), WEBP);
        await storage.put('u/7/a.webp', pattern(20_000, 2), WEBP);
        await storage.put('u/7/b.webp', pattern(10, 3), WEBP);
        await storage.delete('u/7/b.webp');
        expect(await probe!.rawFiles!()).toEqual(['u/7/a.webp']);
      });

      it.skipIf(!probe?.rawFiles || !probe?.breakKey)('leaves none after a failed write, and keeps the rest', async () => {
        await storage.put('u/8/keep.webp', pattern(100, 1), WEBP);
        await probe!.breakKey!('u/8/broken.webp');
        await expect(storage.put('u/8/broken.webp', pattern(5_000, 2), WEBP)).rejects.toThrow();
        expect(await probe!.rawFiles!()).toEqual(['u/8/keep.webp']);
        expect(await listKeys(storage, '')).toEqual(['u/8/keep.webp']);
        expect(await sizeOf(storage, 'u/8/keep.webp')).toBe(100);
      });
    });

    describe('optional capabilities', () => {
      it.skipIf(!capabilities.url)('url(key) returns an absolute URL that ends with the key', () => {
        const url = storage.url!('u/1/a.webp');
        expect(() => new URL(url)).not.toThrow();
        expect(url.endsWith('u/1/a.webp')).toBe(true);
      });

      it.skipIf(!capabilities.signedUrl)('signedUrl(key) resolves an absolute URL that serves the bytes until expiresAt', async () => {
        const bytes = pattern(2000, 5);
        await storage.put('u/1/signed.webp', bytes, WEBP);
        const before = Date.now();
        const signed = await storage.signedUrl!('u/1/signed.webp');
        expect(['http:', 'https:']).toContain(new URL(signed.url).protocol);
        expect(signed.expiresAt.getTime()).toBeGreaterThan(before);
        const response = await fetch(signed.url);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('image/webp');
        expect(Buffer.compare(Buffer.from(await response.arrayBuffer()), bytes)).toBe(0);
      });

      it.skipIf(!capabilities.signedUrl)('signedUrl(key) rejects unsafe keys', async () => {
        for (const key of UNSAFE_KEYS) await expect(call(() => storage.signedUrl!(key)), key).rejects.toThrow();
      });

      describe.skipIf(!capabilities.deleteMany)('deleteMany(keys)', () => {
        it('removes every listed key, counts missing and repeated keys as deleted, keeps the rest', async () => {
          for (const key of ['u/1/a.webp', 'u/1/b.webp', 'u/2/c.webp', 'u/2/keep.webp']) {
            await storage.put(key, pattern(10, key.length), WEBP);
          }
          await storage.deleteMany!(['u/1/a.webp', 'u/1/b.webp', 'u/9/missing.webp', 'u/2/c.webp', 'u/1/a.webp']);
          expect(await listKeys(storage, '')).toEqual(['u/2/keep.webp']);
          expect(await storage.get('u/1/a.webp')).toBeNull();
          if (probe) expect(await probe.rawExists('u/2/c.webp')).toBe(false);
          await storage.deleteMany!(['u/1/a.webp']);
        });

        it('resolves for an empty list', async () => {
          await expect(storage.deleteMany!([])).resolves.toBeUndefined();
        });

        it('rejects an unsafe key before deleting anything', async () => {
          await storage.put('u/1/a.webp', pattern(10, 1), WEBP);
          for (const key of UNSAFE_KEYS) {
            await expect(call(() => storage.deleteMany!(['u/1/a.webp', key])), key).rejects.toThrow();
          }
          expect(await listKeys(storage, '')).toEqual(['u/1/a.webp']);
        });
      });

      it('sweepTemporary(), when present, never removes an object, however late the cutoff', async () => {
        if (!storage.sweepTemporary) return;
        await storage.put('u/1/a.webp', pattern(10, 1), WEBP);
        await storage.put('u/2/b.webp', pattern(20, 2), WEBP);
        const removed = await storage.sweepTemporary('', new Date(Date.now() + 24 * 60 * 60 * 1000));
        expect(removed).toBe(0);
        expect((await listKeys(storage, '')).sort()).toEqual(['u/1/a.webp', 'u/2/b.webp']);
        expect(await readBody((await storage.get('u/2/b.webp'))!)).toEqual(pattern(20, 2));
      });

      it('dispose() is safe to call twice', async () => {
        await storage.put('u/1/a.webp', pattern(10, 1), WEBP);
        await storage.dispose?.();
        await storage.dispose?.();
      });
    });

    options.additionalTests?.({ storage: () => storage });
  });
}

// --- helpers (exported for adapter-specific tests) ---

/** Deterministic bytes that differ by `seed`, so different puts are distinguishable. */
export function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 17) & 0xff;
  return bytes;
}

/** Reads a stored object's whole body. */
export async function readBody(object: StoredObject): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function getEtag(storage: StorageAdapter, key: string): Promise<string> {
  const object = await storage.get(key);
  if (!object) throw new Error(`expected ${key} to exist`);
  object.body.destroy();
  return object.etag;
}

async function sizeOf(storage: StorageAdapter, key: string): Promise<number> {
  const object = await storage.get(key);
  if (!object) throw new Error(`expected ${key} to exist`);
  object.body.destroy();
  return object.size;
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

/** Every key under `prefix`, sorted. */
export async function listKeys(storage: StorageAdapter, prefix: string): Promise<string[]> {
  return (await collect(storage.list(prefix))).map((entry) => entry.key).sort();
}

/** Turns a synchronous throw into a rejection, so both count as "rejected". */
function call<T>(run: () => Promise<T>): Promise<T> {
  return Promise.resolve().then(run);
}
