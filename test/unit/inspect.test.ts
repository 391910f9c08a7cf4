/**
 * inspectImage(): sniff → allowlist → header probe. sharp and bmp-ts are wrapped (not replaced) so the tests can
 * prove which inputs never reach a decoder at all.
 */
import sharp from 'sharp';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createErrorFactory } from '../../src/errors.js';
import { BMP_MAX_PIXELS, inspectImage, type InspectLimits } from '../../src/inspect.js';
import { DEFAULTS, type InputFormat } from '../../src/options.js';
import * as fx from '../fixtures/index.js';
import { rejectionOf } from '../fixtures/service.js';

const calls = vi.hoisted(() => ({ sharpInputs: [] as unknown[], bmpDecodes: 0 }));

vi.mock('sharp', async (importOriginal) => {
  const actual = await importOriginal<typeof import('sharp')>();
  const real = actual.default;
  const counted = (...args: Parameters<typeof real>) => {
    calls.sharpInputs.push(args[0]);
    return real(...args);
  };
  return { ...actual, default: Object.assign(counted, real) };
});

vi.mock('bmp-ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('bmp-ts')>();
  return {
    ...actual,
    decode: (...args: Parameters<typeof actual.decode>) => {
      calls.bmpDecodes++;
      return actual.decode(...args);
    },
  };
});

const fail = createErrorFactory();
const LIMITS: InspectLimits = { ...DEFAULTS.limits, accept: DEFAULTS.accept };

function inspect(bytes: Uint8Array, limits: Partial<InspectLimits> = {}) {
  return inspectImage(bytes, { ...LIMITS, ...limits }, fail);
}


/** Raw RGBA pixels of an inspected image, decoded through its own `open()` pipeline. */
async function pixelsOf(bytes: Uint8Array) {
  const image = await inspect(bytes);
  const { data, info } = await image.open().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)];
  return { image, info, at };
}

beforeEach(() => {
  calls.sharpInputs.length = 0;
  calls.bmpDecodes = 0;
});

describe('accepted formats', () => {
  it.each([
    ['jpegLeftRedRightBlue', 'jpeg', 400, 300],
    ['pngWithAlpha', 'png', 200, 100],
    ['png16Bit', 'png', 64, 48],
    ['jpegCmyk', 'jpeg', 64, 48],
    ['gifAnimated', 'gif', 120, 80],
    ['webpWithAlpha', 'webp', 64, 48],
    ['bmp24', 'bmp', 64, 48],
    ['bmp32Alpha', 'bmp', 64, 48],
  ] as const)('%s → %s %i×%i', async (name, format, width, height) => {
    const image = await inspect(await fx[name]());
    expect(image).toMatchObject({ format, width, height });
  });

  it('reports dimensions after EXIF orientation (6 swaps width and height)', async () => {
    const image = await inspect(await fx.jpegWithExifOrientation6Gps());
    expect(image).toMatchObject({ format: 'jpeg', width: 300, height: 400 });
  });

  it('uses the first frame of an animated GIF: height of one frame, red pixels', async () => {
    const { info, at } = await pixelsOf(await fx.gifAnimated());
    expect([info.width, info.height]).toEqual([120, 80]);
    expect(fx.near(at(60, 40), [...fx.RED, 255])).toBe(true);
  });

  it('accepts a 12 MP photo under the default pixel limit without decoding it', async () => {
    const bytes = await fx.jpeg12Megapixel();
    calls.sharpInputs.length = 0;
    const image = await inspect(bytes);
    expect(image).toMatchObject({ width: 4000, height: 3000 });
    expect(calls.sharpInputs).toEqual([bytes]); // one header probe
  });

  it('opt-in formats pass only when listed in `accept`', async () => {
    expect(await inspect(await fx.tiff(), { accept: ['tiff'] })).toMatchObject({ format: 'tiff', width: 64 });
    expect(await inspect(await fx.avifSmall(), { accept: ['avif'] })).toMatchObject({ format: 'avif', width: 64 });
  });

  it('accepts a TIFF whose directory follows its pixels, beyond the sniffed head (as libvips writes them)', async () => {
    const bytes = await sharp({ create: { width: 1500, height: 1000, channels: 3, background: '#3388cc' } }).tiff().toBuffer();
    expect(bytes.readUInt32LE(4)).toBeGreaterThan(4100); // the first directory's offset
    expect(await inspect(bytes, { accept: ['tiff'] })).toMatchObject({ format: 'tiff', width: 1500, height: 1000 });
  });
});

