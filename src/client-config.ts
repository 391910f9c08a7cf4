/**
 * The limits a browser needs for instant feedback, taken from the server's own options so they are never
 * duplicated (and never drift) in client code. The server still enforces everything itself.
 */
import type { ClientConfig } from './client/config.js';
import type { ResolvedOptions } from './options.js';
import { integerInRange, isPlainObject, invalidOption } from './validate.js';

// Defined beside the widget, which must not pull Node types into its declarations.
export type { ClientConfig };

const MIME_BY_FORMAT = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  avif: 'image/avif',
  tiff: 'image/tiff',
  heif: 'image/heic',
} as const;

/** Browser-side settings that are not server limits. */
export interface ClientConfigOptions {
  /**
   * Longest side, in pixels, of what the widget uploads: a photo with a longer side, or over `limits.fileSize`, is
   * scaled down and re-encoded in the browser first. From the largest variant (smaller would blur it) to 16384.
   * @default 4 × the largest variant (2048 with the default variants)
   */
  clientMaxSide?: number;
}

/** Largest `clientMaxSide`: beyond it browsers' canvases fail, and no avatar needs it. */
const MAX_CLIENT_SIDE = 16384;

/**
 * Derives the {@link ClientConfig} for `options` (pass `pictures.options`).
 * @example
 * ```ts
 * res.render('profile', { uploadConfig: JSON.stringify(clientConfig(pictures.options)) });
 * ```
 * @example
 * ```ts
 * clientConfig(pictures.options, { clientMaxSide: 4096 }); // keep more pixels for a later, larger variant
 * ```
 * @throws TypeError or RangeError naming `clientMaxSide` when it is not an integer from the largest variant to 16384.
 */
export function clientConfig(options: ResolvedOptions, settings: ClientConfigOptions = {}): ClientConfig {
  if (!isPlainObject(settings)) throw invalidOption('clientConfig(options, settings)', 'an object', settings);
  const largest = Math.max(...Object.values(options.variants));
  const clientMaxSide =
    settings.clientMaxSide === undefined
      ? Math.min(4 * largest, MAX_CLIENT_SIDE)
      : integerInRange('clientMaxSide', settings.clientMaxSide, largest, MAX_CLIENT_SIDE);
  return {
    maxFileSize: options.limits.fileSize,
    accept: options.accept.map((format) => MIME_BY_FORMAT[format]),
    minSide: options.limits.minSide,
    fieldName: options.fieldName,
    clientMaxSide,
  };
}
