import { createHash } from 'node:crypto';

/** A strong, quoted entity tag derived from the bytes, so the same bytes always get the same tag. */
export function etagOf(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}
