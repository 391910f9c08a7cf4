/**
 * Rendering: what actually lands in storage — sizes, format, metadata, orientation, colour, alpha, crop — read back
 * through the public API and checked by sharp and by pixel colour.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createErrorFactory } from '../../src/errors.js';
import { inspectImage } from '../../src/inspect.js';
import { DEFAULTS, type OutputFormat } from '../../src/options.js';
import { renderVariants } from '../../src/render.js';
import * as fx from '../fixtures/index.js';
import { createTestService, listKeys, readObject, rejectionOf, storedVariants } from '../fixtures/service.js';

const fail = createErrorFactory();
const LIMITS = { ...DEFAULTS.limits, accept: DEFAULTS.accept };

/** Uploads `bytes` with a fresh service and returns the stored `lg` variant's bytes (plus the whole picture). */
async function uploadAndReadLarge(bytes: Uint8Array, options: Parameters<typeof createTestService>[0] = {}, crop?: object) {
  const { pictures, storage } = createTestService(options);
  const record = await pictures.upload('u1', bytes, crop ? { crop: crop as never } : {});
  const large = await readObject(storage, record.variants.lg!.key);
  return { record, storage, large };
}

describe('default output', () => {
  it('stores sm/md/lg as 64/256/512 px square WebP, as the record says', async () => {
    const input = await fx.jpegLeftRedRightBlue();
    const { pictures, storage } = createTestService();
    const record = await pictures.upload('u1', input);
    expect(record.contentType).toBe('image/webp');
    const stored = await storedVariants(storage, record);
    expect(stored.map(({ name, meta }) => [name, meta.format, meta.width, meta.height])).toEqual([
      ['sm', 'webp', 64, 64],
      ['md', 'webp', 256, 256],
      ['lg', 'webp', 512, 512],
    ]);
    for (const { variant, bytes, meta } of stored) {
      expect(variant).toMatchObject({ width: meta.width, height: meta.height, bytes: bytes.byteLength });
      expect(variant.key).toMatch(new RegExp(`^profile_pictures/u1/[0-9a-f]{24}-(sm|md|lg)\\.webp$`));
      expect(bytes.equals(input)).toBe(false);
    }
  });

  it('re-encodes even a WebP that already has the target size and format (its EXIF does not survive)', async () => {
    const input = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } })
      .withExif({ IFD0: { Make: fx.SECRET_MAKE } })
      .webp({ quality: 82 })
      .toBuffer();
    expect((await sharp(input).metadata()).exif).toBeDefined();
    const { pictures, storage } = createTestService({ variants: { sm: 64 } });
    const record = await pictures.upload('u1', input);
    const stored = await readObject(storage, record.variants.sm!.key);
    expect(stored.equals(input)).toBe(false);
    expect((await sharp(stored).metadata()).exif).toBeUndefined();
    expect(stored.toString('latin1')).not.toContain(fx.SECRET_MAKE);
    expect(fx.near(await fx.pixelAt(stored, 32, 32), [0x33, 0x66, 0xcc])).toBe(true);
  });

  it('custom variants: every configured size and nothing else', async () => {
    const { record, storage } = await uploadAndReadLarge(await fx.pngGreen(), {
      variants: { xs: 16, lg: 100, huge: 1000 },
    });
    const stored = await storedVariants(storage, record);
    expect(stored.map(({ name, meta }) => [name, meta.width, meta.height])).toEqual([
      ['xs', 16, 16],
      ['lg', 100, 100],
      ['huge', 1000, 1000],
    ]);
    // The three variants and the master stored by default, nothing else.
    expect(await listKeys(storage)).toEqual([...Object.values(record.variants).map((variant) => variant.key), record.master!.key].sort());
    expect(await listKeys(storage)).toHaveLength(4);
  });
});

