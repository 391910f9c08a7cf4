/**
 * The sharp pipeline: one decode, every variant.
 *
 * The source is decoded exactly once, with shrink-on-load straight to the largest variant: the optional crop
 * rectangle (given in oriented pixels, mapped to stored ones) is extracted, the result is resized until its short
 * side is the largest variant's and converted to 8-bit sRGB raw pixels (an embedded profile only after that resize,
 * see colour-after-resize.ts). A region (image or crop) longer than {@link MAX_RESIZE_ASPECT} times its short side is
 * first trimmed around its centre, so the intermediate stays near largest × 2·largest pixels whatever the shape
 * (resized whole, a 16×90000 strip would be 512×2.9 million pixels: 4 GB, and sharp aborts the process). Every
 * variant is then derived from that small intermediate — the centred square cut out (or the one sharp's
 * `attention`/`entropy` strategy picks there, see `position`) and EXIF orientation applied there, where turning it is
 * cheap (see orientation.ts) — and encoded in two lanes: the largest alone, the others one after another beside it.
 * Each is handed to the caller as soon as it is done. Because `failOn: 'warning'` is set on the source, a truncated or
 * corrupt file fails during that single decode. Nothing of the source's metadata (EXIF, GPS, XMP, ICC, comments)
 * survives: the intermediate is raw pixels and the encoders are never asked to keep metadata.
 */
import { createHash } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';
import { decodeShaped } from './colour-after-resize.js';
import type { ErrorFactory } from './errors.js';
import type { InspectedImage } from './inspect.js';
import { sha256Hex } from './keys.js';
import type { OutputFormat, Position } from './options.js';
import { applyOrientation, centredSquare, swapsSides, toStoredRect } from './orientation.js';
import { renderPreview, type PicturePreview } from './preview.js';

/** A crop rectangle in source pixels, measured after EXIF orientation. */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One encoded variant. */
export interface RenderedVariant {
  data: Buffer;
  width: number;
  height: number;
  /** SHA-256 (hex) of `data`. */
  hash: string;
}

/** The output of {@link renderVariants}. */
export interface RenderedPicture {
  contentType: string;
  extension: string;
  /** SHA-256 (hex) over every variant's name and hash, in the order of `settings.variants`. */
  contentHash: string;
  variants: Record<string, RenderedVariant>;
  /** Average colour and ThumbHash of the square, for placeholders (see preview.ts). */
  preview: PicturePreview;
}

/**
 * Called with each variant as soon as its encode finishes, while larger ones may still be encoding, so the caller
 * can start storing it. Called at most once per variant, and never after `renderVariants` settles: a failing encode
 * rejects only once every other encode has finished.
 */
export type VariantListener = (name: string, variant: RenderedVariant) => void;

/** What {@link renderVariants} produces: square sides by variant name, the encoding and an optional crop. */
export interface RenderSettings {
  variants: Readonly<Record<string, number>>;
  output: { format: OutputFormat; quality: number };
  crop?: CropRect | undefined;
  /** Where the square is taken from when there is no crop. @default 'centre' */
  position?: Position;
  /** Shortest accepted crop side in pixels (the service passes `limits.minSide`). @default 1 */
  minCropSide?: number;
}

/**
 * How much longer than its short side a region may be when it is resized. The square is cut from the middle, so
 * what lies beyond is never seen; photos up to 2:1 (3:2, 16:9) are untouched and keep JPEG shrink-on-load.
 */
export const MAX_RESIZE_ASPECT = 2;

/** The MIME type and file extension of an output format. */
export interface Encoding {
  contentType: string;
  extension: string;
}

const ENCODING: Record<OutputFormat, Encoding> = {
  webp: { contentType: 'image/webp', extension: 'webp' },
  jpeg: { contentType: 'image/jpeg', extension: 'jpg' },
  png: { contentType: 'image/png', extension: 'png' },
  avif: { contentType: 'image/avif', extension: 'avif' },
};

/** The MIME type and extension every variant of `format` is stored with. */
export function encodingOf(format: OutputFormat): Encoding {
  return ENCODING[format];
}

