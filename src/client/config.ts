/**
 * The shape of the server limits the widget reads. It lives on the browser side (no Node imports) so the
 * widget's type declarations stay free of Node types; the core's `clientConfig()` builds values of this type.
 */

/** JSON-safe settings for the upload widget, from `clientConfig(pictures.options)`. */
export interface ClientConfig {
  /** Largest accepted file in bytes. */
  maxFileSize: number;
  /** Accepted MIME types, for `<input accept>` and a quick pre-check (the server sniffs content regardless). */
  accept: string[];
  /** Shortest accepted image side in pixels. */
  minSide: number;
  /** Multipart field that carries the file. */
  fieldName: string;
  /**
   * Longest side worth uploading, in pixels: a larger photo (or one over `maxFileSize`) is scaled down in the
   * browser first. Absent in configs from older servers; the widget then uses 2048 (4 × the default largest variant).
   */
  clientMaxSide?: number;
}