describe('metadata and orientation', () => {
  it('the fixture really carries orientation 6, GPS, XMP and a comment', async () => {
    const input = await fx.jpegWithExifOrientation6Gps();
    const meta = await sharp(input).metadata();
    expect(meta.orientation).toBe(6);
    const exif = fx.readExif(meta.exif!);
    expect(exif.gpsTags).toEqual(expect.arrayContaining([fx.GPS_LATITUDE_REF, fx.GPS_LATITUDE]));
    expect(meta.xmp?.toString()).toContain(fx.SECRET_XMP);
    const latin1 = input.toString('latin1');
    expect(latin1).toContain(fx.SECRET_COMMENT);
    expect(latin1).toContain(fx.SECRET_MAKE);
  });

  it('strips EXIF, GPS, XMP, ICC and comments from every stored variant', async () => {
    const { pictures, storage } = createTestService();
    const record = await pictures.upload('u1', await fx.jpegWithExifOrientation6Gps());
    for (const { bytes, meta } of await storedVariants(storage, record)) {
      expect(meta).toMatchObject({ format: 'webp', space: 'srgb', depth: 'uchar', hasProfile: false });
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      const latin1 = bytes.toString('latin1');
      for (const secret of [fx.SECRET_COMMENT, fx.SECRET_XMP, fx.SECRET_MAKE, 'Exif', 'GPS']) {
        expect(latin1).not.toContain(secret);
      }
    }
  });

  it('applies EXIF orientation 6: red on top, blue at the bottom (stored left/right)', async () => {
    const { large } = await uploadAndReadLarge(await fx.jpegWithExifOrientation6Gps());
    for (const x of [10, 256, 500]) {
      expect(fx.near(await fx.pixelAt(large, x, 100), fx.RED), `red at ${x},100`).toBe(true);
      expect(fx.near(await fx.pixelAt(large, x, 420), fx.BLUE), `blue at ${x},420`).toBe(true);
    }
  });

  it('without an orientation tag the image stays as stored: red left, blue right', async () => {
    const { large } = await uploadAndReadLarge(await fx.jpegLeftRedRightBlue());
    for (const y of [10, 256, 500]) {
      expect(fx.near(await fx.pixelAt(large, 100, y), fx.RED)).toBe(true);
      expect(fx.near(await fx.pixelAt(large, 420, y), fx.BLUE)).toBe(true);
    }
  });
});

