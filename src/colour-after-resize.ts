/**
 * Colour conversion after the downscale instead of before it.
 *
 * sharp converts an embedded ICC profile to sRGB right after the decode, before the resize: every decoded pixel goes
 * through lcms. For a 12 MP Display P3 phone photo that is ~170 ms of CPU on a Xeon core for the full decode a master
 * takes, and still ~28 ms of the ~130 ms decode for the variants after JPEG shrink-on-load to 1008 × 756 (bench photo,
 * 2 cores). Told to ignore the profile at the decode and to convert to sRGB on output, sharp applies the same embedded
 * profile at the end of the same pipeline, after the resize: only the downscaled pixels are converted (683 × 512 for
 * the variants, ~8–12 ms less per upload), with no second pipeline and no intermediate copy. Resampling in the
 * source's space rather than sRGB changes a channel by 0.24 levels on average on the bench photo (the 512 px
 * intermediate), by ~2 on saturated colour waves mostly outside sRGB, where clipping before or after averaging differs.
 */
import type { Sharp } from 'sharp';
import type { InspectedImage } from './inspect.js';

/**
 * `image` decoded through `shape` (its extract and downscale), its embedded profile converted to sRGB after them. For
 * 8-bit RGB(A) sources with a profile (`rgbProfile`, see inspect.ts): a 16-bit one takes sharp's P3 working space.
 * @example
 * ```ts
 * const pipeline = convertingColoursLast(image, (decode) => decode.resize(512, 512, { fit: 'outside' }));
 * const { data, info } = await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
 * ```
 */
export function convertingColoursLast(image: InspectedImage, shape: (decode: Sharp) => Sharp): Sharp {
  // sharp's output profile is applied from the embedded one (libvips `embedded: true`) after every other operation.
  return shape(image.open({ ignoreIcc: true })).withIccProfile('srgb');
}
