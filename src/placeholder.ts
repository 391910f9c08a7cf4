/**
 * The default avatar: the first letter of the username on a colour derived from the user id. Deterministic (same
 * user, same SVG, so it caches) and safe to inline: everything embedded is XML-escaped.
 */
import { sha256Hex } from './keys.js';

/** The user a placeholder is drawn for. */
export interface PlaceholderUser {
  /** Stable user id; picks the background colour. */
  id: string;
  /** Display name; its first letter (grapheme, upper-cased) is drawn. */
  username?: string | null | undefined;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const LEADING_INVISIBLE = /^[\s\p{C}\p{Z}]+/u;
/** Characters XML 1.0 forbids even as references: C0 controls except tab/LF/CR, lone surrogates, U+FFFE/U+FFFF. */
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The first user-perceived character of `name`, upper-cased ("élodie" → "É", "👩‍💻dev" → "👩‍💻"), or "?" when there is
 * none. Leading spaces, control and format characters are skipped (they would draw nothing). Upper-casing ignores the
 * server's locale, so every server draws the same letter for the same name.
 */
export function initialOf(name: string | null | undefined): string {
  const visible = (typeof name === 'string' ? name : '').replace(LEADING_INVISIBLE, '');
  const first = segmenter.segment(visible)[Symbol.iterator]().next();
  if (first.done) return '?';
  const upper = first.value.segment.toUpperCase();
  // One letter stays one letter: "ß" would upper-case to "SS".
  return [...upper].length > [...first.value.segment].length ? first.value.segment : upper;
}

/** A background colour for `id`: a hue from its hash at fixed saturation and lightness, so white text stays legible. */
export function colourFor(id: string): string {
  const hue = parseInt(sha256Hex(`profile-picture:colour:${id}`).slice(0, 8), 16) % 360;
  return `hsl(${hue}, 55%, 42%)`;
}

/**
 * Renders the placeholder SVG for `user`.
 * @example
 * ```ts
 * renderPlaceholder({ id: '42', username: 'ada' }) // '<svg … >A</text></svg>'
 * ```
 */
export function renderPlaceholder(user: PlaceholderUser): string {
  const letter = escapeXml(initialOf(user.username));
  const name = typeof user.username === 'string' ? user.username : '';
  const label = escapeXml(name ? `Avatar of ${name}` : 'Avatar');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" role="img" aria-label="${label}">` +
    `<rect width="64" height="64" fill="${colourFor(String(user.id))}"/>` +
    `<text x="32" y="32" dy=".35em" text-anchor="middle" fill="#ffffff" ` +
    `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="30" font-weight="600">` +
    `${letter}</text></svg>`
  );
}

// --- internal ---

/** Escapes markup characters and drops characters that would make the SVG ill-formed (so it would not render). */
function escapeXml(text: string): string {
  return text.replace(XML_INVALID, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