describe('rejected before any decoder', () => {
  it.each([
    ['svg', 'UNSUPPORTED_TYPE', 415, 'image/svg+xml'],
    ['svgWithXmlProlog', 'UNSUPPORTED_TYPE', 415, 'image/svg+xml'],
    ['tiff', 'UNSUPPORTED_TYPE', 415, 'image/tiff'],
    ['heic', 'UNSUPPORTED_TYPE', 415, 'image/heic'],
    ['avifSmall', 'UNSUPPORTED_TYPE', 415, 'image/avif'],
    ['pdf', 'UNSUPPORTED_TYPE', 415, 'application/pdf'],
    ['zip', 'UNSUPPORTED_TYPE', 415, 'application/zip'],
    ['mp4', 'UNSUPPORTED_TYPE', 415, 'video/mp4'],
    ['html', 'NOT_AN_IMAGE', 422, undefined],
    ['text', 'NOT_AN_IMAGE', 422, undefined],
  ] as const)('%s → %s', async (name, code, status, detected) => {
    const bytes = await fx[name]();
    calls.sharpInputs.length = 0;
    const error = await rejectionOf(inspect(bytes));
    expect({ code: error.code, status: error.status }).toEqual({ code, status });
    expect(error.details?.detected).toBe(detected);
    expect(calls.sharpInputs).toHaveLength(0);
  });

  it.each(['heic', 'heix', 'mif1'])("an HEIF header with major brand %s → UNSUPPORTED_TYPE with format 'heic'", async (brand) => {
    const error = await rejectionOf(inspect(fx.heifHeaderOnly(brand)));
    expect([error.code, error.details?.format]).toEqual(['UNSUPPORTED_TYPE', 'heic']);
    expect(error.message).toMatch(/choose a JPEG, or set the iPhone camera to "Most Compatible"/);
    expect(calls.sharpInputs).toHaveLength(0);
  });

  it('a real HEVC HEIC, with heif accepted, is refused from its header as UNSUPPORTED_TYPE, never CORRUPT_IMAGE', async () => {
    const error = await rejectionOf(inspect(fx.heic(), { accept: ['jpeg', 'heif'] }));
    expect({ code: error.code, status: error.status, details: error.details }).toEqual({
      code: 'UNSUPPORTED_TYPE',
      status: 415,
      details: { detected: 'image/heic', accepted: 'jpeg, heif', format: 'heic' },
    });
  });

  it('empty input → NO_FILE', async () => {
    const error = await rejectionOf(inspect(new Uint8Array(0)));
    expect([error.code, error.status]).toEqual(['NO_FILE', 400]);
    expect(calls.sharpInputs).toHaveLength(0);
  });

  it('names the allowlist when a real image is not accepted', async () => {
    const error = await rejectionOf(inspect(await fx.jpegLeftRedRightBlue(), { accept: ['png', 'webp'] }));
    expect(error.code).toBe('UNSUPPORTED_TYPE');
    expect(error.details).toEqual({ detected: 'image/jpeg', accepted: 'png, webp' });
  });

  it('an SVG is refused even when every raster format is accepted', async () => {
    const all: InputFormat[] = ['jpeg', 'png', 'gif', 'bmp', 'webp', 'avif', 'tiff', 'heif'];
    const error = await rejectionOf(inspect(fx.svgWithXmlProlog(), { accept: all }));
    expect(error.code).toBe('UNSUPPORTED_TYPE');
    expect(calls.sharpInputs).toHaveLength(0);
  });
});

