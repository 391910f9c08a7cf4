/**
 * upload() refuses what is not an acceptable image, through the public API: the right code and status, and nothing
 * stored, nothing recorded, the previous picture untouched.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/index.js';
import * as fx from '../fixtures/index.js';
import { createTestService, listKeys, recordKeys, rejectionOf, serviceWithPicture } from '../fixtures/service.js';

const MiB = 1024 * 1024;

/** A JPEG followed by zero bytes up to exactly `size` bytes (decoders stop at the end-of-image marker). */
async function jpegPaddedTo(size: number): Promise<Buffer> {
  const jpeg = await fx.jpegLeftRedRightBlue();
  return Buffer.concat([jpeg, Buffer.alloc(size - jpeg.byteLength)]);
}

describe('content, not names or declared types', () => {
  it.each([
    ['svg', 'UNSUPPORTED_TYPE', 415],
    ['svgWithXmlProlog', 'UNSUPPORTED_TYPE', 415],
    ['tiff', 'UNSUPPORTED_TYPE', 415],
    ['heic', 'UNSUPPORTED_TYPE', 415],
    ['pdf', 'UNSUPPORTED_TYPE', 415],
    ['zip', 'UNSUPPORTED_TYPE', 415],
    ['mp4', 'UNSUPPORTED_TYPE', 415],
    ['html', 'NOT_AN_IMAGE', 422],
    ['text', 'NOT_AN_IMAGE', 422],
    ['jpegTruncated', 'CORRUPT_IMAGE', 422],
    ['bmpTruncated', 'CORRUPT_IMAGE', 422],
    ['pngDecompressionBomb', 'IMAGE_TOO_LARGE', 422],
    ['bmpHugeDimensions', 'IMAGE_TOO_LARGE', 422],
    ['pngTiny', 'IMAGE_TOO_SMALL', 422],
  ] as const)('%s → %s %i, nothing changes', async (name, code, status) => {
    const { pictures, unchanged } = await serviceWithPicture();
    const error = await rejectionOf(pictures.upload('u1', await fx[name]()));
    expect({ code: error.code, status: error.status, expose: error.expose }).toEqual({ code, status, expose: true });
    await unchanged();
  });

  it('empty input → NO_FILE 400', async () => {
    const { pictures, unchanged } = await serviceWithPicture();
    for (const input of [Buffer.alloc(0), new Uint8Array(0), Readable.from([])]) {
      const error = await rejectionOf(pictures.upload('u1', input));
      expect([error.code, error.status]).toEqual(['NO_FILE', 400]);
    }
    await unchanged();
  });

  it('the decompression bomb is refused without its pixels ever being allocated', async () => {
    const { pictures } = createTestService();
    const bomb = await fx.pngDecompressionBomb();
    const rssBefore = process.memoryUsage().rss;
    const error = await rejectionOf(pictures.upload('u1', bomb));
    expect(error.details).toEqual({ width: 20_000, height: 20_000, limit: DEFAULTS.limits.inputPixels });
    // Decoded, the bomb is at least 400 MB of pixels.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * MiB);
  });

  it('the error message can be overridden per code', async () => {
    const { pictures } = createTestService({
      messages: { UNSUPPORTED_TYPE: (details) => `Nope: ${String(details.detected)}`, NOT_AN_IMAGE: 'Pas une image.' },
    });
    expect((await rejectionOf(pictures.upload('u1', fx.svg()))).message).toBe('Nope: image/svg+xml');
    expect((await rejectionOf(pictures.upload('u1', fx.text()))).message).toBe('Pas une image.');
  });
});

describe('file size limit', () => {
  it('defaults to 5 MiB, inclusive', async () => {
    const { pictures, storage } = createTestService({ variants: { sm: 16 } });
    expect(pictures.options.limits.fileSize).toBe(5 * MiB);
    const record = await pictures.upload('u1', await jpegPaddedTo(5 * MiB));
    expect(record.variants.sm).toMatchObject({ width: 16, height: 16 });
    const before = await listKeys(storage);
    const error = await rejectionOf(pictures.upload('u1', await jpegPaddedTo(5 * MiB + 1)));
    expect([error.code, error.status]).toEqual(['FILE_TOO_LARGE', 413]);
    expect(error.details).toEqual({ limit: 5 * MiB, received: 5 * MiB + 1 });
    expect(await listKeys(storage)).toEqual(before);
  });

  it('a configured limit applies to buffers and streams', async () => {
    const { pictures, unchanged } = await serviceWithPicture({ limits: { fileSize: 1000 } });
    const jpeg = await fx.jpegLeftRedRightBlue();
    expect(jpeg.byteLength).toBeGreaterThan(1000);
    expect((await rejectionOf(pictures.upload('u1', jpeg))).code).toBe('FILE_TOO_LARGE');
    expect((await rejectionOf(pictures.upload('u1', Readable.from([jpeg])))).code).toBe('FILE_TOO_LARGE');
    await unchanged();
  });

  it('a 50 MB stream is read only up to the limit', async () => {
    const { pictures, unchanged } = await serviceWithPicture();
    const chunk = 64 * 1024;
    let pulled = 0;
    const endless = new Readable({
      read() {
        if (pulled >= 50 * 1000 * 1000) return void this.push(null);
        pulled += chunk;
        this.push(Buffer.alloc(chunk, 0xff));
      },
    });
    const error = await rejectionOf(pictures.upload('u1', endless));
    expect(error.code).toBe('FILE_TOO_LARGE');
    // The limit, the chunk that crossed it, and at most the stream's own read-ahead buffer.
    expect(pulled).toBeLessThanOrEqual(5 * MiB + chunk + endless.readableHighWaterMark);
    expect(endless.destroyed).toBe(true);
    await unchanged();
  });

  it('a stream that fits is uploaded', async () => {
    const { pictures, storage } = createTestService();
    const jpeg = await fx.jpegLeftRedRightBlue();
    const chunks = [jpeg.subarray(0, 100), jpeg.subarray(100, 5000), jpeg.subarray(5000)];
    const record = await pictures.upload('u1', Readable.from(chunks));
    expect(await listKeys(storage)).toEqual(recordKeys(record));
  });
});