describe('colour space and bit depth', () => {
  it('converts an 8-bit upload tagged Display P3 to sRGB in every variant: whole, turned, cropped, with alpha', async () => {
    // One sRGB colour stored as Display P3 numbers with the profile attached, as phones write photos. Without a master
    // the variants' decode converts it after its downscale (colour-after-resize.ts); ignoring the profile would leave
    // the P3 numbers, ~20 levels off.
    const srgb = [40, 180, 90];
    const flat = (channels: 3 | 4) =>
      sharp(fx.rawPixels(1600, 1200, channels, () => (channels === 4 ? [...srgb, 255] : srgb)), { raw: { width: 1600, height: 1200, channels } })
        .withIccProfile('p3');
    const uploads = {
      jpeg: await flat(3).jpeg({ quality: 95 }).toBuffer(),
      'jpeg, orientation 6': await flat(3).withMetadata({ orientation: 6 }).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer(),
      'png with alpha': await flat(4).png().toBuffer(),
    };
    for (const [name, upload] of Object.entries(uploads)) {
      const asStored = (await sharp(upload, { ignoreIcc: true }).stats()).channels.slice(0, 3).map((channel) => channel.mean);
      expect(Math.max(...asStored.map((value, i) => Math.abs(value - srgb[i]!))), name).toBeGreaterThan(15);
      for (const crop of [undefined, { left: 100, top: 50, width: 900, height: 900 }]) {
        const { pictures, storage } = createTestService({ master: false });
        const record = await pictures.upload('u1', upload, crop ? { crop } : {});
        for (const variant of Object.values(record.variants)) {
          const colour = (await sharp(await readObject(storage, variant.key)).stats()).channels.slice(0, 3).map((channel) => channel.mean);
          for (const [i, value] of colour.entries()) expect(Math.abs(value - srgb[i]!), `${name} ${variant.key}`).toBeLessThan(5);
        }
      }
    }
  });

  it('a Display P3 picture renders close to sharp converting every decoded pixel first', async () => {
    // The conversion after the downscale resamples in P3 rather than sRGB. Encoded as WebP, these saturated colour
    // waves, many outside sRGB (where clipping before or after averaging differs), come out ~1.7 levels from sharp's
    // convert-first render on average; ignoring the profile would be ~15 off. Turned by EXIF orientation 6, as phones
    // write.
    const [width, height] = [2400, 1800];
    const wave = (x: number, y: number) => [
      128 + 127 * Math.sin(x / 97),
      128 + 127 * Math.sin(y / 61 + x / 203),
      128 + 127 * Math.cos((x + y) / 149),
    ];
    const photo = await sharp(fx.rawPixels(width, height, 3, wave), { raw: { width, height, channels: 3 } })
      .withMetadata({ orientation: 6 }) // before the profile: withMetadata() would put sRGB back
      .withIccProfile('p3')
      .jpeg({ quality: 92 })
      .toBuffer();
    const { pictures, storage } = createTestService({ master: false });
    const record = await pictures.upload('u1', photo);
    const ours = await sharp(await readObject(storage, record.variants.lg!.key)).raw().toBuffer();
    const reference = await sharp(photo).rotate().resize(512, 512, { fit: 'cover' }).webp({ quality: DEFAULTS.output.quality }).toBuffer();
    const theirs = await sharp(reference).raw().toBuffer();
    expect(ours.length).toBe(theirs.length);
    let total = 0;
    for (let i = 0; i < ours.length; i++) total += Math.abs(ours[i]! - theirs[i]!);
    expect(total / ours.length).toBeLessThan(2.5);
  });

  it('CMYK JPEG → 8-bit sRGB, still red', async () => {
    const { large } = await uploadAndReadLarge(await fx.jpegCmyk());
    const meta = await sharp(large).metadata();
    expect(meta).toMatchObject({ space: 'srgb', channels: 3, depth: 'uchar', hasProfile: false });
    const [r, g, b] = await fx.pixelAt(large, 256, 256);
    expect(r).toBeGreaterThan(180);
    expect(g).toBeLessThan(90);
    expect(b).toBeLessThan(90);
  });

  it('16-bit PNG → 8-bit sRGB with the same colour', async () => {
    expect((await sharp(await fx.png16Bit()).metadata()).depth).toBe('ushort');
    const { large } = await uploadAndReadLarge(await fx.png16Bit(), { output: { format: 'png' } });
    const meta = await sharp(large).metadata();
    expect(meta).toMatchObject({ format: 'png', space: 'srgb', depth: 'uchar', bitsPerSample: 8 });
    expect(fx.near(await fx.pixelAt(large, 256, 256), fx.GREEN, 2)).toBe(true);
  });

  it('animated GIF → first frame (red), not the second (blue)', async () => {
    const { large } = await uploadAndReadLarge(await fx.gifAnimated());
    expect((await sharp(large).metadata()).pages).toBeUndefined();
    expect(fx.near(await fx.pixelAt(large, 256, 256), fx.RED)).toBe(true);
  });
});

describe('output formats and alpha', () => {
  // pngWithAlpha is 200×100: left half transparent, right half blue. Cover-cropped to a square, x < 256 of 512 is
  // the transparent half.
  it.each([
    ['webp', 'webp', 'image/webp', '.webp'],
    ['png', 'png', 'image/png', '.png'],
    ['avif', 'heif', 'image/avif', '.avif'],
  ] as const)('%s keeps transparency', async (format, sharpFormat, contentType, extension) => {
    const { record, large } = await uploadAndReadLarge(await fx.pngWithAlpha(), {
      output: { format: format as OutputFormat },
    });
    expect(record.contentType).toBe(contentType);
    expect(record.variants.lg!.key.endsWith(`-lg${extension}`)).toBe(true);
    const meta = await sharp(large).metadata();
    expect(meta).toMatchObject({ format: sharpFormat, width: 512, height: 512, hasAlpha: true });
    expect((await fx.pixelAt(large, 50, 256))[3]).toBe(0);
    expect(fx.near(await fx.pixelAt(large, 460, 256), [...fx.BLUE, 255])).toBe(true);
  });

  it('jpeg flattens transparency onto white', async () => {
    const { record, large } = await uploadAndReadLarge(await fx.pngWithAlpha(), { output: { format: 'jpeg' } });
    expect(record.contentType).toBe('image/jpeg');
    expect(record.variants.lg!.key.endsWith('-lg.jpg')).toBe(true);
    expect(await sharp(large).metadata()).toMatchObject({ format: 'jpeg', channels: 3, hasAlpha: false });
    expect(fx.near(await fx.pixelAt(large, 50, 256), [...fx.WHITE, 255], 4)).toBe(true);
    expect(fx.near(await fx.pixelAt(large, 460, 256), [...fx.BLUE, 255])).toBe(true);
  });

  it('quality changes the encoded bytes', async () => {
    const input = await fx.jpegNoise();
    const low = await uploadAndReadLarge(input, { output: { quality: 5 } });
    const high = await uploadAndReadLarge(input, { output: { quality: 100 } });
    expect(low.large.byteLength).toBeLessThan(high.large.byteLength);
  });
});

