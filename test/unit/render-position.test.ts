/**
 * `position`: without a crop, 'attention' and 'entropy' move the square to where the detail is, 'centre' keeps the
 * middle; a given crop wins over any position. Checked on the pixels that land in storage.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Position } from '../../src/index.js';
import { createTestService, readObject } from '../fixtures/service.js';

const WIDTH = 1200;
const HEIGHT = 800;
const BACKGROUND = 90;

/**
 * A flat grey 1200×800 PNG with a 180×200 patch of noise near the right edge, outside the centred 800×800 square
 * (x 200–999): the only detail and the only saturated colour in the picture.
 */
function offCentrePatch(): Promise<Buffer> {
  return sharp(offCentrePatchPixels(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png().toBuffer();
}

/** The same picture stored turned a quarter left, with EXIF orientation 6 to show it upright (as phones write). */
function offCentrePatchOrientation6(): Promise<Buffer> {
  return sharp(offCentrePatchPixels(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .rotate(270)
    .png()
    .toBuffer()
    .then((turned) => sharp(turned).png().withMetadata({ orientation: 6 }).toBuffer());
}

function offCentrePatchPixels(): Buffer {
  const data = Buffer.alloc(WIDTH * HEIGHT * 3, BACKGROUND);
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 256;
  for (let y = 300; y < 500; y++) {
    for (let x = 1010; x < 1190; x++) {
      const i = (y * WIDTH + x) * 3;
      data[i] = 128 + (random() >> 1);
      data[i + 1] = random();
      data[i + 2] = random() >> 2;
    }
  }
  return data;
}

/** The stored 512-px variant's pixels, and the share of them that are not the flat background. */
async function largeVariant(position: Position | undefined, crop?: object, input = offCentrePatch) {
  const { pictures, storage } = createTestService(position ? { position } : {});
  const record = await pictures.upload('u1', await input(), crop ? { crop: crop as never } : {});
  const lg = await readObject(storage, record.variants.lg!.key);
  const { data, info } = await sharp(lg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let detail = 0;
  let rightHalf = 0;
  for (let p = 0; p < info.width * info.height; p++) {
    const i = p * 3;
    if (Math.abs(data[i]! - BACKGROUND) + Math.abs(data[i + 1]! - BACKGROUND) + Math.abs(data[i + 2]! - BACKGROUND) > 45) {
      detail++;
      if (p % info.width >= info.width / 2) rightHalf++;
    }
  }
  return { info, data, detail: detail / (info.width * info.height), rightHalf };
}

describe('position', () => {
  it("'centre' (the default) keeps the middle square: the off-centre patch is not in it", async () => {
    const centre = await largeVariant(undefined);
    expect([centre.info.width, centre.info.height]).toEqual([512, 512]);
    expect(centre.detail).toBeLessThan(0.002);
    expect((await largeVariant('centre')).data.equals(centre.data)).toBe(true);
  });

  it.each(['attention', 'entropy'] as const)("'%s' moves the square to the patch, which lands in the output", async (position) => {
    const { info, detail, rightHalf } = await largeVariant(position);
    expect([info.width, info.height]).toEqual([512, 512]);
    // The patch is 180×200 of the 800-px-high source: about 5.6 % of the square, all of it inside.
    expect(detail).toBeGreaterThan(0.045);
    expect(rightHalf / (detail * 512 * 512)).toBeGreaterThan(0.9);
  });

  it.each(['attention', 'entropy'] as const)("'%s' on an EXIF-rotated photo: the same upright square", async (position) => {
    const turned = await largeVariant(position, undefined, offCentrePatchOrientation6);
    expect(turned.detail).toBeGreaterThan(0.045);
    expect(turned.rightHalf / (turned.detail * 512 * 512)).toBeGreaterThan(0.9);
  });

  it('a given crop wins over the position', async () => {
    const crop = { left: 0, top: 0, width: 800, height: 800 };
    const entropy = await largeVariant('entropy', crop);
    expect(entropy.detail).toBeLessThan(0.002);
    expect(entropy.data.equals((await largeVariant('centre', crop)).data)).toBe(true);
  });
});
