/**
 * BMP → raw pixels for sharp, which has no BMP reader.
 *
 * The header is parsed and checked here before anything is allocated: the caller refuses too many pixels, features we
 * cannot decode correctly, and files shorter than the pixel array their header declares — so a 100-byte BMP that
 * claims to be 8000×8000 never costs 256 MB. Only then does `bmp-ts` decode. We read its output in its native ABGR
 * layout because its `toRGBA` option places palette colours in the wrong channels, and we work around two of its
 * quirks: it ignores `bfOffBits` (so any gap between headers and pixels is cut out first) and it stops after the first
 * row of an odd-width 4-bit image (so such images are decoded one pixel wider and the extra column dropped).
 */
import { decode } from 'bmp-ts';

/** What a BMP header declares. */
export interface BmpHeader {
  width: number;
  /** Absolute height (rows are stored top-down when the header's height is negative). */
  height: number;
  /** Size of the info header: 12 (OS/2 core), 40 (BITMAPINFOHEADER), 52, 56, 64 (OS/2), 108 (V4) or 124 (V5). */
  headerSize: number;
  bitsPerPixel: number;
  /** 0 BI_RGB, 1 RLE8, 2 RLE4, 3 BI_BITFIELDS, 4 JPEG, 5 PNG, 6 BI_ALPHABITFIELDS. */
  compression: number;
  /** Palette entries declared by the header (0 means 2^bitsPerPixel for palette images). */
  colors: number;
  /** Non-zero when the header defines an alpha channel. */
  alphaMask: number;
  /** `bfOffBits`: where the pixel array starts. */
  dataOffset: number;
}

/** Decoded BMP pixels, ready for `sharp(data, { raw: { width, height, channels } })`. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

const HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);
const BITS_PER_PIXEL = new Set([1, 4, 8, 16, 24, 32]);

/**
 * Parses the file and info headers, or returns `null` when the bytes are not a BMP header we can make sense of
 * (too short, wrong magic, unknown header size, negative width).
 */
