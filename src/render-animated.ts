/**
 * Animated variants (option `animated`): an animated GIF or WebP becomes animated WebP variants, plus a still of each.
 *
 * One square is decided first, in source pixels, and every frame is cut to it: the user's crop or the whole frame,
 * its centred square — or, under `position: 'attention' | 'entropy'`, the square sharp's strategy picks on the first
 * frame (sharp runs those strategies on single images only, and a square that moved from frame to frame would
 * jitter). The stills are the ordinary render (render.ts) of the first frame cut to that same square, so a still is
 * exactly what the animation shows first. Each animated variant is then its own sharp pipeline over every frame —
 * extract the square, resize, encode WebP — which keeps frame delays and the loop count (sharp carries them from the
 * input) and no metadata. Pipelines, not one decoded intermediate: libvips streams the frames through, so memory
 * stays near one frame per pipeline whatever the frame count, where an intermediate of every frame at the largest
 * size would hold frames × 1 MiB; the price is one GIF/WebP decode per variant.
 *
 * Cost grows with frames × pixels, so `limits.animationPixels` is checked from the header (frame count and size)
 * before any frame is decoded, and the same cap is handed to sharp as its pixel limit over all frames.
 */
import { createHash } from 'node:crypto';
import type { Sharp } from 'sharp';
import type { ErrorFactory } from './errors.js';
import type { InspectedImage } from './inspect.js';
import { sha256Hex } from './keys.js';
import {
  checkCrop,
  encodingOf,
  renderVariants,
  type CropRect,
  type RenderedPicture,
  type RenderedVariant,
  type RenderSettings,
  type VariantListener,
} from './render.js';

/** What {@link renderAnimatedVariants} needs beyond {@link RenderSettings}. */
export interface AnimatedRenderSettings extends RenderSettings {
  /** Most frames × pixels accepted (`limits.animationPixels`); see {@link animationCost}. */
  animationPixels: number;
}

/** The output of {@link renderAnimatedVariants}: animated `variants` and the first frame of each in `stills`. */
export interface RenderedAnimation extends RenderedPicture {
  stills: Record<string, RenderedVariant>;
}

/** An image {@link renderAnimatedVariants} can animate. */
export type AnimatedImage = InspectedImage & { openFrames(maxPixels: number): Sharp };

/**
 * True when `image` is an animation this module can render: a GIF or WebP of several frames without an EXIF
 * rotation (sharp cannot rotate or transpose multi-page images; such a file is rendered as a still).
 */
export function canAnimate(image: InspectedImage): image is AnimatedImage {
  return image.frames > 1 && image.openFrames !== undefined && (image.format === 'gif' || image.format === 'webp') && image.orientation === 1;
}

/**
 * The pixels an animation costs: frames × width × height, each frame counted at least as large as the largest
 * variant, since every frame is encoded at that size (a thousand 16 × 16 frames cost a thousand 512 × 512 encodes).
 */
export function animationCost(image: InspectedImage, largestSide: number): number {
  return image.frames * Math.max(image.width * image.height, largestSide * largestSide);
}

/**
 * Renders every variant of an animation, handing each animated variant to `onVariant` and each still to `onStill`
 * as soon as it is encoded.
 * @throws ProfilePictureError `IMAGE_TOO_LARGE` (422, over `animationPixels`, before decoding), `INVALID_CROP` (400),
 *   `CORRUPT_IMAGE` (422).
 * @example
 * ```ts
 * if (canAnimate(image)) {
 *   const rendered = await renderAnimatedVariants(image, { variants: { md: 256 }, output, animationPixels: 25e6 }, fail);
 *   rendered.variants.md.data; // animated 256 × 256 WebP; rendered.stills.md.data: its first frame
 * }
 * ```
 */
