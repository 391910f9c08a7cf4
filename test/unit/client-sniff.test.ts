/**
 * The widget's animation sniffing (`isAnimated`), on real files made by sharp/libvips: an animated image is never
 * re-encoded in the browser (a canvas keeps one frame), so every still must read as still and every animation as
 * animated — including a GIF whose first image comes after extensions and a local colour table.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isAnimated } from '../../src/client/sniff.js';
import { gifAnimated, pngWithAlpha, webpWithAlpha } from '../fixtures/index.js';

const frames = (count: number) =>
  Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 60 * i, g: 90, b: 200, alpha: 0.5 } } }).png().toBuffer(),
    ),
  );
const bytes = (buffer: Buffer) => new Uint8Array(buffer);

describe('isAnimated', () => {
  it('tells animated GIF and WebP from stills', async () => {
    const animation = await frames(3);
    const gif = await sharp(animation, { join: { animated: true } }).gif({ delay: [80, 80, 80], loop: 0 }).toBuffer();
    const webp = await sharp(animation, { join: { animated: true } }).webp({ delay: [80, 80, 80], loop: 0 }).toBuffer();
    const stillGif = await sharp(animation[0]!).gif().toBuffer();
    expect(isAnimated(bytes(gif))).toBe(true);
    expect(isAnimated(bytes(await gifAnimated()))).toBe(true);
    expect(isAnimated(bytes(webp))).toBe(true);
    expect(isAnimated(bytes(stillGif))).toBe(false);
    expect(isAnimated(bytes(await webpWithAlpha()))).toBe(false); // VP8X with the alpha flag, not the animation one
    expect(isAnimated(bytes(await pngWithAlpha()))).toBe(false);
  });

  it('reads an APNG (acTL before IDAT) as animated and a JPEG as still', async () => {
    const png = await pngWithAlpha();
    // Insert an acTL chunk right after IHDR (8-byte signature + 25-byte IHDR chunk); its CRC is not checked here.
    const acTL = Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from('acTL'), Buffer.alloc(8), Buffer.alloc(4)]);
    const apng = Buffer.concat([png.subarray(0, 33), acTL, png.subarray(33)]);
    expect(isAnimated(bytes(apng))).toBe(true);
    expect(isAnimated(bytes(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).jpeg().toBuffer()))).toBe(false);
  });

  it('counts what a truncated GIF holds instead of reading past its end', async () => {
    const gif = await gifAnimated();
    expect(isAnimated(bytes(gif.subarray(0, 40)))).toBe(false);
  });
});
