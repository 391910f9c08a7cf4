/**
 * Recognises image formats by their first bytes, the way the server does (by content, never by name), so the widget
 * can refuse a text file renamed `photo.jpg` before sending a single byte. The server still decides.
 */

/** Bytes needed by {@link sniffImageType}. */
export const SNIFF_BYTES = 16;

/** MIME types {@link sniffImageType} can recognise. */
export const SNIFFABLE_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/bmp',
  'image/webp',
  'image/avif',
  'image/heic',
  'image/tiff',
];

/**
 * The MIME type of the image whose file starts with `head`, or null when it is none of {@link SNIFFABLE_TYPES}.
 * @example
 * ```ts
 * sniffImageType(new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer())) // 'image/png'
 * ```
 */
export function sniffImageType(head: Uint8Array): string | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'image/webp';
  if (ascii(head, 0, 2) === 'BM' && head.length >= 14) return 'image/bmp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'image/tiff';
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'image/heic';
  }
  return null;
}

/**
 * Whether `bytes` (the whole file for GIF and PNG; the first {@link SNIFF_BYTES}+16 bytes suffice for WebP and AVIF)
 * hold an animation: a GIF with more than one image, a WebP whose VP8X header sets the animation flag, an APNG (an
 * `acTL` chunk before the first `IDAT`) or an AVIF image sequence. Re-encoding such a file through a canvas would keep
 * only its first frame, so the widget sends it as it is.
 * @example
 * ```ts
 * isAnimated(new Uint8Array(await file.arrayBuffer())) // true for an animated GIF
 * ```
 */
export function isAnimated(bytes: Uint8Array): boolean {
  switch (sniffImageType(bytes.subarray(0, SNIFF_BYTES))) {
    case 'image/gif':
      return gifImageCount(bytes, 2) > 1;
    case 'image/webp':
      return ascii(bytes, 12, 16) === 'VP8X' && ((bytes[20] ?? 0) & 0x02) !== 0;
    case 'image/png':
      return hasPngChunkBeforeData(bytes, 'acTL');
    case 'image/avif':
      return ascii(bytes, 8, 12) === 'avis';
    default:
      return false;
  }
}

/** How many leading bytes {@link isAnimated} needs for `type`: all of a GIF or PNG, a header otherwise. */
export function animationBytes(type: string | null): number {
  return type === 'image/gif' || type === 'image/png' ? Number.POSITIVE_INFINITY : 32;
}

// --- internal ---

/** Counts image descriptors in a GIF's block stream, stopping at `stopAt` (a truncated file counts what it has). */
function gifImageCount(bytes: Uint8Array, stopAt: number): number {
  let at = 13;
  const flags = bytes[10] ?? 0;
  if (flags & 0x80) at += 3 << ((flags & 0x07) + 1); // global colour table
  let images = 0;
  while (at < bytes.length && images < stopAt) {
    const block = bytes[at];
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      at = skipSubBlocks(bytes, at + 2); // extension: introducer, label, sub-blocks
    } else if (block === 0x2c) {
      images++;
      const local = bytes[at + 9] ?? 0;
      at += 10;
      if (local & 0x80) at += 3 << ((local & 0x07) + 1); // local colour table
      at = skipSubBlocks(bytes, at + 1); // LZW minimum code size, then the data sub-blocks
    } else {
      break; // not a block: damaged; the server will say so
    }
  }
  return images;
}

function skipSubBlocks(bytes: Uint8Array, at: number): number {
  while (at < bytes.length && bytes[at] !== 0) at += bytes[at]! + 1;
  return at + 1;
}

function hasPngChunkBeforeData(bytes: Uint8Array, name: string): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 8 <= bytes.length; ) {
    const type = ascii(bytes, at + 4, at + 8);
    if (type === name) return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    at += 12 + view.getUint32(at);
  }
  return false;
}


function startsWith(bytes: Uint8Array, signature: number[]): boolean {
  return signature.every((byte, i) => bytes[i] === byte);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}