describe('BMP', () => {
  it('24-bit BMP renders red left, blue right', async () => {
    const { record, large } = await uploadAndReadLarge(await fx.bmp24());
    expect(record.contentType).toBe('image/webp');
    expect(fx.near(await fx.pixelAt(large, 60, 256), fx.RED)).toBe(true);
    expect(fx.near(await fx.pixelAt(large, 450, 256), fx.BLUE)).toBe(true);
  });

  it('32-bit BMP keeps its transparency in WebP', async () => {
    const { large } = await uploadAndReadLarge(await fx.bmp32Alpha());
    expect((await fx.pixelAt(large, 60, 256))[3]).toBe(0);
    expect(fx.near(await fx.pixelAt(large, 450, 256), [...fx.BLUE, 255])).toBe(true);
  });
});

describe('crop', () => {
  // jpegQuadrants is 300×300: red | green over blue | white.
  it.each([
    [{ left: 150, top: 0, width: 150, height: 150 }, fx.GREEN],
    [{ left: 0, top: 150, width: 150, height: 150 }, fx.BLUE],
    [{ left: 160, top: 160, width: 100, height: 130 }, fx.WHITE],
  ])('crop %o fills the output with one quadrant', async (crop, colour) => {
    const { large } = await uploadAndReadLarge(await fx.jpegQuadrants(), {}, crop);
    for (const [x, y] of [[5, 5], [256, 256], [506, 506], [5, 506]] as const) {
      expect(fx.near(await fx.pixelAt(large, x, y), colour), `${x},${y}`).toBe(true);
    }
  });

  it('crop coordinates are in oriented pixels (after EXIF rotation)', async () => {
    // Oriented, the image is 300×400 with red on top and blue below. Before rotation this rectangle would not fit.
    const input = await fx.jpegWithExifOrientation6Gps();
    const bottom = await uploadAndReadLarge(input, {}, { left: 0, top: 250, width: 300, height: 150 });
    expect(fx.near(await fx.pixelAt(bottom.large, 256, 256), fx.BLUE)).toBe(true);
    const top = await uploadAndReadLarge(input, {}, { left: 0, top: 0, width: 300, height: 150 });
    expect(fx.near(await fx.pixelAt(top.large, 256, 256), fx.RED)).toBe(true);
  });

  it.each([
    ['past the right edge', { left: 200, top: 0, width: 101, height: 50 }],
    ['past the bottom edge', { left: 0, top: 299, width: 10, height: 2 }],
    ['negative', { left: -1, top: 0, width: 50, height: 50 }],
    ['empty', { left: 0, top: 0, width: 0, height: 50 }],
    ['fractional', { left: 10.5, top: 0, width: 50, height: 50 }],
    ['NaN', { left: Number.NaN, top: 0, width: 50, height: 50 }],
    ['a string', { left: '10', top: 0, width: 50, height: 50 }],
    ['missing fields', { left: 0, top: 0 }],
  ])('%s → INVALID_CROP 400 and nothing stored', async (_label, crop) => {
    const { pictures, storage, users } = createTestService();
    const error = await rejectionOf(pictures.upload('u1', await fx.jpegQuadrants(), { crop: crop as never }));
    expect([error.code, error.status]).toEqual(['INVALID_CROP', 400]);
    expect(error.details).toMatchObject({ imageWidth: 300, imageHeight: 300 });
    expect(JSON.parse(JSON.stringify(error.toJSON()))).toEqual(error.toJSON());
    expect(await listKeys(storage)).toEqual([]);
    expect(await users.getPicture('u1')).toBeNull();
  });

  it('a rectangle that fits the stored but not the oriented image → INVALID_CROP', async () => {
    const { pictures } = createTestService();
    const input = await fx.jpegWithExifOrientation6Gps(); // stored 400×300, oriented 300×400
    const error = await rejectionOf(pictures.upload('u1', input, { crop: { left: 0, top: 0, width: 400, height: 300 } }));
    expect(error.code).toBe('INVALID_CROP');
    expect(error.details).toMatchObject({ imageWidth: 300, imageHeight: 400 });
  });
});

