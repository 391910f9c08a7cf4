/**
 * The `animated` option through the public service: animated GIF and WebP in → animated WebP variants out (frames,
 * delays, loop, pixels of every frame), the same crop on every frame, stills equal to frame 0, frame bombs refused
 * from the header, and the stills' objects kept, served and cleaned up like the variants.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { frameRgb, gifFrameBomb, meanDifference, quadrantGif, TERMINAL_GIF, TERMINAL_WEBP } from '../fixtures/animated.js';
import { pngGreen } from '../fixtures/index.js';
import { createTestService, listKeys, readObject, recordKeys, rejectionOf } from '../fixtures/service.js';

/** The centred square of the 240×158 fixture: every frame is cut to it. */
const TERMINAL_SQUARE = { left: 41, top: 0, width: 158, height: 158 };
/** The same frame turned upright from EXIF orientation 6: 158 × 240, its square centred vertically. */
const TERMINAL_SQUARE_ROTATED = { left: 0, top: 41, width: 158, height: 158 };

describe.each([
  ['GIF', TERMINAL_GIF],
  ['WebP', TERMINAL_WEBP],
])('animated %s in → animated WebP out', (_name, fixture) => {
  it('every variant has every frame, the delays and the loop count, and no metadata', async () => {
    const { pictures, storage } = createTestService({ animated: true });
    const record = await pictures.upload('u1', fixture.bytes);
    expect(record.contentType).toBe('image/webp');
    for (const [name, side] of Object.entries({ sm: 64, md: 256, lg: 512 })) {
      const variant = record.variants[name]!;
      const meta = await sharp(await readObject(storage, variant.key)).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: side, height: side, pages: 8, loop: fixture.loop });
      expect(meta.delay).toEqual(fixture.delay);
      expect({ exif: meta.exif, xmp: meta.xmp, icc: meta.icc }).toEqual({ exif: undefined, xmp: undefined, icc: undefined });
      expect(variant).toMatchObject({ width: side, height: side });
    }
  });

  it("each frame's pixels are sharp's resize of that frame's centred square, and the still is frame 0", async () => {
    const { pictures, storage } = createTestService({ animated: true });
    const record = await pictures.upload('u1', fixture.bytes);
    const large = await readObject(storage, record.variants.lg!.key);
    const expected = await Promise.all(
      Array.from({ length: 8 }, (_, page) => frameRgb(fixture.bytes, page, (image) => image.extract(TERMINAL_SQUARE).resize(512, 512))),
    );
    for (let page = 0; page < 8; page++) {
      const actual = await frameRgb(large, page);
      const own = meanDifference(actual.data, expected[page]!.data);
      // Lossy WebP stays within ~0.5; the same square one pixel to the side differs by ~4.5.
      expect(own, `frame ${page}`).toBeLessThan(1.5);
      // And it is this frame, not another: closer to its own reference than to any visibly different frame's.
      for (const [other, reference] of expected.entries()) {
        if (meanDifference(reference.data, expected[page]!.data) > 1) {
          expect(meanDifference(actual.data, reference.data), `frame ${page} vs ${other}`).toBeGreaterThan(own);
        }
      }
    }

    expect(Object.keys(record.stills!)).toEqual(['sm', 'md', 'lg']);
    const still = await readObject(storage, record.stills!.lg!.key);
    const stillMeta = await sharp(still).metadata();
    expect(stillMeta).toMatchObject({ format: 'webp', width: 512, height: 512 });
    expect(stillMeta.pages ?? 1).toBe(1);
    const stillPixels = await frameRgb(still, 0);
    expect(meanDifference(stillPixels.data, (await frameRgb(large, 0)).data)).toBeLessThan(1.5);
    expect(meanDifference(stillPixels.data, expected[0]!.data)).toBeLessThan(1.5);
  });
});

