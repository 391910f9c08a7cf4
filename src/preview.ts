/**
 * The record's placeholder preview: the picture's average colour and a ThumbHash, shown while the real image loads.
 *
 * Computed from the raw square the variants are encoded from (already decoded and in memory), box-filtered to
 * {@link PREVIEW_SIDE} pixels here in JavaScript: a ThumbHash keeps only the lowest frequencies (at most 7 × 7
 * luminance coefficients), so a finer filter changes nothing visible, and one more sharp pipeline (rotate, resize,
 * read back) cost several times the ~1 ms this loop takes.
 */
import { rgbaToThumbHash } from 'thumbhash';
import { toStoredPoint } from './orientation.js';

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

/** Side of the image the ThumbHash is computed from (its encoder's time is quadratic in the side; at most 100). */
export const PREVIEW_SIDE = 32;

/** The raw square the variants are encoded from: stored (not yet oriented) pixels, `side` × `side`. */
export interface RawSquare {
  data: Uint8Array;
  side: number;
  channels: 1 | 2 | 3 | 4;
  /** EXIF orientation (1–8) the variants apply when encoding. */
  orientation: number;
}

/**
 * The preview of `square` as the variants show it (oriented; with `flatten`, transparent areas on white, as JPEG
 * output has them).
 */
export function renderPreview(square: RawSquare, flatten: boolean): PicturePreview {
  const rgba = orient(boxFilter(square), square.orientation);
  if (flatten) flattenOnWhite(rgba);
  return {
    color: averageColor(rgba),
    thumbhash: Buffer.from(rgbaToThumbHash(PREVIEW_SIDE, PREVIEW_SIDE, rgba)).toString('base64'),
  };
}

// --- internal ---

/** `PREVIEW_SIDE`² RGBA averages of the square's blocks, alpha-weighted so transparent pixels lend no colour. */
function boxFilter({ data, side, channels }: RawSquare): Uint8Array {
  const out = new Uint8Array(PREVIEW_SIDE * PREVIEW_SIDE * 4);
  const hasAlpha = channels === 2 || channels === 4;
  const edge = (i: number) => Math.floor((i * side) / PREVIEW_SIDE);
  for (let by = 0; by < PREVIEW_SIDE; by++) {
    const y0 = edge(by);
    const y1 = Math.max(edge(by + 1), y0 + 1);
    for (let bx = 0; bx < PREVIEW_SIDE; bx++) {
      const x0 = edge(bx);
      const x1 = Math.max(edge(bx + 1), x0 + 1);
      const count = (y1 - y0) * (x1 - x0);
      const sums = hasAlpha ? weightedSums(data, side, channels, x0, x1, y0, y1) : plainSums(data, side, channels, x0, x1, y0, y1);
      const o = (by * PREVIEW_SIDE + bx) * 4;
      // Opaque: plain sums, the same quotients as alpha-weighting every pixel by 255, at a fraction of the cost.
      const weight = hasAlpha ? sums[3]! : count;
      for (let c = 0; c < 3; c++) out[o + c] = weight === 0 ? 0 : Math.round(sums[c]! / weight);
      out[o + 3] = hasAlpha ? Math.round(weight / count) : 255;
    }
  }
  return out;
}

/** The sums of one block (r, g, b, alpha), reused: the loops are synchronous, so no caller ever holds two. */
const blockSums = new Float64Array(4);

/** Channel sums of a block of an opaque (grey or RGB) image; the fourth is unused. */
function plainSums(data: Uint8Array, side: number, channels: number, x0: number, x1: number, y0: number, y1: number) {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let y = y0; y < y1; y++) {
    const end = (y * side + x1) * channels;
    if (channels === 3) {
      for (let at = (y * side + x0) * 3; at < end; at += 3) {
        r += data[at]!;
        g += data[at + 1]!;
        b += data[at + 2]!;
      }
    } else {
      for (let at = y * side + x0; at < end; at++) r += data[at]!;
    }
  }
  blockSums[0] = r;
  blockSums[1] = channels === 3 ? g : r;
  blockSums[2] = channels === 3 ? b : r;
  return blockSums;
}

/** Alpha-weighted channel sums of a block of a grey+alpha or RGBA image, and the alpha sum. */
function weightedSums(data: Uint8Array, side: number, channels: number, x0: number, x1: number, y0: number, y1: number) {
  const grey = channels < 3;
  let r = 0;
  let g = 0;
  let b = 0;
  let a = 0;
  for (let y = y0; y < y1; y++) {
    const end = (y * side + x1) * channels;
    for (let at = (y * side + x0) * channels; at < end; at += channels) {
      const alpha = data[at + channels - 1]!;
      r += data[at]! * alpha;
      g += data[grey ? at : at + 1]! * alpha;
      b += data[grey ? at : at + 2]! * alpha;
      a += alpha;
    }
  }
  blockSums[0] = r;
  blockSums[1] = g;
  blockSums[2] = b;
  blockSums[3] = a;
  return blockSums;
}

/** The `PREVIEW_SIDE`² RGBA image as displayed: each displayed pixel read from where `orientation` stored it. */
function orient(stored: Uint8Array, orientation: number): Uint8Array {
  if (orientation === 1) return stored;
  const toStored = toStoredPoint(orientation);
  const out = new Uint8Array(stored.length);
  for (let y = 0; y < PREVIEW_SIDE; y++) {
    for (let x = 0; x < PREVIEW_SIDE; x++) {
      const [sx, sy] = toStored(x + 0.5, y + 0.5, PREVIEW_SIDE, PREVIEW_SIDE);
      const from = (Math.floor(sy) * PREVIEW_SIDE + Math.floor(sx)) * 4;
      out.set(stored.subarray(from, from + 4), (y * PREVIEW_SIDE + x) * 4);
    }
  }
  return out;
}

function flattenOnWhite(rgba: Uint8Array): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const alpha = rgba[i + 3]! / 255;
    for (let c = 0; c < 3; c++) rgba[i + c] = Math.round(rgba[i + c]! * alpha + 255 * (1 - alpha));
    rgba[i + 3] = 255;
  }
}

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
