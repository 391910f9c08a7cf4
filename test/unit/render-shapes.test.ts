/**
 * Extreme shapes: very tall, very wide and one-pixel images, and thin crops. The render trims the image (or the
 * crop) around its centre to at most 2:1 before resizing, so each costs about what a normal photo costs — a 13 KB
 * 16×90000 PNG used to be resized to 512×2.9 million pixels (4 GB) and abort the process. Outcomes are checked by
 * pixels: the centre of a strip, the edge a crop names. Time and memory are measured in a separate server process by
 * `test/integration/attack-shapes.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { MAX_RESIZE_ASPECT, trimToAspect } from '../../src/render.js';
import * as fx from '../fixtures/index.js';
import { createTestService, listKeys, readObject, rejectionOf } from '../fixtures/service.js';

/** Colours at four points of the stored 512 px variant, across the first and second half of each axis. */
async function largeVariantColours(bytes: Uint8Array, options: Parameters<typeof createTestService>[0] = {}, crop?: object) {
  const { pictures, storage } = createTestService(options);
  const record = await pictures.upload('u1', bytes, crop ? { crop: crop as never } : {});
  expect(record.variants.lg).toMatchObject({ width: 512, height: 512 });
  const large = await readObject(storage, record.variants.lg!.key);
  const at = (x: number, y: number) => fx.pixelAt(large, x, y);
  return { top: await at(256, 100), bottom: await at(256, 412), left: await at(100, 256), right: await at(412, 256) };
}

const isColour = (actual: readonly number[], expected: fx.Rgb) => fx.near(actual, expected);
/** Closer to `expected` than to `other`: a two-pixel source upscaled 256× is a gradient, not two flat colours. */
const closerTo = (actual: readonly number[], expected: fx.Rgb, other: fx.Rgb) => {
  const distance = (colour: fx.Rgb) => colour.reduce((sum, value, i) => sum + Math.abs(value - actual[i]!), 0);
  return distance(expected) < distance(other);
};

describe('very tall and very wide images', () => {
  it.each([
    [16, 90_000],
    [16, 100_000],
    [3, 40_000],
  ])('a %i×%i strip renders the centre of its length (red above, blue below)', async (width, height) => {
    const colours = await largeVariantColours(await fx.pngStrip(width, height), { limits: { minSide: 1 } });
    expect(isColour(colours.top, fx.RED), `top ${colours.top}`).toBe(true);
    expect(isColour(colours.bottom, fx.BLUE), `bottom ${colours.bottom}`).toBe(true);
  });

  it.each([
    [90_000, 16],
    [100_000, 16],
  ])('a %i×%i strip renders the centre of its width (red left, blue right)', async (width, height) => {
    const colours = await largeVariantColours(await fx.pngStrip(width, height));
    expect(isColour(colours.left, fx.RED), `left ${colours.left}`).toBe(true);
    expect(isColour(colours.right, fx.BLUE), `right ${colours.right}`).toBe(true);
  });

  it('1×N and N×1 images render when limits.minSide allows one pixel', async () => {
    const tall = await largeVariantColours(await fx.pngStrip(1, 60_000), { limits: { minSide: 1 } });
    expect([closerTo(tall.top, fx.RED, fx.BLUE), closerTo(tall.bottom, fx.BLUE, fx.RED)]).toEqual([true, true]);
    const wide = await largeVariantColours(await fx.pngStrip(60_000, 1), { limits: { minSide: 1 } });
    expect([closerTo(wide.left, fx.RED, fx.BLUE), closerTo(wide.right, fx.BLUE, fx.RED)]).toEqual([true, true]);
  });

  it('a strip thinner than limits.minSide is still refused from its header: IMAGE_TOO_SMALL 422', async () => {
    const { pictures, storage } = createTestService();
    const error = await rejectionOf(pictures.upload('u1', await fx.pngStrip(1, 60_000)));
    expect([error.code, error.status, error.details]).toEqual(['IMAGE_TOO_SMALL', 422, { width: 1, height: 60_000, minSide: 16 }]);
    expect(await listKeys(storage)).toEqual([]);
  });
});

