/**
 * The `moderate` hook through the service, with real rendering and memory storage: what the hook sees, and that
 * reject, throw, a bad answer, a timeout and an abort each store nothing and leave the current picture as it was.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type ModerationRequest,
  type PictureRecord,
  type ProfilePictures,
  type StorageAdapter,
} from '../../src/index.js';
import { moderationVariant } from '../../src/moderation.js';
import { createTestService, listKeys, readObject, rejectionOf } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';

const [first, second] = await distinctImages(2, 300);

/** A service whose first picture is stored, and a snapshot of storage and record to compare with afterwards. */
async function withPicture(moderate: (request: ModerationRequest) => unknown, options: Record<string, unknown> = {}) {
  let judging = false;
  const service = createTestService({
    ...options,
    // Lets the first upload through so there is a current picture to keep.
    moderate: (request) => (judging ? (moderate(request) as never) : 'allow'),
  });
  const record = await service.pictures.upload('42', first!);
  judging = true;
  const keys = await listKeys(service.storage);
  return { ...service, record, keys };
}

async function expectUnchanged(pictures: ProfilePictures, storage: StorageAdapter, record: PictureRecord, keys: string[]) {
  await pictures.flush();
  expect(await pictures.get('42')).toEqual(record);
  expect(await listKeys(storage)).toEqual(keys);
}

