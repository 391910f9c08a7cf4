/**
 * Instant, client-side checks of a chosen file against the server's own limits ({@link ClientConfig}): emptiness,
 * size, format by magic bytes, and the shortest side once the browser has decoded it. These only spare the user a
 * round trip; the server enforces every limit again.
 */
import type { ClientConfig } from './config.js';
import type { UploadMessages } from './messages.js';
import { SNIFF_BYTES, SNIFFABLE_TYPES, sniffImageType } from './sniff.js';

/** Error codes the widget can raise before uploading; the same codes the server uses. */
export type ClientErrorCode = 'NO_FILE' | 'FILE_TOO_LARGE' | 'UNSUPPORTED_TYPE' | 'NOT_AN_IMAGE' | 'IMAGE_TOO_SMALL';

/** The outcome of {@link checkFile}: fine, or a code plus the message to show. */
export type FileCheck =
  | { ok: true; type: string | null }
  | { ok: false; code: ClientErrorCode; message: keyof UploadMessages };

/**
 * Checks `file` against `config` without decoding it.
 * @example
 * ```ts
 * const result = await checkFile(input.files[0], { maxFileSize: 5 << 20, accept: ['image/png'], minSide: 16, fieldName: 'p' });
 * ```
 */
export async function checkFile(file: Blob, config: ClientConfig): Promise<FileCheck> {
  if (file.size === 0) return { ok: false, code: 'NO_FILE', message: 'empty' };
  if (file.size > config.maxFileSize) return { ok: false, code: 'FILE_TOO_LARGE', message: 'tooLarge' };
  const type = sniffImageType(new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer()));
  if (type === null) {
    // Only refuse when every accepted type is one we can recognise: a format added on the server later must not
    // be blocked by an older widget.
    const allKnown = config.accept.every((accepted) => SNIFFABLE_TYPES.includes(accepted));
    return allKnown ? { ok: false, code: 'NOT_AN_IMAGE', message: 'notAnImage' } : { ok: true, type };
  }
  if (!config.accept.includes(type)) {
    // An iPhone photo: "choose a JPEG" alone would leave the user looking for a file type their phone never shows.
    return { ok: false, code: 'UNSUPPORTED_TYPE', message: type === 'image/heic' ? 'heic' : 'unsupported' };
  }
  return { ok: true, type };
}

/**
 * Loads `url` (an object URL of the chosen file) as an image and resolves its natural size, or null when this
 * browser cannot decode it (e.g. HEIC in Chromium): the server may still accept it, so that is not an error.
 */
export function probeImage(image: HTMLImageElement, url: string): Promise<{ width: number; height: number } | null> {
  return new Promise((resolve) => {
    image.onload = () => resolve({ width: image.naturalWidth, height: image.naturalHeight });
    image.onerror = () => resolve(null);
    image.src = url;
  });
}
