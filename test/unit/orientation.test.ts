/**
 * EXIF orientation is applied after shrinking (orientation.ts). These tests prove that this gives the same pixels as
 * sharp's own `autoOrient()` first, for all eight orientations, with and without a crop rectangle: the mapping of
 * displayed rectangles to stored ones exhaustively on a tiny image, and the whole upload on a photo-like one.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { applyOrientation, toStoredRect } from '../../src/orientation.js';
import { createTestService, readObject } from '../fixtures/service.js';

const ORIENTATIONS = [1, 2, 3, 4, 5, 6, 7, 8];

/** `width` × `height` RGB pixels, every one different, so any misplaced pixel shows. */
function uniquePixels(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set([(i * 10) % 256, (255 - i * 10) % 256, (i * 37) % 256], i * 3);
  return data;
}

describe('toStoredRect + applyOrientation', () => {
  const W = 5;
  const H = 3;
  const stored = uniquePixels(W, H);
  const raw = { raw: { width: W, height: H, channels: 3 as const } };

  it.each(ORIENTATIONS)('orientation %i: every crop rectangle gives the pixels autoOrient → extract gives', async (orientation) => {
    const tagged = await sharp(stored, raw).withMetadata({ orientation }).png().toBuffer();
    expect((await sharp(tagged).metadata()).orientation).toBe(orientation);
    const [displayWidth, displayHeight] = orientation >= 5 ? [H, W] : [W, H];
    let checked = 0;
    for (let left = 0; left < displayWidth; left++) {
      for (let top = 0; top < displayHeight; top++) {
        for (let width = 1; left + width <= displayWidth; width++) {
          for (let height = 1; top + height <= displayHeight; height++) {
            const rect = { left, top, width, height };
            const expected = await sharp(tagged).autoOrient().extract(rect).raw().toBuffer();
            const region = await sharp(stored, raw)
              .extract(toStoredRect(rect, orientation, W, H))
              .raw()
              .toBuffer({ resolveWithObject: true });
            const actual = await applyOrientation(sharp(region.data, { raw: region.info }), orientation).raw().toBuffer();
            expect(actual.equals(expected), `rect ${JSON.stringify(rect)}`).toBe(true);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(90); // C(6,2) × C(4,2) rectangles in a 5 × 3 (or 3 × 5) image
  });
});

describe('uploads with EXIF orientation', () => {
  /** A 360 × 240 photo-like JPEG: smooth gradients in every direction plus a dark bar near one corner. */
  async function photo(orientation: number): Promise<Buffer> {
    const [width, height] = [360, 240];
    const data = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bar = x > 20 && x < 120 && y > 10 && y < 40;
        data.set(bar ? [10, 10, 10] : [(x * 255) / width, (y * 255) / height, 128 + ((x - y) % 100)], (y * width + x) * 3);
      }
    }
    return sharp(data, { raw: { width, height, channels: 3 } }).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer();
  }

  const LARGEST = 160;
  const variants = { lg: LARGEST, sm: 40 };

  /**
   * What sharp produces when it orients first: the reference the stored variant must match. Like the service, it
   * derives smaller variants from the largest.
   */
  async function reference(input: Buffer, side: number, crop?: { left: number; top: number; width: number; height: number }) {
    let pipeline = sharp(input).autoOrient();
    if (crop) pipeline = pipeline.extract(crop);
    const largest = await pipeline.resize(LARGEST, LARGEST, { fit: 'cover' }).raw().toBuffer();
    if (side === LARGEST) return largest;
    return sharp(largest, { raw: { width: LARGEST, height: LARGEST, channels: 3 } }).resize(side, side).raw().toBuffer();
  }

  async function meanAbsoluteDifference(webp: Buffer, expected: Buffer): Promise<number> {
    const actual = await sharp(webp).removeAlpha().raw().toBuffer();
    expect(actual.length).toBe(expected.length);
    let sum = 0;
    for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i]! - expected[i]!);
    return sum / actual.length;
  }

  it.each(ORIENTATIONS)('orientation %i: every variant looks like autoOrient first', async (orientation) => {
    const input = await photo(orientation);
    const { pictures, storage } = createTestService({ variants });
    const record = await pictures.upload('u1', input);
    for (const [name, side] of Object.entries(variants)) {
      const stored = await readObject(storage, record.variants[name]!.key);
      // Only WebP's loss separates the two (~4 at 40 px); a wrong turn or mirror scores above 20 (last test).
      expect(await meanAbsoluteDifference(stored, await reference(input, side)), name).toBeLessThan(6);
    }
  });

  it.each(ORIENTATIONS)('orientation %i: a crop in displayed pixels selects the same region', async (orientation) => {
    const input = await photo(orientation);
    // Displayed size is 360 × 240 or, for 5–8, 240 × 360; this rectangle fits both and is off-centre in each.
    const crop = { left: 10, top: 30, width: 150, height: 110 };
    const { pictures, storage } = createTestService({ variants });
    const record = await pictures.upload('u1', input, { crop });
    const stored = await readObject(storage, record.variants.lg!.key);
    expect(await meanAbsoluteDifference(stored, await reference(input, 160, crop))).toBeLessThan(6);
  });

  it.each([
    [6, 8],
    [1, 2],
    [1, 4],
  ])('the tolerance catches a wrong turn or mirror: orientation %i vs %i differ by more than 20', async (a, b) => {
    for (const side of Object.values(variants)) {
      const wrong = await reference(await photo(b), side);
      const webp = await sharp(wrong, { raw: { width: side, height: side, channels: 3 } }).webp({ quality: 82 }).toBuffer();
      expect(await meanAbsoluteDifference(webp, await reference(await photo(a), side))).toBeGreaterThan(20);
    }
  });
});

