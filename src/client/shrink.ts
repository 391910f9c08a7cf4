/// <reference lib="dom" />
/**
 * Shrinks a chosen photo in the browser before it is uploaded, so a 6–12 MB phone photo fits the server's size limit
 * instead of being refused, and a 12 MP photo whose avatar needs 512 px does not cross a slow uplink in full.
 *
 * Only when needed: a file within `maxBytes` whose long side is within `maxSide` is returned as it is (same bytes).
 * Otherwise it is decoded with its EXIF orientation applied (so the result is upright without any metadata), scaled
 * down with the browser's high-quality resampler, and re-encoded: JPEG when it is opaque (fast to encode: 0.1 s for
 * 3 MP in Chromium, where WebP takes 0.7 s), WebP (else PNG) when it has transparency, never a format the server does
 * not accept. Quality, then size, steps down until the result fits `maxBytes`. Animated images are never re-encoded
 * (a canvas keeps one frame), and anything the browser cannot decode is left as it is: the server answers for it.
 * Nothing here is trusted by the server, which checks and re-encodes every upload.
 */
import type { CropRect } from './crop.js';
import { animationBytes, isAnimated, SNIFF_BYTES, sniffImageType } from './sniff.js';

export type { CropRect };


/** Options of {@link shrinkForUpload}. */
export interface ShrinkOptions {
  /** The server's file size limit in bytes (`clientConfig().maxFileSize`). */
  maxBytes: number;
  /** Longest side in pixels worth uploading (`clientConfig().clientMaxSide`). */
  maxSide: number;
  /** MIME types the server accepts; the re-encoded file is one of them. @default JPEG, PNG and WebP */
  accept?: readonly string[];
  /** The part of the photo that becomes the avatar, in pixels of the upright original. */
  crop?: CropRect;
  /**
   * The upright size when already known (an `<img>`'s natural size, which honours EXIF orientation): a file within
   * both limits is then not decoded at all, and a larger one is decoded straight to the smaller size (faster, and
   * without holding the full-size pixels).
   */
  size?: { width: number; height: number };
  /** First encoder quality tried, 0–1. @default 0.9 */
  quality?: number;
  /** Stops the work; the promise then rejects with an `AbortError` DOMException. */
  signal?: AbortSignal;
}

/** Why {@link shrinkForUpload} returned the file unchanged. */
export type KeptReason = 'fits' | 'animated' | 'unreadable' | 'no-smaller';

/** What {@link shrinkForUpload} produced. */
export type ShrinkResult =
  | {
      /** The re-encoded image (a `File` named after the original, with the new format's extension). */
      blob: File;
      /** The crop in pixels of `blob`; when a crop was given, the file is already cut to it. */
      crop?: CropRect;
      shrunk: true;
      /** Upright size of `blob`. */
      width: number;
      height: number;
    }
  | {
      /** The original file, byte for byte. */
      blob: File;
      /** The crop as given (in the original's pixels). */
      crop?: CropRect;
      shrunk: false;
      /** Why: within the limits, animated, not decodable by this browser, or no encoding fits `maxBytes`. */
      reason: KeptReason;
    };

/**
 * Returns `file` ready to upload: as it is when it fits, else decoded upright, scaled so its long side is at most
 * `maxSide` (and less when needed to fit `maxBytes`) and re-encoded. With a `crop`, only the cropped part is kept
 * (the server would discard the rest, and keeping the crop's own pixels keeps it sharp) and the returned crop is the
 * whole new image.
 * @example
 * ```ts
 * const { blob, crop } = await shrinkForUpload(file, { maxBytes: 5 * 1024 * 1024, maxSide: 2048 });
 * form.append('profile_picture', blob, blob.name);
 * ```
 * @throws DOMException `AbortError` when `signal` aborts. Decoding and encoding failures are not thrown: the file
 *   comes back unchanged with `reason: 'unreadable'`.
 */
