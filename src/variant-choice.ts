/**
 * Which of a record's variants stands in for a configured variant name. A record written before `variants` changed
 * may lack a name configured today; until `regenerate()` re-renders it, the closest variant at least as wide is the
 * best stand-in (the browser scales it down, never up), else the largest it has.
 */
import type { PictureRecord, PictureVariant } from './users/types.js';

/**
 * The record's own `name` variant when it has one; else the narrowest of its variants at least `side` pixels wide;
 * else its widest. `undefined` only for a record without any variant (malformed).
 */
export function variantFor(record: PictureRecord, name: string, side: number): PictureVariant | undefined {
  const variants = record.variants;
  // Own properties only: `__proto__` or `toString` must not resolve to Object.prototype members.
  if (Object.hasOwn(variants, name)) return variants[name];
  let larger: PictureVariant | undefined;
  let widest: PictureVariant | undefined;
  for (const variant of Object.values(variants)) {
    if (variant.width >= side && (!larger || variant.width < larger.width)) larger = variant;
    if (!widest || variant.width > widest.width) widest = variant;
  }
  return larger ?? widest;
}