export async function renderAnimatedVariants(
  image: AnimatedImage,
  settings: AnimatedRenderSettings,
  fail: ErrorFactory,
  onVariant?: VariantListener,
  onStill?: VariantListener,
): Promise<RenderedAnimation> {
  const largest = Math.max(...Object.values(settings.variants));
  const cost = animationCost(image, largest);
  if (cost > settings.animationPixels) {
    throw fail('IMAGE_TOO_LARGE', {
      details: { frames: image.frames, width: image.width, height: image.height, limit: settings.animationPixels },
    });
  }
  if (settings.crop) checkCrop(settings.crop, image, settings.minCropSide ?? 1, fail);
  const square = await squareOf(image, settings, largest, fail);

  // The stills first: one small decode, and the page can show a picture before the animation is ready.
  const stills = await renderVariants(image, { ...settings, crop: square, position: 'centre' }, fail, onStill);

  const names = Object.keys(settings.variants);
  const whole = square.width === image.width && square.height === image.height;
  const encodeVariant = async (name: string): Promise<readonly [string, RenderedVariant]> => {
    const side = settings.variants[name]!;
    let out;
    try {
      let pipeline = image.openFrames(settings.animationPixels);
      if (!whole) pipeline = pipeline.extract(square); // per frame: sharp crops each page of the strip
      out = await pipeline
        .resize(side, side)
        .webp({ quality: settings.output.quality, ...(side <= SMALL_VARIANT_SIDE ? { effort: 2 } : {}) })
        .toBuffer({ resolveWithObject: true });
    } catch (cause) {
      throw fail('CORRUPT_IMAGE', { cause });
    }
    const variant = { data: out.data, width: out.info.width, height: out.info.pageHeight ?? out.info.height, hash: sha256Hex(out.data) };
    onVariant?.(name, variant);
    return [name, variant] as const;
  };
  // One after another, largest first: each encode is single-threaded in libwebp, so a second animated pipeline would
  // only take the other core from other uploads, and peak memory stays one pipeline's. A failure stops the rest, so
  // `onVariant` is never called after this function has rejected.
  const encoded: Array<readonly [string, RenderedVariant]> = [];
  for (const name of [...names].sort((a, b) => settings.variants[b]! - settings.variants[a]!)) {
    encoded.push(await encodeVariant(name));
  }
  encoded.sort((a, b) => names.indexOf(a[0]) - names.indexOf(b[0]));

  const hash = createHash('sha256');
  for (const [name, variant] of encoded) hash.update(name).update('\0').update(variant.hash).update('\0');
  hash.update('stills\0').update(stills.contentHash);
  return {
    ...encodingOf(settings.output.format),
    contentHash: hash.digest('hex'),
    variants: Object.fromEntries(encoded),
    stills: stills.variants,
    preview: stills.preview, // of the first frame, which is what shows while the animation loads
  };
}

// --- internal ---

/** WebP's faster `effort: 2` up to this side, as for stills (render.ts). */
const SMALL_VARIANT_SIDE = 256;

/**
 * The square (source pixels) every frame is cut to: the centred square of the crop or of the whole frame, or with
 * `attention`/`entropy` and no crop, the square sharp's strategy picks on the first frame shrunk to at most the
 * largest variant (the strategy only chooses where to cut; the frames themselves are cut at full resolution).
 */
async function squareOf(image: AnimatedImage, settings: RenderSettings, largest: number, fail: ErrorFactory): Promise<CropRect> {
  const region = settings.crop ?? { left: 0, top: 0, width: image.width, height: image.height };
  const side = Math.min(region.width, region.height);
  const position = settings.crop ? 'centre' : (settings.position ?? 'centre');
  if (position === 'centre') {
    return {
      left: region.left + Math.floor((region.width - side) / 2),
      top: region.top + Math.floor((region.height - side) / 2),
      width: side,
      height: side,
    };
  }
  const scaled = Math.min(largest, side);
  let info;
  try {
    ({ info } = await image.open().resize(scaled, scaled, { fit: 'cover', position }).raw().toBuffer({ resolveWithObject: true }));
  } catch (cause) {
    throw fail('CORRUPT_IMAGE', { cause });
  }
  // sharp reports where it cut as negative offsets in the shrunk frame; scale them back to source pixels.
  const scale = side / scaled;
  const clamp = (offset: number | undefined, length: number) =>
    Math.min(Math.max(Math.round(-(offset ?? 0) * scale), 0), length - side);
  return { left: clamp(info.cropOffsetLeft, image.width), top: clamp(info.cropOffsetTop, image.height), width: side, height: side };
}
