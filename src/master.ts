/**
 * The master: one decode of the upload feeds both the master and the variants.
 *
 * The region the variants may use (the crop, or the whole image trimmed to {@link MAX_RESIZE_ASPECT}:1 around its
 * centre, exactly what `renderVariants` would extract) is decoded once, downscaled so its long side is at most
 * `maxSide`, and converted to 8-bit sRGB raw pixels. Those pixels are encoded as the master and handed to
 * `renderVariants` as its source, so the variants cost a resize of a ≤ 2048 px image instead of a second decode.
 * Beyond the trimmed 2:1 the variants never look, so the master keeps nothing they could need.
 *
 * The encoding is JPEG quality 90 (4:2:0, Huffman tables not optimised: 2.3× faster, 1.3 % larger at 2048 px): of
 * the high-quality encoders it is the cheapest by far —
 * about a third of WebP's CPU time at effort 0 for a 2016 × 1512 master — and every re-rendered variant is at most
 * half the master's side, where 4:2:0's halved chroma is invisible. A picture with transparency (JPEG has none) gets
 * WebP quality 90 with its alpha kept. Nothing of the upload's metadata survives: the encoders receive raw pixels.
 *
 * Why one decode costs more than before: sharp decodes a JPEG at ½ scale only when the target is at most about ⅓ of it,
 * so a master between about a third and the whole of the source's width needs the full decode (measured in the README).
 */
import sharp, { type Sharp } from 'sharp';
import { decodeShaped } from './colour-after-resize.js';
import type { ErrorFactory } from './errors.js';
import type { InspectedImage } from './inspect.js';
import { applyOrientation, swapsSides } from './orientation.js';
import {
  checkCrop,
  regionToResize,
  renderVariants,
  storedRect,
  withSrgbWorkingSpace,
  type RenderedPicture,
  type RenderSettings,
  type VariantListener,
} from './render.js';

/** An encoded master. */
export interface RenderedMaster {
  data: Buffer;
  /** Width in displayed orientation. */
  width: number;
  height: number;
  contentType: string;
  extension: string;
}

/** The output of {@link renderWithMaster}. */
export interface RenderedUpload {
  picture: RenderedPicture;
  master: RenderedMaster;
}

const MASTER_QUALITY = 90;

/**
 * Decodes `image` once into the master's pixels, then encodes the master and every variant from them. Variants are
 * handed to `onVariant` as they finish, as {@link renderVariants} does.
 * @throws ProfilePictureError `INVALID_CROP` (400) or `CORRUPT_IMAGE` (422).
 * @example
 * ```ts
 * const { picture, master } = await renderWithMaster(image, { variants: { md: 256 }, output }, { maxSide: 2048 }, fail);
 * master.data; // JPEG, long side ≤ 2048, no metadata
 * ```
 */
export async function renderWithMaster(
  image: InspectedImage,
  settings: RenderSettings,
  options: { maxSide: number },
  fail: ErrorFactory,
  onVariant?: VariantListener,
): Promise<RenderedUpload> {
  if (settings.crop) checkCrop(settings.crop, image, settings.minCropSide ?? 1, fail);
  const whole = { left: 0, top: 0, width: image.width, height: image.height };
  const extract = regionToResize(image, settings.crop);
  const region = extract ?? whole;
  const long = Math.max(region.width, region.height);
  const short = Math.min(region.width, region.height);
  const largest = Math.max(...Object.values(settings.variants));
  const masterScale = Math.min(1, options.maxSide / long);
  // The decoded pixels also feed the variants: never fewer than the largest variant needs while the source has them
  // (a narrow region under a small maxSide); the master is then scaled down on its own.
  const decodeScale = Math.max(masterScale, Math.min(1, largest / short));

  let decoded;
  try {
    const box = Math.max(1, Math.round(long * decodeScale));
    const shape = (decode: Sharp) => {
      const cut = extract ? decode.extract(storedRect(extract, image)) : decode;
      return decodeScale < 1 ? cut.resize(box, box, { fit: 'inside' }) : cut;
    };
    const pipeline = decodeShaped(image, shape, decodeScale < 1);
    decoded = await withSrgbWorkingSpace(pipeline, image).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw fail('CORRUPT_IMAGE', { cause });
  }
  const { data, info } = decoded;
  const raw = { width: info.width, height: info.height, channels: info.channels };
  const swap = swapsSides(image.orientation);
  const source: InspectedImage = {
    format: image.format,
    width: swap ? info.height : info.width,
    height: swap ? info.width : info.height,
    orientation: image.orientation,
    frames: 1,
    open: () => sharp(data, { raw }),
  };
  // A crop was applied above; the square is then the centre of what remains, as renderVariants does for a crop.
  const variantSettings = { ...settings, crop: undefined, position: settings.crop ? ('centre' as const) : settings.position };
  const [picture, master] = await Promise.all([
    renderVariants(source, variantSettings, fail, onVariant),
    encodeMaster(source, info.channels % 2 === 0, decodeScale > masterScale ? options.maxSide : undefined, fail),
  ]);
  return { picture, master };
}

/** Encodes decoded raw pixels as the master (oriented), downscaled to fit `maxSide` when given. */
async function encodeMaster(
  source: InspectedImage,
  hasAlpha: boolean,
  maxSide: number | undefined,
  fail: ErrorFactory,
): Promise<RenderedMaster> {
  let pipeline = applyOrientation(source.open(), source.orientation);
  if (maxSide !== undefined) pipeline = pipeline.resize(maxSide, maxSide, { fit: 'inside' });
  const encoded = hasAlpha
    ? pipeline.webp({ quality: MASTER_QUALITY, alphaQuality: 100 })
    : pipeline.jpeg({ quality: MASTER_QUALITY, optimiseCoding: false });
  try {
    const out = await encoded.toBuffer({ resolveWithObject: true });
    return {
      data: out.data,
      width: out.info.width,
      height: out.info.height,
      ...(hasAlpha ? { contentType: 'image/webp', extension: 'webp' } : { contentType: 'image/jpeg', extension: 'jpg' }),
    };
  } catch (cause) {
    throw fail('CORRUPT_IMAGE', { cause });
  }
}