/**
 * Decodes `image` once and encodes every variant, handing each to `onVariant` as it finishes.
 * @throws ProfilePictureError `INVALID_CROP` (400: outside the image, or a side under `minCropSide`) or
 *   `CORRUPT_IMAGE` (422).
 * @example
 * ```ts
 * const rendered = await renderVariants(image, { variants: { sm: 64, lg: 512 }, output: { format: 'webp', quality: 82 } }, fail);
 * rendered.variants.lg.data; // 512 × 512 WebP bytes
 * ```
 */
export async function renderVariants(
  image: InspectedImage,
  settings: RenderSettings,
  fail: ErrorFactory,
  onVariant?: VariantListener,
): Promise<RenderedPicture> {
  if (settings.crop) checkCrop(settings.crop, image, settings.minCropSide ?? 1, fail);
  const largest = Math.max(...Object.values(settings.variants));
  const region = regionToResize(image, settings.crop);

  const position = settings.crop ? 'centre' : (settings.position ?? 'centre');
  // Upright pixels: sharp's cover crop is the centred square itself, and saves cutting a copy of it below. (With an
  // orientation to apply, sharp would centre in stored pixels and scale a little differently from autoOrient-first.)
  const cover = position === 'centre' && image.orientation === 1;
  let intermediate;
  try {
    // An extract before the resize turns off shrink-on-load, so the whole, untrimmed image is never extracted.
    // Otherwise 'outside', not 'cover': the centred square is cut in displayed pixels below, which matters when the
    // excess is odd and the orientation mirrors an axis (cover would centre it in stored pixels, one pixel off).
    const fit = cover ? 'cover' : 'outside';
    const shape = (decode: Sharp) => (region ? decode.extract(storedRect(region, image)) : decode).resize(largest, largest, { fit });
    const pipeline = decodeShaped(image, shape, downscales(region ?? image, largest));
    intermediate = await withSrgbWorkingSpace(pipeline, image)
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw fail('CORRUPT_IMAGE', { cause });
  }

  const { info } = intermediate;
  // sharp's 'outside' guarantees both sides ≥ the box, 'cover' both equal to it; cutting rows from anything smaller
  // would read garbage.
  if (Math.min(info.width, info.height) < largest || (cover && Math.max(info.width, info.height) !== largest)) {
    throw new Error(`[profile-picture] sharp resized to ${info.width}×${info.height}, not a ${largest} px square or more`);
  }
  const raw = { width: largest, height: largest, channels: info.channels };
  let data;
  if (cover) {
    data = intermediate.data;
  } else if (position === 'centre') {
    // Cut in JavaScript: a few hundred row copies (none for a portrait source), where a sharp extract in each encode
    // pipeline would run after the rotation whenever that pipeline also resizes.
    const square = centredSquare(largest, image.orientation, info.width, info.height);
    data = extractRows(intermediate.data, info.width, info.channels, square);
  } else {
    data = await interestingSquare(intermediate.data, info, largest, position);
  }
  const names = Object.keys(settings.variants);
  // Two lanes, so the largest encode — the longest, the one the answer waits for — competes with at most one other:
  // it runs alone in one lane, the smaller ones one after another in the other, and they still finish before it. On
  // 2 cores three encodes at once slowed it by 5–25 %; the lanes win that back only when a core is free (issue 10).
  const [first, ...others] = [...names].sort((a, b) => settings.variants[b]! - settings.variants[a]!);
  const encodeVariant = (name: string) => {
    const side = settings.variants[name]!;
    // A smaller variant is resized before it is turned (sharp turns first when told in the other order): turning the
    // whole square for a 64 px thumbnail cost ~1 ms. For a 90° turn libvips then rounds its two resize passes in
    // the other order (±1, mean ~0.25 per channel); mirrors and 180° give the same pixels either way.
    const pipeline = applyOrientation(side === largest ? sharp(data, { raw }) : sharp(data, { raw }).resize(side, side), image.orientation);
    return encode(pipeline, settings.output, side)
      .toBuffer({ resolveWithObject: true })
      .then((out) => {
        const variant = { data: out.data, width: out.info.width, height: out.info.height, hash: sha256Hex(out.data) };
        onVariant?.(name, variant);
        return [name, variant] as const;
      });
  };
  const pending = new Map([[first!, encodeVariant(first!)]]);
  let lane: Promise<unknown> = Promise.resolve();
  for (const name of others) {
    const done = lane.then(() => encodeVariant(name));
    lane = done.catch(() => {});
    pending.set(name, done);
  }
  // Last in the small lane, which finishes before the largest encode: the answer does not wait for it.
  const preview = lane.then(() =>
    renderPreview({ data, side: largest, channels: info.channels, orientation: image.orientation }, settings.output.format === 'jpeg'),
  );
  preview.catch(() => {}); // awaited below once the encodes succeeded; not an unhandled rejection meanwhile
  // Settle every encode before failing, so `onVariant` is never called after this function has rejected.
  const results = await Promise.allSettled(names.map((name) => pending.get(name)!));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  const encoded = results.map((result) => (result as PromiseFulfilledResult<readonly [string, RenderedVariant]>).value);

  const hash = createHash('sha256');
  for (const [name, variant] of encoded) hash.update(name).update('\0').update(variant.hash).update('\0');
  return {
    ...ENCODING[settings.output.format],
    contentHash: hash.digest('hex'),
    variants: Object.fromEntries(encoded),
    preview: await preview,
  };
}