describe('moderate', () => {
  it('receives the rendered md variant and the user id; allow commits', async () => {
    const seen: ModerationRequest[] = [];
    const { pictures, storage } = createTestService({
      moderate: (request) => {
        seen.push(request);
        return Promise.resolve('allow');
      },
    });
    const record = await pictures.upload('42', first!);
    expect(seen).toHaveLength(1);
    const { userId, image, signal } = seen[0]!;
    expect(userId).toBe('42');
    expect(image).toMatchObject({ contentType: 'image/webp', width: 256, height: 256, variant: 'md' });
    expect(signal.aborted).toBe(false);
    // Exactly the bytes that were stored as md: rendered, re-encoded.
    expect(Buffer.from(image.bytes)).toEqual(await readObject(storage, record.variants.md!.key));
    expect(await sharp(image.bytes).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });
  });

  it('gets a copy: a hook that overwrites the bytes it was given does not change what is stored', async () => {
    let given: Uint8Array | undefined;
    // A storage that reads what it is given only later (a buffering or retrying client): the hook runs meanwhile.
    const storage = memoryStorage();
    const late: StorageAdapter = { ...storage, put: async (key, data, options) => (await sleep(500), storage.put(key, data, options)) };
    const pictures = createProfilePictures({
      storage: late,
      users: memoryUserRepository(),
      moderate: ({ image }) => {
        given = image.bytes;
        image.bytes.fill(0);
        return 'allow';
      },
    });
    const record = await pictures.upload('42', first!);
    expect(given!.every((byte) => byte === 0)).toBe(true);
    const stored = await readObject(storage, record.variants.md!.key);
    expect(await sharp(stored).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });
  });

  it('without md, judges the variant closest to 256 (the larger on a tie)', async () => {
    expect(moderationVariant({ sm: 64, md: 512 })).toBe('md');
    expect(moderationVariant({ sm: 64, big: 300, lg: 512 })).toBe('big');
    expect(moderationVariant({ a: 200, b: 312 })).toBe('b');
    expect(moderationVariant({ tiny: 16 })).toBe('tiny');
    const widths: number[] = [];
    const { pictures } = createTestService({
      variants: { sm: 64, lg: 200 },
      moderate: ({ image }) => (widths.push(image.width), 'allow'),
    });
    await pictures.upload('42', first!);
    expect(widths).toEqual([200]);
  });

  it('{ reject } fails with 422 REJECTED and the reason; nothing is stored, the current picture stays', async () => {
    const { pictures, storage, record, keys } = await withPicture(() => ({ reject: 'Nudity is not allowed.' }));
    const error = await rejectionOf(pictures.upload('42', second!));
    expect(error).toMatchObject({ code: 'REJECTED', status: 422, expose: true, details: { reason: 'Nudity is not allowed.' } });
    expect(error.message).toBe('This picture was not accepted: Nudity is not allowed.');
    expect(error.toJSON()).toEqual({
      error: { code: 'REJECTED', message: 'This picture was not accepted: Nudity is not allowed.', details: { reason: 'Nudity is not allowed.' } },
    });
    await expectUnchanged(pictures, storage, record, keys);
  });

  it('a hook that throws fails with 502 MODERATION_FAILED carrying the cause; nothing is stored', async () => {
    const boom = new Error('classifier unreachable');
    const { pictures, storage, record, keys } = await withPicture(() => Promise.reject(boom));
    const error = await rejectionOf(pictures.upload('42', second!));
    expect(error).toMatchObject({ code: 'MODERATION_FAILED', status: 502, expose: false, cause: boom });
    expect(error.toJSON()).toEqual({ error: { code: 'MODERATION_FAILED', message: 'The picture could not be checked; try again later.' } });
    await expectUnchanged(pictures, storage, record, keys);

    const sync = await withPicture(() => {
      throw boom;
    });
    expect(await rejectionOf(sync.pictures.upload('42', second!))).toMatchObject({ code: 'MODERATION_FAILED', cause: boom });
    await expectUnchanged(sync.pictures, sync.storage, sync.record, sync.keys);
  });

  it('an answer that is neither allow nor { reject: string } fails closed with MODERATION_FAILED', async () => {
    for (const answer of ['yes', undefined, { reject: 42 }, { allow: true }]) {
      const { pictures, storage, record, keys } = await withPicture(() => answer);
      const error = await rejectionOf(pictures.upload('42', second!));
      expect(error.code, JSON.stringify(answer)).toBe('MODERATION_FAILED');
      expect(String((error.cause as Error).message)).toMatch(/not 'allow' or \{ reject \}/);
      await expectUnchanged(pictures, storage, record, keys);
    }
  });

  it('a hook slower than timeouts.moderateMs fails with MODERATION_FAILED and sees its signal abort', async () => {
    let hookSignal: AbortSignal | undefined;
    const { pictures, storage, record, keys } = await withPicture(
      ({ signal }) => {
        hookSignal = signal;
        return new Promise(() => {}); // never answers
      },
      { timeouts: { moderateMs: 150 } },
    );
    const started = Date.now();
    const error = await rejectionOf(pictures.upload('42', second!));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: 'MODERATION_FAILED', details: { timeoutMs: 150 } });
    expect(hookSignal?.aborted).toBe(true);
    await expectUnchanged(pictures, storage, record, keys);
  });

  it('aborting the upload while the hook runs fails with ABORTED and stores nothing', async () => {
    const controller = new AbortController();
    let hookSignal: AbortSignal | undefined;
    const { pictures, storage, record, keys } = await withPicture(({ signal }) => {
      hookSignal = signal;
      setTimeout(() => controller.abort(), 20);
      return new Promise(() => {});
    });
    const error = await rejectionOf(pictures.upload('42', second!, { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
    expect(hookSignal?.aborted).toBe(true);
    await expectUnchanged(pictures, storage, record, keys);
  });

  it('an upload that fails otherwise (a put) aborts the hook signal at once, not only after moderateMs', async () => {
    const base = memoryStorage();
    // The largest variant's put fails a moment after the hook was called.
    const storage: StorageAdapter = {
      ...base,
      put: async (key, bytes, meta) => {
        if (!key.endsWith('-lg.webp')) return base.put(key, bytes, meta);
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('disk full');
      },
    };
    let hookSignal: AbortSignal | undefined;
    const pictures = createProfilePictures({
      storage,
      users: memoryUserRepository(),
      timeouts: { moderateMs: 60_000 },
      moderate: ({ signal }) => {
        hookSignal = signal;
        return new Promise(() => {}); // a slow moderation call, waiting on its signal
      },
    });
    const error = await rejectionOf(pictures.upload('42', first!));
    expect(error.code).toBe('STORAGE_FAILED');
    expect(hookSignal).toBeDefined();
    expect(hookSignal!.aborted).toBe(true); // nobody waits for the verdict any more
    expect(await listKeys(base)).toEqual([]);
  });

  it('rejects a moderate option that is not a function, naming it', () => {
    expect(() => createTestService({ moderate: 'strict' as never })).toThrow(
      'Expected a function for `moderate` but received "strict" (string)',
    );
  });
});
