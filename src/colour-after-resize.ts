/**
 * Colour conversion after the downscale instead of before it.
 *
 * sharp converts an embedded ICC profile to sRGB right after the decode, before the resize: every decoded pixel goes
 * through lcms. For a 12 MP Display P3 phone photo that is ~170 ms of CPU on a Xeon core for the full decode a master
 * takes, and still ~28 ms of the ~130 ms decode for the variants after JPEG shrink-on-load to 1008 × 756 (bench photo,
 * 2 cores). Told to ignore the profile at the decode and to convert to sRGB on output, sharp applies the same embedded
 * profile at the end of the same pipeline, after the resize: only the downscaled pixels are converted (683 × 512 for
 * the variants), with no second pipeline and no intermediate copy. Resampling in the source's space rather than sRGB
 * moves a channel of the 512 px intermediate by 0.24 levels on average on the bench photo, by 0.35 on saturated colour
 * waves mostly outside sRGB (up to 15 where colours clip: clipping before or after averaging differs).
 */
import type { Sharp } from 'sharp';
import type { InspectedImage } from './inspect.js';

/**
 * `image` decoded through `shape` (its extract and resize). When `shape` downscales an 8-bit RGB(A) source with
 * an embedded profile (`rgbProfile`, see inspect.ts), the profile is applied after it; otherwise sharp applies it
 * first, as usual (a 16-bit source takes sharp's P3 working space: `withSrgbWorkingSpace` in render.ts).
 * @example
 * ```ts
 * const pipeline = decodeShaped(image, (decode) => decode.resize(512, 512, { fit: 'outside' }), true);
 * const { data, info } = await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
 * ```
 */
export function decodeShaped(image: InspectedImage, shape: (decode: Sharp) => Sharp, downscales: boolean): Sharp {
  if (!image.rgbProfile || !downscales) return shape(image.open());
  // sharp applies an output profile from the embedded one (libvips `embedded: true`) after every other operation.
  // `attach: false`: an encoder fed by this pipeline directly keeps no profile either.
  return shape(image.open({ ignoreIcc: true })).withIccProfile('srgb', { attach: false });
}