/**
 * `pipeline`, told to work in 8-bit sRGB when `image` is 16-bit RGB with an embedded profile (exported for master.ts).
 * sharp converts such a profile into Display P3, its working space for 16 bits ("processingProfile" in its
 * pipeline.cc), where for 8 bits it converts into sRGB; `toColourspace('srgb')` then only narrows the P3 numbers to 8
 * bits. Working in 8-bit sRGB from the start makes sharp narrow first and then convert the profile into sRGB, as for an
 * 8-bit source: a 16-bit PNG tagged sRGB then renders exactly like its 8-bit twin, and converting into sRGB at 16 bits
 * (`withIccProfile('srgb')` after the P3 step) came out no closer for Display P3 while adding a round trip through P3
 * (±1 level) for sRGB. Anything else is returned as it is: untagged 16-bit pixels are already taken as sRGB.
 */
export function withSrgbWorkingSpace(pipeline: Sharp, image: InspectedImage): Sharp {
  return image.rgb16Profile ? pipeline.pipelineColourspace('srgb') : pipeline;
}

/**
 * `rect` with its long side cut to `maxAspect` × its short side (one pixel more when that keeps the excess even),
 * equally from both ends, so the trimmed rectangle has exactly the same centre. `rect` itself when it is not longer.
 */
export function trimToAspect(rect: CropRect, maxAspect: number): CropRect {
  const wide = rect.width >= rect.height;
  const long = wide ? rect.width : rect.height;
  const limit = Math.floor(maxAspect * (wide ? rect.height : rect.width));
  if (long <= limit) return rect;
  const kept = limit + ((long - limit) % 2);
  const offset = (long - kept) / 2;
  return wide
    ? { ...rect, left: rect.left + offset, width: kept }
    : { ...rect, top: rect.top + offset, height: kept };
}

// --- internal ---


/**
 * AVIF's encoder effort (0–9). sharp's default, 4, took 13–60 times WebP's time for the three default variants of a
 * 1280×960 photo (0.5–2.4 s); 2 takes about twice WebP's time for files still ~40 % smaller than WebP's.
 */
const AVIF_EFFORT = 2;

/** Sides up to this get WebP's faster `effort: 2`: at thumbnail sizes it costs a few bytes and saves ~30% CPU. */
const SMALL_VARIANT_SIDE = 256;

function encode(pipeline: Sharp, output: RenderSettings['output'], side: number): Sharp {
  switch (output.format) {
    case 'webp':
      return pipeline.webp({ quality: output.quality, ...(side <= SMALL_VARIANT_SIDE ? { effort: 2 } : {}) });
    case 'jpeg':
      // JPEG has no alpha: composite transparent areas onto white rather than black.
      return pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: output.quality, mozjpeg: true });
    case 'png':
      return pipeline.png({ compressionLevel: 9 });
    case 'avif':
      return pipeline.avif({ quality: output.quality, effort: AVIF_EFFORT });
  }
}

