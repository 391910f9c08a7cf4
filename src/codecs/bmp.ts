/**
 * BMP → raw RGBA pixels for sharp, which has no BMP reader. The header is checked before decoding so a BMP that
 * declares billions of pixels is refused without allocating them.
 */
import { decode } from 'bmp-ts';

/** Dimensions from a BMP header, or `null` when the header is not a BMP header we can read. */
export function readBmpSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.byteLength < 26 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = view.getUint32(14, true);
  if (headerSize === 12) return { width: view.getUint16(18, true), height: view.getUint16(20, true) };
  // Height is negative for top-down bitmaps.
  return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
}

/** Decoded BMP pixels. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * Decodes a BMP into raw pixels: RGBA when the file carries real alpha (32-bit with a non-zero alpha channel), RGB
 * otherwise. Throws on truncated or malformed data.
 */
export function decodeBmp(bytes: Uint8Array): RawImage {
  const bitmap = decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { toRGBA: true });
  const { width } = bitmap;
  const height = Math.abs(bitmap.height);
  const rgba = bitmap.data;
  if (rgba.length < width * height * 4) throw new Error('BMP pixel data is incomplete');
  let hasAlpha = false;
  if (bitmap.bitPP === 32) {
    for (let i = 3; i < rgba.length; i += 4) {
      if (rgba[i] !== 0) {
        hasAlpha = true;
        break;
      }
    }
  }
  if (hasAlpha) return { data: rgba, width, height, channels: 4 };
  const rgb = Buffer.allocUnsafe(width * height * 3);
  for (let src = 0, dst = 0; dst < rgb.length; src += 4, dst += 3) {
    rgb[dst] = rgba[src]!;
    rgb[dst + 1] = rgba[src + 1]!;
    rgb[dst + 2] = rgba[src + 2]!;
  }
  return { data: rgb, width, height, channels: 3 };
}
