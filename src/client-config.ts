/**
 * The limits a browser needs for instant feedback, taken from the server's own options so they are never
 * duplicated (and never drift) in client code. The server still enforces everything itself.
 */
import type { ClientConfig } from './client/config.js';
import type { ResolvedOptions } from './options.js';

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

/**
 * Derives the {@link ClientConfig} for `options` (pass `pictures.options`).
 * @example
 * ```ts
 * res.render('profile', { uploadConfig: JSON.stringify(clientConfig(pictures.options)) });
 * ```
 */
export function clientConfig(options: ResolvedOptions): ClientConfig {
  return {
    maxFileSize: options.limits.fileSize,
    accept: options.accept.map((format) => MIME_BY_FORMAT[format]),
    minSide: options.limits.minSide,
    fieldName: options.fieldName,
  };
}
