/**
 * Turns a record's ThumbHash (`record.preview.thumbhash`) into an image the page can show while the picture loads.
 * The decoder is the `thumbhash` package's own (github.com/evanw/thumbhash, MIT), bundled into the widget's module
 * so a page still loads one self-contained file (tsup.config.ts).
 */
/*! thumbhash decoder by Evan Wallace (github.com/evanw/thumbhash), MIT licence */
import { thumbHashToDataURL as decodeToDataURL } from 'thumbhash/thumbhash.js';

/**
 * A `data:image/png` URL of the blurred placeholder a base64 ThumbHash stands for (at most 32 × 32 pixels, about
 * 1–2 KB): set it as the `<img>`'s CSS `background-image` (with `background-size: cover`) until the picture loads.
 * Showing it needs `data:` in the page's `img-src`. Works in Node too (no DOM needed).
 * @example
 * ```ts
 * import { thumbHashToDataURL } from 'profile-picture/client';
 * img.style.backgroundImage = `url(${thumbHashToDataURL(img.dataset.thumbhash)})`; // CSSOM: allowed by a strict CSP
 * ```
 * @throws DOMException `InvalidCharacterError` when `thumbhash` is not base64.
 */
export function thumbHashToDataURL(thumbhash: string): string {
  return decodeToDataURL(Uint8Array.from(atob(thumbhash), (char) => char.charCodeAt(0)));
}