describe('one square for every frame', () => {
  const colours: Array<[string, string, string, string]> = [
    ['#ff0000', '#00ff00', '#0000ff', '#ffff00'],
    ['#00ffff', '#ff00ff', '#ffffff', '#000000'],
    ['#808080', '#ff8000', '#0080ff', '#80ff00'],
  ];
  const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

  it('a crop rectangle is applied to every frame (its centred square)', async () => {
    const gif = await quadrantGif(200, 120, colours, [100, 200, 300]);
    const { pictures, storage } = createTestService({ animated: true });
    // Inside the top-right quadrant: the square is x 120–180, y 0–60.
    const record = await pictures.upload('u1', gif, { crop: { left: 100, top: 0, width: 100, height: 60 } });
    const md = await readObject(storage, record.variants.md!.key);
    expect((await sharp(md).metadata()).delay).toEqual([100, 200, 300]);
    for (let page = 0; page < 3; page++) {
      const { data, width } = await frameRgb(md, page);
      for (const [x, y] of [[4, 4], [128, 128], [250, 250]] as const) {
        const at = (y * width + x) * 3;
        const pixel = [data[at]!, data[at + 1]!, data[at + 2]!];
        rgb(colours[page]![1]).forEach((channel, i) => expect(Math.abs(pixel[i]! - channel), `frame ${page} at ${x},${y}`).toBeLessThan(12));
      }
    }
    // The still is frame 0 cut the same way: all top-right green.
    const still = await frameRgb(await readObject(storage, record.stills!.md!.key), 0);
    expect([...still.data.subarray(0, 3)].map((c) => Math.round(c / 16))).toEqual([0, 16, 0]);
  });

  it("position 'entropy' picks the square on frame 0 and cuts every frame there", async () => {
    // Frame 0: flat left two thirds, noisy right third; later frames flat everywhere, a colour per third.
    const noise = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
      .png()
      .toBuffer();
    const flat = (left: string, middle: string, right: string) =>
      sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100"><rect width="100" height="100" fill="${left}"/>` +
        `<rect x="100" width="100" height="100" fill="${middle}"/><rect x="200" width="100" height="100" fill="${right}"/></svg>`)).png().toBuffer();
    const first = await sharp(await flat('#ff0000', '#ff0000', '#ff0000')).composite([{ input: noise, left: 200, top: 0 }]).png().toBuffer();
    const frames = [first, await flat('#ff0000', '#00ff00', '#0000ff'), await flat('#ffff00', '#00ffff', '#ff00ff')];
    const gif = await sharp(frames, { join: { animated: true } }).gif({ delay: [100, 100, 100] }).toBuffer();
    const { pictures, storage } = createTestService({ animated: true, position: 'entropy' });
    const record = await pictures.upload('u1', gif);
    const md = await readObject(storage, record.variants.md!.key);
    for (const [page, colour] of [[1, [0, 0, 255]], [2, [255, 0, 255]]] as const) {
      const { data } = await frameRgb(md, page);
      const at = (128 * 256 + 128) * 3;
      colour.forEach((channel, i) => expect(Math.abs(data[at + i]! - channel), `frame ${page}`).toBeLessThan(12));
    }
  });
});

describe('animated: false (the default)', () => {
  it('an animated GIF becomes single-frame variants of its first frame, without stills, and a still master', async () => {
    const { pictures, storage } = createTestService();
    const record = await pictures.upload('u1', TERMINAL_GIF.bytes);
    expect(record.stills).toBeUndefined();
    const large = await readObject(storage, record.variants.lg!.key);
    expect((await sharp(large).metadata()).pages ?? 1).toBe(1);
    const frame0 = await frameRgb(TERMINAL_GIF.bytes, 0, (image) => image.extract(TERMINAL_SQUARE).resize(512, 512));
    expect(meanDifference((await frameRgb(large, 0)).data, frame0.data)).toBeLessThan(1.5);
    // Three variants and the default master, which is the first frame too: a still can be re-rendered from it.
    expect(await listKeys(storage)).toEqual(recordKeys(record));
    expect(await listKeys(storage)).toHaveLength(4);
    expect((await sharp(await readObject(storage, record.master!.key)).metadata()).pages ?? 1).toBe(1);
  });

  it('stays off for an animated WebP with an EXIF rotation even when on (sharp cannot rotate animations)', async () => {
    const frames = await Promise.all([0, 3, 6].map((page) => sharp(TERMINAL_GIF.bytes, { page }).png().toBuffer()));
    const rotated = await sharp(frames, { join: { animated: true } }).withMetadata({ orientation: 6 }).webp({ delay: [100, 100, 100] }).toBuffer();
    expect(await sharp(rotated).metadata()).toMatchObject({ pages: 3, orientation: 6 });
    const { pictures, storage } = createTestService({ animated: true });
    const record = await pictures.upload('u1', rotated);
    expect(record.stills).toBeUndefined();
    const large = await readObject(storage, record.variants.lg!.key);
    expect((await sharp(large).metadata()).pages ?? 1).toBe(1);
    // Upright: frame 0 turned a quarter clockwise, then its centred square.
    const upright = await frameRgb(rotated, 0, (image) => image.rotate(90).extract(TERMINAL_SQUARE_ROTATED).resize(512, 512));
    expect(meanDifference((await frameRgb(large, 0)).data, upright.data)).toBeLessThan(1.5);
  });

  it('a frame bomb costs nothing: only the first frame is decoded', async () => {
    const { pictures } = createTestService();
    const record = await pictures.upload('u1', gifFrameBomb(1000, 1000, 3000));
    expect(record.variants.lg).toMatchObject({ width: 512, height: 512 });
  });
});