describe('pixel-identical to orienting first (lossless output)', () => {
  /** 362 × 240 noise: resized to a 160 px short side it is 241 wide, an odd excess, and any 1-px shift shows. */
  async function noise(orientation: number, [width, height] = [362, 240]): Promise<Buffer> {
    const data = Buffer.alloc(width * height * 3);
    let seed = 7;
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = seed >>> 24;
    }
    return sharp(data, { raw: { width, height, channels: 3 } }).withMetadata({ orientation }).png().toBuffer();
  }

  async function storedPixels(input: Buffer, crop?: { left: number; top: number; width: number; height: number }) {
    // No master: the variants then come straight from the upload, the path these pixels must match exactly. With a
    // master they are resampled from its decoded pixels, which rounds a value here and there by up to 2 levels.
    const { pictures, storage } = createTestService({ variants: { lg: 160 }, output: { format: 'png' }, master: false });
    const record = await pictures.upload('u1', input, crop ? { crop } : {});
    return sharp(await readObject(storage, record.variants.lg!.key)).raw().toBuffer();
  }

  async function orientedFirst(input: Buffer, crop?: { left: number; top: number; width: number; height: number }) {
    let pipeline = sharp(input).autoOrient();
    if (crop) pipeline = pipeline.extract(crop);
    return pipeline.resize(160, 160, { fit: 'cover' }).raw().toBuffer();
  }

  it.each(ORIENTATIONS)('orientation %i: the stored square equals autoOrient → cover crop, pixel for pixel', async (orientation) => {
    const input = await noise(orientation);
    expect((await storedPixels(input)).equals(await orientedFirst(input))).toBe(true);
  });

  it.each(ORIENTATIONS)('orientation %i: the same region with a crop rectangle (odd excess again)', async (orientation) => {
    const input = await noise(orientation);
    // Fits 362 × 240 and 240 × 362; scaled to a 160 px short side it is 201 wide.
    const crop = { left: 10, top: 30, width: 214, height: 170 };
    const actual = await storedPixels(input, crop);
    const expected = await orientedFirst(input, crop);
    // For 5–8 libvips resizes the transposed crop with its two passes in the other order, so rounding differs a
    // little (mean ~0.7 on noise); a region one pixel off would differ by ~85 on average.
    let sum = 0;
    for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i]! - expected[i]!);
    expect(sum / actual.length).toBeLessThan(orientation >= 5 ? 2 : Number.EPSILON);
  });

  // 1000 × 777 at a 160 px short side is 205.9 px wide: cut from sharp's 'outside' resize, the square of an upright
  // photo differed from the cover crop (sharp scales it a little differently); sharp now cuts that one itself.
  it('orientation 1: equal even where the long side rounds', async () => {
    const input = await noise(1, [1000, 777]);
    expect((await storedPixels(input)).equals(await orientedFirst(input))).toBe(true);
  });
});
