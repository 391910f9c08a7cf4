/**
 * The optional crop rectangle sent as form fields next to the file.
 *
 * Browsers submit hidden inputs even when they are empty, so four empty fields mean "no crop", the same as four
 * missing ones. Anything between (some fields set, a field sent twice, a value that is not a plain non-negative
 * integer) is a client bug and fails with `INVALID_CROP` rather than silently uploading an uncropped picture.
 * Whether the rectangle fits the image is checked later, by the renderer, which knows the image size.
 */
import type { ErrorFactory } from '../errors.js';
import type { CropRect } from '../render.js';

/** Form field names of the crop rectangle, in source pixels after EXIF orientation. */
export const CROP_FIELDS = {
  left: 'crop_left',
  top: 'crop_top',
  width: 'crop_width',
  height: 'crop_height',
} as const satisfies Record<keyof CropRect, string>;

const CROP_NAMES: ReadonlySet<string> = new Set(Object.values(CROP_FIELDS));
/** Up to nine digits: no sign, no exponent, no fraction, and always a safe integer. */
const NON_NEGATIVE_INTEGER = /^\d{1,9}$/;

/** True for the form field names {@link parseCrop} reads. */
export function isCropField(name: string): boolean {
  return CROP_NAMES.has(name);
}

/**
 * Builds the crop rectangle from the crop fields' values (every value received per name).
 * @returns the rectangle, or undefined when all four fields are missing or empty.
 * @throws ProfilePictureError `INVALID_CROP` (400) with `details.reason` `incomplete`, `repeated` or `not-an-integer`.
 * @example
 * ```ts
 * parseCrop(new Map([['crop_left', ['0']], ['crop_top', ['0']], ['crop_width', ['64']], ['crop_height', ['64']]]), fail);
 * // { left: 0, top: 0, width: 64, height: 64 }
 * ```
 */
export function parseCrop(values: ReadonlyMap<string, readonly string[]>, fail: ErrorFactory): CropRect | undefined {
  const entries = Object.entries(CROP_FIELDS).map(([side, field]) => [side, field, values.get(field) ?? []] as const);
  const repeated = entries.find(([, , received]) => received.length > 1);
  if (repeated) throw fail('INVALID_CROP', { details: { reason: 'repeated', field: repeated[1] } });
  const given = entries.filter(([, , received]) => received.length === 1 && received[0] !== '');
  if (given.length === 0) return undefined;
  if (given.length < entries.length) throw fail('INVALID_CROP', { details: { reason: 'incomplete' } });

  const crop: Partial<CropRect> = {};
  for (const [side, field, [value]] of entries) {
    if (!NON_NEGATIVE_INTEGER.test(value!)) throw fail('INVALID_CROP', { details: { reason: 'not-an-integer', field } });
    crop[side as keyof CropRect] = Number(value);
  }
  return crop as CropRect;
}