export async function shrinkForUpload(file: File, options: ShrinkOptions): Promise<ShrinkResult> {
  const { maxBytes, maxSide, crop, size, signal } = options;
  const keep = (reason: KeptReason): ShrinkResult => ({ blob: file, ...(crop && { crop }), shrunk: false, reason });
  if (size && file.size <= maxBytes && Math.max(size.width, size.height) <= maxSide) return keep('fits');
  const type = await sniff(file, signal);
  if (type.animated) return keep('animated');

  const bitmap = await checked(signal, decode(file, crop ? undefined : size, maxSide).catch(() => null));
  if (!bitmap) return keep('unreadable');
  try {
    const upright = size ?? bitmap; // with `size`, the bitmap may already be scaled down
    if (file.size <= maxBytes && Math.max(upright.width, upright.height) <= maxSide) return keep('fits');
    const region = clampCrop(crop ?? { left: 0, top: 0, width: bitmap.width, height: bitmap.height }, bitmap);
    const encoded = await encodeToFit(bitmap, region, type.mime, options);
    if (!encoded) return keep('no-smaller');
    const { blob, width, height } = encoded;
    const named = new File([blob], rename(file.name, blob.type), { type: blob.type, lastModified: file.lastModified });
    return { blob: named, ...(crop && { crop: { left: 0, top: 0, width, height } }), shrunk: true, width, height };
  } catch (err) {
    if (isAbort(err)) throw err;
    return keep('unreadable');
  } finally {
    bitmap.close(); // a 12 MP bitmap holds 48 MB until the garbage collector gets to it otherwise
  }
}

/**
 * Whether {@link shrinkForUpload} may be able to bring `file` under a size limit: a still image in a format browsers
 * decode (JPEG, PNG, WebP, GIF, BMP, AVIF). HEIC, TIFF, animations and non-images are not.
 * @example
 * ```ts
 * if (file.size > maxBytes && !(await shrinkable(file))) showError('Choose a smaller one');
 * ```
 */
export async function shrinkable(file: Blob): Promise<boolean> {
  const { mime, animated } = await sniff(file);
  return mime !== null && DECODABLE.includes(mime) && !animated;
}

// --- internal ---

const DECODABLE = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/avif'];
const DEFAULT_ACCEPT = ['image/jpeg', 'image/png', 'image/webp'];
/** Quality steps below the first one, then size steps (each 3/4 of the previous side), before giving up. */
const QUALITY_STEP = 0.1;
const QUALITY_STEPS = 2;
const SIZE_STEPS = 6;
const EXTENSIONS: Record<string, string> = { 'image/jpeg': '.jpg', 'image/webp': '.webp', 'image/png': '.png' };

/** Decodes `file` upright; at most `maxSide` on its long side when its upright `size` is known (one pass). */
function decode(file: Blob, size: { width: number; height: number } | undefined, maxSide: number): Promise<ImageBitmap> {
  const scale = size ? maxSide / Math.max(size.width, size.height) : 1;
  if (!size || scale >= 1) return createImageBitmap(file, { imageOrientation: 'from-image' });
  const resizeWidth = Math.max(1, Math.round(size.width * scale));
  const resizeHeight = Math.max(1, Math.round(size.height * scale));
  return createImageBitmap(file, { imageOrientation: 'from-image', resizeWidth, resizeHeight, resizeQuality: 'high' });
}

interface Sniffed {
  mime: string | null;
  animated: boolean;
}

async function sniff(file: Blob, signal?: AbortSignal): Promise<Sniffed> {
  const head = new Uint8Array(await checked(signal, file.slice(0, SNIFF_BYTES).arrayBuffer()));
  const mime = sniffImageType(head);
  const wanted = Math.min(file.size, animationBytes(mime));
  const bytes = new Uint8Array(await checked(signal, file.slice(0, wanted).arrayBuffer()));
  return { mime, animated: isAnimated(bytes) };
}

/**
 * Encodes `region` of `bitmap` at most `maxSide` on its long side, stepping quality and then size down until the
 * result fits `maxBytes`. Null when nothing fits (or no acceptable format can be encoded here).
 */
async function encodeToFit(
  bitmap: ImageBitmap,
  region: CropRect,
  mime: string | null,
  options: ShrinkOptions,
): Promise<{ blob: Blob; width: number; height: number } | null> {
  const { maxBytes, maxSide, accept = DEFAULT_ACCEPT, quality = 0.9, signal } = options;
  let scale = Math.min(1, maxSide / Math.max(region.width, region.height));
  let formats: string[] | null = null;
  const source = cut(bitmap, region);
  for (let step = 0; step <= SIZE_STEPS; step++, scale *= 0.75) {
    const width = Math.max(1, Math.round(region.width * scale));
    const height = Math.max(1, Math.round(region.height * scale));
    const canvas = await draw(source, width, height, signal);
    // JPEG cannot carry transparency (it would turn black): only opaque pixels may become JPEG.
    formats ??= outputFormats(mime !== 'image/jpeg' && hasTransparency(canvas), accept);
    for (const format of formats) {
      const lossy = format !== 'image/png';
      for (let q = 0; q <= (lossy ? QUALITY_STEPS : 0); q++) {
        const blob = await checked(signal, encode(canvas, format, quality - q * QUALITY_STEP));
        if (blob.type !== format) break; // this browser cannot encode it (it fell back to PNG): next format
        if (blob.size <= maxBytes) return { blob, width, height };
      }
    }
  }
  return null;
}

