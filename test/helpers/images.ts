/**
 * Small generated images for service-level tests (ordering, faults, concurrency), where the pixels do not matter
 * but distinct inputs must produce distinct content hashes. Format-specific fixtures live in `test/fixtures/`.
 */
import sharp from 'sharp';

/** A solid-colour JPEG of `size`×`size` pixels. */
export function solidJpeg(rgb: readonly [number, number, number], size = 64): Promise<Buffer> {
  return solid(rgb, size).jpeg({ quality: 90 }).toBuffer();
}

/** A solid-colour PNG of `size`×`size` pixels. */
export function solidPng(rgb: readonly [number, number, number], size = 64): Promise<Buffer> {
  return solid(rgb, size).png().toBuffer();
}

/** `count` PNGs of clearly different colours, so every one renders to different bytes (and keys). */
export function distinctImages(count: number, size = 48): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => solidPng([(i * 53) % 256, (i * 97 + 40) % 256, (255 - i * 31) & 255], size)),
  );
}

function solid(rgb: readonly [number, number, number], size: number) {
  const [r, g, b] = rgb;
  return sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } });
}