describe('thin crops and crops at the edges (36 MP JPEG: red | green over blue | white)', () => {
  it.each([
    ['1 px wide', { left: 0, top: 0, width: 1, height: 6000 }],
    ['1 px high', { left: 0, top: 0, width: 6000, height: 1 }],
    ['1 px wide at the right edge', { left: 5999, top: 0, width: 1, height: 6000 }],
    ['1 px high at the bottom edge', { left: 0, top: 5999, width: 6000, height: 1 }],
    ['one pixel', { left: 2999, top: 2999, width: 1, height: 1 }],
    ['15 px, under limits.minSide', { left: 100, top: 100, width: 15, height: 400 }],
  ])('%s → INVALID_CROP 400 (too-small), nothing stored, the old picture kept', async (_label, crop) => {
    const { pictures, storage } = createTestService();
    const before = await pictures.upload('u1', await fx.pngGreen());
    const keysBefore = await listKeys(storage);
    const error = await rejectionOf(pictures.upload('u1', await fx.jpegQuadrants36Megapixel(), { crop }));
    expect([error.code, error.status]).toEqual(['INVALID_CROP', 400]);
    expect(error.details).toEqual({ reason: 'too-small', ...crop, imageWidth: 6000, imageHeight: 6000, minSide: 16 });
    expect(await listKeys(storage)).toEqual(keysBefore);
    expect(await pictures.get('u1')).toEqual(before);
  });

  it('a crop past the edge says so: INVALID_CROP with reason outside', async () => {
    const { pictures } = createTestService();
    const crop = { left: 5990, top: 0, width: 16, height: 6000 };
    const error = await rejectionOf(pictures.upload('u1', await fx.jpegQuadrants36Megapixel(), { crop }));
    expect(error.details).toMatchObject({ reason: 'outside', ...crop });
  });

  it('a 16 px column at the right edge renders its middle: green above, white below', async () => {
    const colours = await largeVariantColours(await fx.jpegQuadrants36Megapixel(), {}, { left: 5984, top: 0, width: 16, height: 6000 });
    expect([isColour(colours.top, fx.GREEN), isColour(colours.bottom, fx.WHITE)]).toEqual([true, true]);
  });

  it('a 16 px row at the bottom edge renders its middle: blue left, white right', async () => {
    const colours = await largeVariantColours(await fx.jpegQuadrants36Megapixel(), {}, { left: 0, top: 5984, width: 6000, height: 16 });
    expect([isColour(colours.left, fx.BLUE), isColour(colours.right, fx.WHITE)]).toEqual([true, true]);
  });

  it.each([
    ['top left', { left: 0, top: 0, width: 16, height: 16 }, fx.RED],
    ['top right', { left: 5984, top: 0, width: 16, height: 16 }, fx.GREEN],
    ['bottom left', { left: 0, top: 5984, width: 16, height: 16 }, fx.BLUE],
    ['bottom right', { left: 5984, top: 5984, width: 16, height: 16 }, fx.WHITE],
  ])('a 16 px square in the %s corner fills the picture with that quadrant', async (_label, crop, colour) => {
    const colours = await largeVariantColours(await fx.jpegQuadrants36Megapixel(), {}, crop);
    for (const seen of Object.values(colours)) expect(isColour(seen, colour), `${seen}`).toBe(true);
  });

  it('a 1 px column renders when limits.minSide allows one pixel', async () => {
    const crop = { left: 5999, top: 0, width: 1, height: 6000 };
    const colours = await largeVariantColours(await fx.jpegQuadrants36Megapixel(), { limits: { minSide: 1 } }, crop);
    expect([closerTo(colours.top, fx.GREEN, fx.WHITE), closerTo(colours.bottom, fx.WHITE, fx.GREEN)]).toEqual([true, true]);
  });
});

describe('trimToAspect', () => {
  it('leaves a rectangle up to the aspect alone (same object)', () => {
    const rect = { left: 3, top: 4, width: 200, height: 100 };
    expect(trimToAspect(rect, 2)).toBe(rect);
    const tall = { left: 0, top: 0, width: 100, height: 200 };
    expect(trimToAspect(tall, 2)).toBe(tall);
  });

  it.each([
    // [rect, expected]: the trimmed rectangle keeps the exact centre (excess even, one pixel longer if need be)
    [{ left: 0, top: 0, width: 16, height: 90_000 }, { left: 0, top: 44_984, width: 16, height: 32 }],
    [{ left: 0, top: 0, width: 16, height: 90_001 }, { left: 0, top: 44_984, width: 16, height: 33 }],
    [{ left: 10, top: 20, width: 1001, height: 100 }, { left: 410, top: 20, width: 201, height: 100 }],
    [{ left: 5, top: 7, width: 1, height: 6000 }, { left: 5, top: 3006, width: 1, height: 2 }],
  ])('%o → %o', (rect, expected) => {
    const trimmed = trimToAspect(rect, MAX_RESIZE_ASPECT);
    expect(trimmed).toEqual(expected);
    const centre = (r: typeof rect) => [r.left * 2 + r.width, r.top * 2 + r.height];
    expect(centre(trimmed)).toEqual(centre(rect));
  });
});