/** Preferred output formats, those the server accepts: JPEG for opaque pictures, WebP or PNG to keep transparency. */
function outputFormats(transparent: boolean, accept: readonly string[]): string[] {
  const preferred = transparent ? ['image/webp', 'image/png'] : ['image/jpeg', 'image/webp', 'image/png'];
  return preferred.filter((format) => accept.includes(format));
}

type Canvas = OffscreenCanvas | HTMLCanvasElement;

async function draw(source: ImageBitmap | Canvas, width: number, height: number, signal?: AbortSignal): Promise<Canvas> {
  // createImageBitmap's 'high' resize quality, not drawImage: Chromium's drawImage smoothing is not a proper filter.
  const scaled = await checked(signal, createImageBitmap(source, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' }));
  try {
    const canvas = newCanvas(width, height);
    context2d(canvas).drawImage(scaled, 0, 0);
    return canvas;
  } finally {
    scaled.close();
  }
}

/**
 * `region` of `bitmap` at full resolution. Drawn 1:1 on a canvas rather than cropped by `createImageBitmap(bitmap,
 * sx, sy, sw, sh)`: on a bitmap decoded with `imageOrientation: 'from-image'`, Chromium 156 applies that crop
 * rectangle to the wrong part of a rotated (EXIF 5–8) photo, where drawing it honours the upright pixels.
 */
function cut(bitmap: ImageBitmap, region: CropRect): ImageBitmap | Canvas {
  const { left, top, width, height } = region;
  if (left === 0 && top === 0 && width === bitmap.width && height === bitmap.height) return bitmap;
  const canvas = newCanvas(width, height);
  context2d(canvas).drawImage(bitmap, left, top, width, height, 0, 0, width, height);
  return canvas;
}

function newCanvas(width: number, height: number): Canvas {
  return typeof OffscreenCanvas === 'function'
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement('canvas'), { width, height });
}

function context2d(canvas: Canvas): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  const context = canvas.getContext('2d', { willReadFrequently: true }) as
    | OffscreenCanvasRenderingContext2D
    | CanvasRenderingContext2D
    | null;
  if (!context) throw new Error('no 2d context');
  return context;
}

function hasTransparency(canvas: Canvas): boolean {
  const { data } = context2d(canvas).getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 3; i < data.length; i += 4) if (data[i]! < 255) return true;
  return false;
}

function encode(canvas: Canvas, type: string, quality: number): Promise<Blob> {
  if ('convertToBlob' in canvas) return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('toBlob failed'))), type, quality),
  );
}

/** `crop` rounded and kept inside `image`; the server refuses a crop that leaves the image, the client need not. */
function clampCrop(crop: CropRect, image: { width: number; height: number }): CropRect {
  const left = clamp(Math.round(crop.left), 0, image.width - 1);
  const top = clamp(Math.round(crop.top), 0, image.height - 1);
  const width = clamp(Math.round(crop.width), 1, image.width - left);
  const height = clamp(Math.round(crop.height), 1, image.height - top);
  return { left, top, width, height };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** `IMG_1234.HEIC` → `IMG_1234.jpg`: the name is display only, but should not contradict the bytes. */
function rename(name: string, type: string): string {
  const base = name.replace(/\.[^./\\]*$/, '') || 'photo';
  return base + (EXTENSIONS[type] ?? '');
}

/** Awaits `promise`, then throws an `AbortError` when `signal` was aborted meanwhile. */
async function checked<T>(signal: AbortSignal | undefined, promise: Promise<T>): Promise<T> {
  const value = await promise;
  if (signal?.aborted) {
    if (typeof ImageBitmap === 'function' && value instanceof ImageBitmap) value.close();
    throw new DOMException('The upload was aborted.', 'AbortError');
  }
  return value;
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
