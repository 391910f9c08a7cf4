/**
 * The record's placeholder preview (average colour + ThumbHash), computed at render time: checked against the stored
 * variants' own pixels, decoded with the thumbhash package's decoder and with the widget's `thumbHashToDataURL`.
 */
import sharp from 'sharp';
import { thumbHashToDataURL as libraryDataURL, thumbHashToRGBA } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { thumbHashToDataURL } from '../../src/client/preview.js';
import type { PicturePreview } from '../../src/index.js';
import { portraitJpeg, WARM } from '../e2e/photos.js';
import * as fx from '../fixtures/index.js';
import { createTestService, readObject } from '../fixtures/service.js';

/** Alpha-weighted mean RGB of RGBA pixels, and their mean alpha. */
function meanOf(rgba: Uint8Array): { rgb: number[]; alpha: number } {
  const sum = [0, 0, 0];
  let weight = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const alpha = rgba[i + 3]!;
    for (let c = 0; c < 3; c++) sum[c]! += rgba[i + c]! * alpha;
    weight += alpha;
  }
  return { rgb: sum.map((s) => s / weight), alpha: weight / (rgba.length / 4) };
}

const hexToRgb = (hex: string) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
const decode = (preview: PicturePreview) => thumbHashToRGBA(Buffer.from(preview.thumbhash, 'base64'));
/** Rows `from`–`to` (fractions of the height) of a decoded ThumbHash, averaged. */
function band({ w, h, rgba }: { w: number; h: number; rgba: Uint8Array }, from: number, to: number) {
  return meanOf(rgba.subarray(Math.floor(from * h) * w * 4, Math.ceil(to * h) * w * 4)).rgb;
}

async function variantPixels(bytes: Buffer): Promise<Uint8Array> {
  return sharp(bytes).ensureAlpha().raw().toBuffer();
}