describe('size limits from the header', () => {
  it('a 20000×20000 PNG bomb → IMAGE_TOO_LARGE from its header, never decoded', async () => {
    const bomb = await fx.pngDecompressionBomb();
    expect(bomb.byteLength).toBeLessThan(100_000);
    const error = await rejectionOf(inspect(bomb));
    expect([error.code, error.status]).toEqual(['IMAGE_TOO_LARGE', 422]);
    expect(error.details).toEqual({ width: 20_000, height: 20_000, limit: 64_000_000 });
  });

  it('the pixel limit is inclusive and configurable', async () => {
    const png = await fx.pngGreen(); // 64×48 = 3072 px
    await expect(inspect(png, { inputPixels: 3072 })).resolves.toMatchObject({ width: 64 });
    expect((await rejectionOf(inspect(png, { inputPixels: 3071 }))).code).toBe('IMAGE_TOO_LARGE');
    expect((await rejectionOf(inspect(await fx.jpeg12Megapixel(), { inputPixels: 10_000_000 }))).code).toBe(
      'IMAGE_TOO_LARGE',
    );
  });

  it('an 8×8 image → IMAGE_TOO_SMALL; minSide is configurable', async () => {
    const tiny = await fx.pngTiny();
    const error = await rejectionOf(inspect(tiny));
    expect([error.code, error.status]).toEqual(['IMAGE_TOO_SMALL', 422]);
    expect(error.details).toEqual({ width: 8, height: 8, minSide: 16 });
    await expect(inspect(tiny, { minSide: 8 })).resolves.toMatchObject({ width: 8, height: 8 });
  });

  it('a PNG whose header the decoder refuses → CORRUPT_IMAGE', async () => {
    const damaged = Buffer.from(await fx.pngGreen());
    damaged[24] = 3; // IHDR bit depth 3 does not exist
    const error = await rejectionOf(inspect(damaged));
    expect([error.code, error.status]).toEqual(['CORRUPT_IMAGE', 422]);
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('BMP', () => {
  const LEFT_RED_RIGHT_BLUE = fx.halves(16, 16, [...fx.RED, 255], [...fx.BLUE, 255], 4);

  it('24-bit: decoded by bmp-ts into the right colours', async () => {
    const { info, at } = await pixelsOf(await fx.bmp24());
    expect([info.width, info.height]).toEqual([64, 48]);
    expect(at(5, 5)).toEqual([255, 0, 0, 255]);
    expect(at(60, 40)).toEqual([0, 0, 255, 255]);
    expect(calls.bmpDecodes).toBe(1);
  });

  it('32-bit with an alpha mask keeps transparency', async () => {
    const { info, at } = await pixelsOf(await fx.bmp32Alpha());
    expect(info.channels).toBe(4);
    expect(at(5, 5)[3]).toBe(0);
    expect(at(60, 40)).toEqual([0, 0, 255, 255]);
  });

  it.each([
    ['8-bit palette', { bitsPerPixel: 8 }, 16],
    ['4-bit palette, odd width', { bitsPerPixel: 4 }, 17],
    ['1-bit', { bitsPerPixel: 1 }, 19],
    ['16-bit', { bitsPerPixel: 16 }, 16],
    ['32-bit without alpha', { bitsPerPixel: 32 }, 16],
    ['24-bit top-down with a gap before the pixels', { bitsPerPixel: 24, topDown: true, gap: 6 }, 18],
  ] as const)('%s: colours and size survive', async (_label, options, width) => {
    const isOneBit = options.bitsPerPixel === 1;
    const [left, right] = isOneBit ? [[0, 0, 0, 255], [255, 255, 255, 255]] : [[...fx.RED, 255], [...fx.BLUE, 255]];
    const pixels = width === 16 && !isOneBit ? LEFT_RED_RIGHT_BLUE : fx.halves(width, 16, left!, right!, 4);
    const { info, at } = await pixelsOf(fx.encodeBmp(pixels, width, 16, options));
    expect([info.width, info.height, info.channels]).toEqual([width, 16, 4]);
    // 16-bit BMP keeps 5 bits per channel: 255 comes back as 248.
    const tolerance = options.bitsPerPixel === 16 ? 8 : 0;
    for (const y of [0, 15]) {
      expect(fx.near(at(0, y), left!, tolerance)).toBe(true);
      expect(fx.near(at(width - 1, y), right!, tolerance)).toBe(true);
    }
  });

  it('truncated pixel data → CORRUPT_IMAGE without calling the decoder', async () => {
    const error = await rejectionOf(inspect(await fx.bmpTruncated()));
    expect([error.code, error.status]).toEqual(['CORRUPT_IMAGE', 422]);
    expect(calls.bmpDecodes).toBe(0);
  });

  it('a complete 1-bit BMP over BMP_MAX_PIXELS (small file, many pixels) → IMAGE_TOO_LARGE without decoding', async () => {
    // 4096×2048 at 1 bit per pixel is a 1 MiB file: under every byte limit, yet 8.4 MP to decode in JavaScript.
    const width = 4096;
    const height = 2048;
    const rgba = new Uint8Array(width * height * 4).fill(255);
    const bytes = fx.encodeBmp(rgba, width, height, { bitsPerPixel: 1 });
    expect(bytes.byteLength).toBeLessThan(DEFAULTS.limits.fileSize);
    const error = await rejectionOf(inspect(bytes));
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.details).toMatchObject({ width, height, limit: BMP_MAX_PIXELS });
    expect(calls.bmpDecodes).toBe(0);
  });

  it('a header declaring 30000×30000 → IMAGE_TOO_LARGE without decoding', async () => {
    const error = await rejectionOf(inspect(await fx.bmpHugeDimensions()));
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.details).toMatchObject({ width: 30_000, height: 30_000 });
    expect(calls.bmpDecodes).toBe(0);
  });

  it('a header declaring 2000×2000 (under the limit) on 70 bytes → CORRUPT_IMAGE without decoding', async () => {
    const bytes = Buffer.from(await fx.bmpHugeDimensions());
    bytes.writeInt32LE(2000, 18);
    bytes.writeInt32LE(2000, 22);
    expect((await rejectionOf(inspect(bytes))).code).toBe('CORRUPT_IMAGE');
    expect(calls.bmpDecodes).toBe(0);
  });

  it('RLE compression and OS/2 headers → UNSUPPORTED_TYPE naming the feature', async () => {
    const rle = fx.encodeBmp(LEFT_RED_RIGHT_BLUE, 16, 16, { bitsPerPixel: 8 });
    rle.writeUInt32LE(1, 30);
    const rleError = await rejectionOf(inspect(rle));
    expect(rleError.code).toBe('UNSUPPORTED_TYPE');
    expect(rleError.details).toEqual({ detected: 'image/bmp', feature: 'RLE compression' });

    const core = Buffer.alloc(26 + 16 * 16 * 3);
    core.write('BM', 0, 'latin1');
    core.writeUInt32LE(26, 10);
    core.writeUInt32LE(12, 14);
    core.writeUInt16LE(16, 18);
    core.writeUInt16LE(16, 20);
    core.writeUInt16LE(1, 22);
    core.writeUInt16LE(24, 24);
    expect((await rejectionOf(inspect(core))).details).toMatchObject({ feature: 'OS/2 bitmap header' });
    expect(calls.bmpDecodes).toBe(0);
  });

  it('text starting with "BM" and a BMP with negative width → CORRUPT_IMAGE', async () => {
    expect((await rejectionOf(inspect(fx.textStartingWithBM()))).code).toBe('CORRUPT_IMAGE');
    const negative = Buffer.from(await fx.bmp24());
    negative.writeInt32LE(-64, 18);
    expect((await rejectionOf(inspect(negative))).code).toBe('CORRUPT_IMAGE');
    expect(calls.bmpDecodes).toBe(0);
  });
});