describe('limits.animationPixels', () => {
  it('refuses a frame bomb with 422 IMAGE_TOO_LARGE from the header, before decoding, and stores nothing', async () => {
    const { pictures, storage } = createTestService({ animated: true });
    const before = await pictures.upload('u1', await pngGreen());
    const keys = await listKeys(storage);
    // 3,000 frames of 1000 × 1000: each frame far under inputPixels, 3 billion pixels in all, 69 KB of file.
    const bomb = gifFrameBomb(1000, 1000, 3000);
    const started = performance.now();
    const error = await rejectionOf(pictures.upload('u1', bomb));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', status: 422 });
    expect(error.details).toEqual({ frames: 3000, width: 1000, height: 1000, limit: 25_000_000 });
    expect(error.message).toBe('The animation is too long or too large (3000 frames); choose a shorter or smaller one.');
    // Decoding 3,000 megapixel frames would take minutes; the header walk takes milliseconds (generous for CI load).
    expect(elapsed).toBeLessThan(3_000);
    expect(await listKeys(storage)).toEqual(keys);
    expect(await pictures.get('u1')).toEqual(before);
  });

  it('counts tiny frames at the largest variant, since each is encoded at that size', async () => {
    const bomb = gifFrameBomb(16, 16, 100); // 25,600 source pixels; 100 × 512² = 26 M encoded
    const { pictures } = createTestService({ animated: true });
    expect(await rejectionOf(pictures.upload('u1', bomb))).toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      details: { frames: 100, width: 16, height: 16, limit: 25_000_000 },
    });
    // With a 64 px largest variant the same file is 100 × 64² = 410 K: rendered.
    const small = createTestService({ animated: true, variants: { sm: 64 } });
    const record = await small.pictures.upload('u1', bomb);
    expect(record.variants.sm).toMatchObject({ width: 64, height: 64 });
  });

  it('a raised cap lets a longer animation through; inputPixels still bounds each frame', async () => {
    // 8 frames, each counted as 512² (the frames are 240 × 158): 2,097,152.
    const { pictures } = createTestService({ animated: true, limits: { animationPixels: 8 * 512 * 512 - 1 } });
    expect(await rejectionOf(pictures.upload('u1', TERMINAL_GIF.bytes))).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    const raised = createTestService({ animated: true, limits: { animationPixels: 8 * 512 * 512 } });
    expect((await raised.pictures.upload('u1', TERMINAL_GIF.bytes)).stills).toBeDefined();
    const perFrame = createTestService({ animated: true, limits: { inputPixels: 240 * 157, animationPixels: 1e9 } });
    expect(await rejectionOf(perFrame.pictures.upload('u1', TERMINAL_GIF.bytes))).toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      details: { width: 240, height: 158, limit: 240 * 157 },
    });
  });
});

describe('stills in the record', () => {
  it('url() answers the still on request, the animation otherwise, and a still record either way', async () => {
    const { pictures } = createTestService({ animated: true });
    const animated = await pictures.upload('u1', TERMINAL_GIF.bytes);
    expect(pictures.url(animated, 'md')).toBe(`/media/${animated.variants.md!.key}`);
    expect(pictures.url(animated, 'md', { still: true })).toBe(`/media/${animated.stills!.md!.key}`);
    expect(animated.stills!.md!.key).toMatch(/-md-still\.webp$/);
    const plain = await pictures.upload('u2', await pngGreen());
    expect(pictures.url(plain, 'md', { still: true })).toBe(`/media/${plain.variants.md!.key}`);
  });

  it("the record's preview is the first frame's, as a still upload of the same file gives", async () => {
    const animated = await createTestService({ animated: true }).pictures.upload('u1', TERMINAL_GIF.bytes);
    const still = await createTestService().pictures.upload('u1', TERMINAL_GIF.bytes);
    // The same square of frame 0, reached by a crop rather than the centre cut: equal colour, a ThumbHash that may
    // differ in a rounding bit.
    expect(animated.preview!.color).toBe(still.preview!.color);
    expect(animated.preview!.thumbhash).toHaveLength(still.preview!.thumbhash.length);
  });

  it('sweep keeps the stills; replacing the picture deletes them with the variants', async () => {
    const { pictures, storage, users } = createTestService({ animated: true });
    const animated = await pictures.upload('u1', TERMINAL_WEBP.bytes);
    // Three variants and their stills; no master, even by default: an animation cannot be re-rendered from one.
    expect(animated.master).toBeUndefined();
    expect(await listKeys(storage)).toHaveLength(6);
    expect(await pictures.sweep({ olderThan: 0 })).toMatchObject({ deleted: 0 });
    expect(await listKeys(storage)).toHaveLength(6);
    const plain = await pictures.upload('u1', await pngGreen());
    await pictures.flush();
    // A still upload under `animated: true` stores its master as usual.
    expect(plain.master).toBeDefined();
    expect(await listKeys(storage)).toEqual(recordKeys(plain));
    expect(await users.getPicture('u1')).not.toHaveProperty('stills');
    expect(animated.stills).toBeDefined();
  });

  it('a failed store removes the stills it wrote too', async () => {
    const { pictures, storage } = createTestService({ animated: true });
    const put = storage.put.bind(storage);
    storage.put = async (key, bytes, meta) => {
      if (key.endsWith('-lg.webp')) throw new Error('disk full');
      return put(key, bytes, meta);
    };
    expect(await rejectionOf(pictures.upload('u1', TERMINAL_GIF.bytes))).toMatchObject({ code: 'STORAGE_FAILED' });
    expect(await listKeys(storage)).toEqual([]);
  });
});