/**
 * The `side`-pixel square of a raw intermediate that sharp's `attention` or `entropy` strategy picks. It runs on the
 * intermediate — already about `side` × {@link MAX_RESIZE_ASPECT}·`side` at most, its short side `side` — so it only
 * chooses where to cut and never sees the full-resolution source. Stored orientation is fine: both strategies score
 * pixels, not directions.
 */
async function interestingSquare(
  pixels: Buffer,
  info: { width: number; height: number; channels: 1 | 2 | 3 | 4 },
  side: number,
  position: Exclude<Position, 'centre'>,
): Promise<Buffer> {
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return sharp(pixels, { raw }).resize(side, side, { fit: 'cover', position }).raw({ depth: 'uchar' }).toBuffer();
}

/** The pixels of `rect` out of a raw image `width` pixels wide: a view when the rows are whole, else a copy. */
function extractRows(data: Buffer, width: number, channels: number, rect: CropRect): Buffer {
  const stride = width * channels;
  const start = rect.top * stride;
  if (rect.left === 0 && rect.width === width) return data.subarray(start, start + rect.height * stride);
  const rowBytes = rect.width * channels;
  const out = Buffer.allocUnsafe(rect.height * rowBytes);
  for (let row = 0; row < rect.height; row++) {
    const from = start + row * stride + rect.left * channels;
    data.copy(out, row * rowBytes, from, from + rowBytes);
  }
  return out;
}

/**
 * The region (in displayed pixels) to extract before resizing: the crop, or the whole image, trimmed around its
 * centre to at most {@link MAX_RESIZE_ASPECT}:1. `undefined` when that is the whole image.
 */
export function regionToResize(image: InspectedImage, crop: CropRect | undefined): CropRect | undefined {
  const whole = { left: 0, top: 0, width: image.width, height: image.height };
  const region = trimToAspect(crop ?? whole, MAX_RESIZE_ASPECT);
  return crop || region !== whole ? region : undefined;
}

/** Whether resizing `region` to cover a `side` px square makes it smaller (its short side is longer than `side`). */
function downscales(region: { width: number; height: number }, side: number): boolean {
  return Math.min(region.width, region.height) > side;
}

/** `rect`, given in displayed pixels, in the stored (not yet oriented) pixels of `image`. */
export function storedRect(rect: CropRect, image: InspectedImage): CropRect {
  const swap = swapsSides(image.orientation);
  const storedWidth = swap ? image.height : image.width;
  const storedHeight = swap ? image.width : image.height;
  return toStoredRect(rect, image.orientation, storedWidth, storedHeight);
}

/**
 * Throws `INVALID_CROP` unless `crop` is whole pixels inside `image` with both sides at least `minSide` (exported for
 * render-animated.ts, which checks the crop before deciding the square every frame is cut to).
 */
export function checkCrop(crop: CropRect, image: InspectedImage, minSide: number, fail: ErrorFactory): void {
  const { left, top, width, height } = crop;
  // A crop thinner than the smallest accepted image cannot make a sensible picture (a 1-px column stretched to a
  // 512 px square): it is refused like an image that small.
  const reason = ![left, top, width, height].every((n) => Number.isInteger(n))
    ? 'not-an-integer'
    : Math.min(width, height) < Math.max(minSide, 1)
      ? 'too-small'
      : left < 0 || top < 0 || left + width > image.width || top + height > image.height
        ? 'outside'
        : null;
  if (reason === null) return;
  // Only numbers go into details: a caller's crop may hold anything, and details end up in JSON responses.
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
  throw fail('INVALID_CROP', {
    details: {
      reason,
      left: number(left),
      top: number(top),
      width: number(width),
      height: number(height),
      imageWidth: image.width,
      imageHeight: image.height,
      ...(reason === 'too-small' ? { minSide } : {}),
    },
  });
}
