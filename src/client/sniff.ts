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

// --- internal ---

function startsWith(bytes: Uint8Array, signature: number[]): boolean {
  return signature.every((byte, i) => bytes[i] === byte);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}