describe('decode once, fail cleanly', () => {
  it('opens (decodes) the source once for all variants', async () => {
    const image = await inspectImage(await fx.jpegWithExifOrientation6Gps(), LIMITS, fail);
    let opens = 0;
    const counted = { ...image, open: () => (opens++, image.open()) };
    const rendered = await renderVariants(
      counted,
      { variants: { a: 32, b: 64, c: 128, d: 256, e: 512 }, output: { format: 'webp', quality: 80 } },
      fail,
    );
    expect(opens).toBe(1);
    expect(Object.values(rendered.variants).map((v) => v.width)).toEqual([32, 64, 128, 256, 512]);
    expect(rendered.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('encodes the largest variant alone and the others one at a time beside it, largest of them first', async () => {
    const image = await inspectImage(await fx.jpegWithExifOrientation6Gps(), LIMITS, fail);
    const finished: string[] = [];
    await renderVariants(
      image,
      { variants: { a: 32, b: 64, c: 128, d: 256, e: 512 }, output: { format: 'webp', quality: 80 } },
      fail,
      (name) => finished.push(name),
    );
    // Three encodes at once on 2 cores slowed the largest one, which the answer waits for. The others run in one
    // lane: were they still encoded all at once, the smallest would not reliably finish last.
    expect(finished.filter((name) => name !== 'e')).toEqual(['d', 'c', 'b', 'a']);
    expect(finished).toHaveLength(5);
  });

  it('identical input renders to identical bytes (stored under new keys each time)', async () => {
    const { pictures, storage } = createTestService();
    const input = await fx.pngGreen();
    const first = await pictures.upload('u1', input);
    const firstBytes = await readObject(storage, first.variants.md!.key);
    const second = await pictures.upload('u1', input);
    expect(second.contentHash).toBe(first.contentHash);
    expect(second.variants.md!.key).not.toBe(first.variants.md!.key);
    expect((await readObject(storage, second.variants.md!.key)).equals(firstBytes)).toBe(true);
  });

  it.each([
    ['truncated JPEG', () => fx.jpegTruncated()],
    [
      'PNG with a broken header checksum',
      async () => {
        const damaged = Buffer.from(await fx.pngGreen());
        damaged[29] = damaged[29]! ^ 0xff;
        return damaged;
      },
    ],
  ])('%s → CORRUPT_IMAGE 422, nothing stored, old picture kept', async (_label, make) => {
    const { pictures, storage } = createTestService();
    const before = await pictures.upload('u1', await fx.pngGreen());
    const keysBefore = await listKeys(storage);
    const error = await rejectionOf(pictures.upload('u1', await make()));
    expect([error.code, error.status]).toEqual(['CORRUPT_IMAGE', 422]);
    expect(await listKeys(storage)).toEqual(keysBefore);
    expect(await pictures.get('u1')).toEqual(before);
  });

  it('a 12 MP photo renders', async () => {
    const { record, large } = await uploadAndReadLarge(await fx.jpeg12Megapixel());
    expect(record.variants.lg).toMatchObject({ width: 512, height: 512 });
    expect(fx.near(await fx.pixelAt(large, 256, 256), [40, 120, 200])).toBe(true);
  });
});
