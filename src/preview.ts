/**
 * The record's placeholder preview: the picture's average colour and a ThumbHash, shown while the real image loads.
 *
 * Computed from the raw square the variants are encoded from (already decoded, at most the largest variant's size),
 * shrunk to {@link PREVIEW_SIDE} pixels: a ThumbHash keeps only the lowest frequencies (at most 7 × 7 luminance
 * coefficients), so a larger input changes nothing but the time its encoder takes (quadratic in the side).
 */
import type { Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

/**
 * A tiny stand-in for a picture, computed at upload time and kept in its record as `record.preview`. Records written
 * before previews existed have none.
 */
export interface PicturePreview {
  /** The picture's average colour as `#rrggbb` (alpha-weighted: transparent areas do not count). */
  color: string;
  /**
   * The picture's ThumbHash (github.com/evanw/thumbhash), base64-encoded: about 25 bytes (at most 100), decoded in the
   * browser into a blurred 32-pixel image with `thumbHashToDataURL()` from `profile-picture/client`.
   */
  thumbhash: string;
}

/**
 * Side of the image the preview is computed from. ThumbHash accepts up to 100; from 32 its encoder takes ~0.15 ms
 * instead of ~0.9 ms, for a hash that differed from the 100-pixel one by at most one quantisation step on the
 * photos tried (identical, or decoding to within 10/255 per channel). The shrink itself (one sharp pipeline,
 * ~1.5–2 ms of CPU) dominates either way.
 */
export const PREVIEW_SIDE = 32;

/**
 * The preview of the displayed square `pipeline` holds (raw pixels, orientation applied). `flatten` composes
 * transparent areas onto white, as the JPEG encoder does, so the preview matches the stored variants.
 * @throws whatever sharp throws for the pipeline.
 * @example
 * ```ts
 * await renderPreview(sharp(pixels, { raw }), false); // { color: '#c06a4e', thumbhash: 'mAeKBYJ4…' }
 * ```
 */
export async function renderPreview(pipeline: Sharp, flatten: boolean): Promise<PicturePreview> {
  let small = pipeline.resize(PREVIEW_SIDE, PREVIEW_SIDE, { fit: 'fill' });
  if (flatten) small = small.flatten({ background: '#ffffff' });
  const { data, info } = await small.ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return {
    color: averageColor(data),
    thumbhash: Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64'),
  };
}

// --- internal ---

/** `#rrggbb` of the alpha-weighted mean of RGBA pixels; white when every pixel is transparent. */
function averageColor(rgba: Uint8Array): string {
  let r = 0;
  let g = 0;
  let b = 0;
  let weight = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const alpha = rgba[i + 3]!;
    r += rgba[i]! * alpha;
    g += rgba[i + 1]! * alpha;
    b += rgba[i + 2]! * alpha;
    weight += alpha;
  }
  if (weight === 0) return '#ffffff';
  const hex = (sum: number) => Math.round(sum / weight).toString(16).padStart(2, '0');
  return `#${hex(r)}${hex(g)}${hex(b)}`;
}
