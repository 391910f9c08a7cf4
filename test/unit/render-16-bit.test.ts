/**
 * 16-bit sources with an embedded ICC profile: every stored variant and the master carry the source's true sRGB
 * colours. sharp converts such pixels into Display P3 (its 16-bit working space), not sRGB, so a pipeline that only
 * narrows them to 8 bits stores P3 numbers as if they were sRGB. Each upload is four flat quadrants of known sRGB
 * colours; every output is centred on the quadrants' meeting point, so its quarter points lie inside them.
 */
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ProfilePicturesOptions } from '../../src/index.js';
import * as fx from '../fixtures/index.js';
import { createTestService, readObject } from '../fixtures/service.js';

/** Saturated red, green and blue (far apart in P3 and sRGB numbers) and a skin tone. */
const QUADRANTS = [
  [220, 40, 50],
  [40, 180, 90],
  [40, 70, 200],
  [200, 170, 120],
] as const;

/** Lossless variants: the tolerance then covers only the colour conversion and resampling near patch edges. */
const PNG_OUTPUT = { output: { format: 'png' as const } };

/** The colour of each quadrant, in sRGB, laid out `width` × `height` (optionally with an opaque alpha channel). */
function quadrants(width: number, height: number, channels: 3 | 4): Sharp {
  const paint = (x: number, y: number) => [...QUADRANTS[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!, 255];
  return sharp(fx.rawPixels(width, height, channels, paint), { raw: { width, height, channels } });
}

/** The quadrants as 16-bit RGB(A): sRGB numbers when untagged, else converted to and tagged with `profile`. */
function sixteenBit(channels: 3 | 4, profile?: 'srgb' | 'p3', width = 1200, height = 800): Sharp {
  const image = quadrants(width, height, channels).toColourspace('rgb16');
  // sharp widens to 16 bits before it applies the output profile, so the conversion itself runs at 16 bits.
  return profile ? image.withIccProfile(profile) : image;
}

/** The colour at each quadrant's centre of an output centred like the source, at its quarter points. */
async function quadrantColours(bytes: Uint8Array): Promise<number[][]> {
  const { width, height } = await sharp(bytes).metadata();
  const points = [
    [1, 1],
    [3, 1],
    [1, 3],
    [3, 3],
  ];
  return Promise.all(points.map(async ([i, j]) => [...(await fx.pixelAt(bytes, Math.floor((i! * width!) / 4), Math.floor((j! * height!) / 4)))]));
}

/** Largest channel difference between an output's quadrant colours and {@link QUADRANTS}. */
async function worstError(bytes: Uint8Array): Promise<number> {
  const colours = await quadrantColours(bytes);
  return Math.max(...colours.flatMap((colour, q) => QUADRANTS[q]!.map((value, c) => Math.abs(colour[c]! - value))));
}

/** Uploads `bytes` and returns each stored object's name (variant or master) with its worst colour error. */
async function errorsOfUpload(bytes: Uint8Array, options: Partial<ProfilePicturesOptions>) {
  const { pictures, storage } = createTestService({ ...PNG_OUTPUT, ...options });
  const record = await pictures.upload('u1', bytes);
  const keys = Object.entries(record.variants).map(([name, variant]) => [name, variant.key] as const);
  if (record.master) keys.push(['master', record.master.key]);
  return Object.fromEntries(await Promise.all(keys.map(async ([name, key]) => [name, await worstError(await readObject(storage, key))])));
}

// No master; the default master (2048 px), kept at full size (its decode does not resize); a master downscaled to
// 600 px (its decode resizes, then the variants are rendered from those pixels).
const SERVICES: [string, Partial<ProfilePicturesOptions>][] = [
  ['master: false (variants only)', { master: false }],
  ['the default master', {}],
  ['master.maxSide 600', { master: { maxSide: 600 } }],
];

describe('16-bit sources keep their colours', () => {
  it.each([
    ['tagged sRGB', 3, 'srgb'],
    ['tagged Display P3', 3, 'p3'],
    ['untagged', 3, undefined],
    ['tagged Display P3, with alpha', 4, 'p3'],
  ] as const)('16-bit PNG, %s: every variant and the master within 3 levels', async (_, channels, profile) => {
    const upload = await sixteenBit(channels, profile).png().toBuffer();
    expect(await sharp(upload).metadata()).toMatchObject({
      format: 'png',
      space: 'rgb16',
      depth: 'ushort',
      bitsPerSample: 16,
      channels,
      hasProfile: profile !== undefined,
    });
    if (profile === 'p3') {
      // Really P3 numbers in the file: read without its profile, the red quadrant is far from sRGB's red.
      const [asStored] = await quadrantColours(await sharp(upload, { ignoreIcc: true }).toColourspace('srgb').png().toBuffer());
      expect(Math.abs(asStored![0]! - QUADRANTS[0][0])).toBeGreaterThan(15);
    }
    for (const [service, options] of SERVICES) {
      const errors = await errorsOfUpload(upload, options);
      expect(Object.keys(errors).length, service).toBe(options.master === false ? 3 : 4);
      for (const [name, error] of Object.entries(errors)) expect(error, `${service}: ${name}`).toBeLessThanOrEqual(3);
    }
  });

  it('16-bit TIFF and 10-bit AVIF tagged Display P3 (opt-in formats): every variant and the master within 4 levels', async () => {
    const uploads = {
      // The P3 PNG's numbers and profile, unconverted; sharp's default TIFF compression (JPEG) would narrow to 8 bits.
      // Small: libvips writes the TIFF directory after the pixels, and the sniff reads only the first 4100 bytes.
      tiff: await sharp(await sixteenBit(3, 'p3', 64, 48).png().toBuffer(), { ignoreIcc: true })
        .keepIccProfile()
        .toColourspace('rgb16')
        .tiff({ compression: 'deflate' })
        .toBuffer(),
      avif: await quadrants(768, 512, 3).withIccProfile('p3').avif({ bitdepth: 10, quality: 90, effort: 0 }).toBuffer(),
    };
    for (const [format, upload] of Object.entries(uploads)) {
      expect(await sharp(upload).metadata(), format).toMatchObject({ space: 'rgb16', depth: 'ushort', hasProfile: true });
      const errors = await errorsOfUpload(upload, { accept: ['tiff', 'avif'], master: true });
      // AVIF is lossy (4:2:0): a few levels more than the conversion alone.
      for (const [name, error] of Object.entries(errors)) expect(error, `${format}: ${name}`).toBeLessThanOrEqual(4);
    }
  });
});