describe('record.preview', () => {
  it('a photo: a ThumbHash of at most 100 bytes that decodes to the variant’s average colour, and that colour', async () => {
    const photo = await portraitJpeg(WARM); // 1600 × 1200: the cost on a 12 MP one is measured outside the tests
    const { pictures, storage, users } = createTestService();
    const record = await pictures.upload('u1', photo);
    const preview = record.preview!;
    expect(preview.color).toMatch(/^#[0-9a-f]{6}$/);
    const bytes = Buffer.from(preview.thumbhash, 'base64');
    expect(bytes.toString('base64')).toBe(preview.thumbhash); // canonical base64, nothing else
    expect(bytes.byteLength).toBeGreaterThan(4);
    expect(bytes.byteLength).toBeLessThanOrEqual(100);
    // Kept in the repository with the rest of the record.
    expect((await users.getPicture('u1'))?.preview).toEqual(preview);

    const variant = meanOf(await variantPixels(await readObject(storage, record.variants.lg!.key))).rgb;
    const decoded = decode(preview);
    expect([decoded.w, decoded.h]).toEqual([32, 32]); // a square picture: a square placeholder
    const fromHash = meanOf(decoded.rgba);
    expect(fromHash.alpha).toBe(255);
    expect(fx.near(fromHash.rgb, variant, 8), `${fromHash.rgb} vs ${variant}`).toBe(true);
    expect(fx.near(hexToRgb(preview.color), variant, 3), `${preview.color} vs ${variant}`).toBe(true);
    // The photo is not flat: the hash carries its light top (sky) and darker bottom (shirt), not only the mean.
    const [top, bottom] = [band(decoded, 0, 0.25), band(decoded, 0.75, 1)];
    expect(top.reduce((a, b) => a + b)).toBeGreaterThan(bottom.reduce((a, b) => a + b) + 60);
  });

  it('follows EXIF orientation, like the variants: red on top, blue at the bottom', async () => {
    const { pictures } = createTestService();
    const decoded = decode((await pictures.upload('u1', await fx.jpegWithExifOrientation6Gps())).preview!);
    const [top, bottom] = [band(decoded, 0, 0.3), band(decoded, 0.7, 1)];
    expect(top[0]! - top[2]!, `top ${top}`).toBeGreaterThan(100);
    expect(bottom[2]! - bottom[0]!, `bottom ${bottom}`).toBeGreaterThan(100);
  });

  it('keeps transparency where the output does (WebP) and flattens it onto white where it does not (JPEG)', async () => {
    // The centred square of pngWithAlpha: its left half transparent, its right half opaque blue.
    const input = await fx.pngWithAlpha();
    const webp = (await createTestService().pictures.upload('u1', input)).preview!;
    expect(webp.color).toBe('#0000ff'); // transparent pixels do not count
    const webpDecoded = decode(webp);
    expect(meanOf(webpDecoded.rgba.subarray(0, 4 * 4)).alpha).toBeLessThan(128); // top-left corner: see-through
    expect(band(webpDecoded, 0, 1)[2]).toBeGreaterThan(200);

    const jpeg = (await createTestService({ output: { format: 'jpeg', quality: 80 } }).pictures.upload('u1', input)).preview!;
    expect(fx.near(hexToRgb(jpeg.color), [128, 128, 255], 4), jpeg.color).toBe(true);
    expect(meanOf(decode(jpeg).rgba).alpha).toBe(255);
  });

  it('thumbHashToDataURL (profile-picture/client) gives the thumbhash package’s own PNG for a base64 hash', async () => {
    const { pictures } = createTestService();
    const preview = (await pictures.upload('u1', await fx.jpegQuadrants())).preview!;
    const url = thumbHashToDataURL(preview.thumbhash);
    expect(url).toBe(libraryDataURL(Buffer.from(preview.thumbhash, 'base64')));
    const png = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([32, 32]);
    expect(fx.near(meanOf(data).rgb, hexToRgb(preview.color), 8)).toBe(true);
    expect(() => thumbHashToDataURL('not base64!')).toThrow();
  });
});

describe('pictures.srcset(record)', () => {
  it('lists every variant as `url width`, narrowest first, with the URLs url() gives', async () => {
    const { pictures } = createTestService({ variants: { lg: 512, sm: 64, md: 256 } });
    const record = await pictures.upload('u1', await fx.jpegQuadrants());
    const { sm, md, lg } = record.variants;
    expect(pictures.srcset(record)).toBe(`/media/${sm!.key} 64w, /media/${md!.key} 256w, /media/${lg!.key} 512w`);
    expect(pictures.srcset(record).split(', ').map((entry) => entry.split(' ')[0])).toEqual(
      ['sm', 'md', 'lg'].map((name) => pictures.url(record, name)),
    );
  });

  it('names the storage’s own URLs (a CDN) when it has url()', async () => {
    const { pictures, storage } = createTestService({ variants: { sm: 64, md: 256 } });
    const record = await pictures.upload('u1', await fx.jpegQuadrants());
    const cdn = createTestService({
      variants: { sm: 64, md: 256 },
      storage: Object.assign(Object.create(storage) as typeof storage, { url: (key: string) => `https://cdn.example/${key}` }),
    }).pictures;
    const { sm, md } = record.variants;
    expect(cdn.srcset(record)).toBe(`https://cdn.example/${sm!.key} 64w, https://cdn.example/${md!.key} 256w`);
  });

  it('an old record lacking a configured variant (and the preview): each object once, by the same stand-in as url()', async () => {
    const { pictures, storage, users } = createTestService({ variants: { sm: 64, md: 256 } });
    const { preview: _preview, ...old } = await pictures.upload('u1', await fx.jpegQuadrants());
    const { sm, md } = old.variants;
    // Configured since: lg and xl, which the record lacks (both answered by its md), and a renamed size.
    const later = createTestService({ storage, users, variants: { small: 64, sm: 64, md: 256, lg: 512, xl: 1024 } }).pictures;
    expect(later.url(old, 'xl')).toBe(`/media/${md!.key}`);
    expect(later.srcset(old)).toBe(`/media/${sm!.key} 64w, /media/${md!.key} 256w`);
    const renamed = createTestService({ storage, users, variants: { small: 64, large: 512 } }).pictures;
    expect(renamed.srcset(old)).toBe(`/media/${sm!.key} 64w, /media/${md!.key} 256w`);
  });

  it('throws a RangeError for a record without variants, as url() does', () => {
    const { pictures } = createTestService();
    const malformed = { version: 'v', contentHash: 'x', contentType: 'image/webp', variants: {}, createdAt: '', updatedAt: '' };
    expect(() => pictures.srcset(malformed)).toThrow(RangeError);
  });
});
