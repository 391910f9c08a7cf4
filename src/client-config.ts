/**
 * The limits a browser needs for instant feedback, taken from the server's own options so they are never
 * duplicated (and never drift) in client code. The server still enforces everything itself.
 */
import type { ResolvedOptions } from './options.js';

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

/** JSON-safe settings for the upload widget. */
export interface ClientConfig {
  /** Largest accepted file in bytes. */
  maxFileSize: number;
  /** Accepted MIME types, for `<input accept>` and a quick pre-check (the server sniffs content regardless). */
  accept: string[];
  /** Shortest accepted image side in pixels. */
  minSide: number;
  /** Multipart field that carries the file. */
  fieldName: string;
}

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