export function readBmpHeader(bytes: Uint8Array): BmpHeader | null {
  if (bytes.byteLength < 26 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = view.getUint32(14, true);
  if (!HEADER_SIZES.has(headerSize)) return null;
  const dataOffset = view.getUint32(10, true);
  if (headerSize === 12) {
    return {
      width: view.getUint16(18, true),
      height: view.getUint16(20, true),
      headerSize,
      bitsPerPixel: view.getUint16(24, true),
      compression: 0,
      colors: 0,
      alphaMask: 0,
      dataOffset,
    };
  }
  if (bytes.byteLength < 54) return null;
  const width = view.getInt32(18, true);
  if (width < 0) return null;
  const compression = view.getUint32(30, true);
  // The alpha mask sits at offset 66 both inside a V3+ header and right after a 40-byte header with ALPHABITFIELDS.
  const hasAlphaMask = headerSize >= 56 || (headerSize === 40 && compression === 6);
  if (hasAlphaMask && bytes.byteLength < 70) return null;
  return {
    width,
    height: Math.abs(view.getInt32(22, true)),
    headerSize,
    bitsPerPixel: view.getUint16(28, true),
    compression,
    colors: view.getUint32(46, true),
    alphaMask: hasAlphaMask ? view.getUint32(66, true) : 0,
    dataOffset,
  };
}

/** Why a parsed header describes a BMP this codec does not decode, or `null` when it can. */
export function unsupportedBmpFeature(header: BmpHeader): string | null {
  const { headerSize, bitsPerPixel, compression, colors } = header;
  if (headerSize === 12 || headerSize === 64) return 'OS/2 bitmap header';
  if (!BITS_PER_PIXEL.has(bitsPerPixel)) return `${bitsPerPixel} bits per pixel`;
  // bmp-ts mis-places RLE pixels, so rather than store a scrambled picture we refuse them.
  if (compression === 1 || compression === 2) return 'RLE compression';
  if (compression === 4 || compression === 5) return 'embedded JPEG or PNG';
  if (compression !== 0 && compression !== 3 && compression !== 6) return `compression ${compression}`;
  if (compression !== 0 && bitsPerPixel !== 16 && bitsPerPixel !== 32) return 'bit fields below 16 bits per pixel';
  if (bitsPerPixel <= 8 && colors > 2 ** bitsPerPixel) return 'palette larger than the bit depth allows';
  return null;
}

/**
 * Decodes an uncompressed or bit-field BMP (1, 4, 8, 16, 24 or 32 bits per pixel) that {@link readBmpHeader} parsed
 * and {@link unsupportedBmpFeature} accepted. Returns RGBA only when the file carries real transparency (an alpha mask
 * and alpha values that are neither all 0 nor all 255), RGB otherwise.
 * @throws Error when the pixel array is truncated or overlaps the headers; `bmp-ts` errors on malformed data.
 */
export function decodeBmp(bytes: Uint8Array, header: BmpHeader): RawImage {
  const { width, height, bitsPerPixel, headerSize, compression, colors, dataOffset } = header;
  const pixelsAt = bmpTsPixelStart(headerSize, compression, bitsPerPixel, colors);
  if (dataOffset < pixelsAt) throw new Error('BMP pixel data overlaps its headers');
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (bytes.byteLength - dataOffset < rowBytes * height) throw new Error('BMP pixel data is truncated');

  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A private copy: bmp-ts must read the pixels right after the palette, and we may patch the width below.
  const input = Buffer.concat([source.subarray(0, pixelsAt), source.subarray(dataOffset)]);
  const decodedWidth = bitsPerPixel === 4 && width % 2 === 1 ? width + 1 : width;
  input.writeInt32LE(decodedWidth, 18);
  const abgr = decode(input, { toRGBA: false }).data;
  if (abgr.length < decodedWidth * height * 4) throw new Error('BMP pixel data is incomplete');

  const hasAlpha = header.alphaMask !== 0 && (bitsPerPixel === 32 || bitsPerPixel === 16) && carriesAlpha(abgr);
  const channels = hasAlpha ? 4 : 3;
  const data = Buffer.allocUnsafe(width * height * channels);
  for (let y = 0, dst = 0; y < height; y++) {
    for (let x = 0, src = y * decodedWidth * 4; x < width; x++, src += 4, dst += channels) {
      data[dst] = abgr[src + 3]!;
      data[dst + 1] = abgr[src + 2]!;
      data[dst + 2] = abgr[src + 1]!;
      if (hasAlpha) data[dst + 3] = abgr[src]!;
    }
  }
  return { data, width, height, channels };
}

// --- internal ---

/** Where bmp-ts starts reading pixels: after the headers, the masks it reads and the palette. */
function bmpTsPixelStart(headerSize: number, compression: number, bitsPerPixel: number, colors: number): number {
  let at = 14 + 40;
  if (headerSize > 40 || compression === 3 || compression === 6) at += 12;
  if (headerSize > 52 || compression === 6) at += 4;
  if (headerSize > 56) at += 108 - 56;
  if (headerSize > 108) at += 124 - 108;
  if (bitsPerPixel <= 8 || colors > 0) at += 4 * (colors === 0 ? 2 ** bitsPerPixel : colors);
  return at;
}

/** Alpha that is all 0 is an unused channel (many writers leave it so); all 255 is opaque. */
function carriesAlpha(abgr: Buffer): boolean {
  let someNonZero = false;
  let someBelowOpaque = false;
  for (let i = 0; i < abgr.length; i += 4) {
    const alpha = abgr[i]!;
    if (alpha !== 0) someNonZero = true;
    if (alpha !== 255) someBelowOpaque = true;
    if (someNonZero && someBelowOpaque) return true;
  }
  return false;
}
