// @ts-check
/** Small view pieces shared by the pages: avatars, flash messages, form fields. */
import { ERROR_CODES, clientConfig } from 'profile-picture';
import { describeTypes, formatBytes } from 'profile-picture/client';
import { html, raw } from './html.js';

/** @typedef {import('profile-picture').ProfilePictures} ProfilePictures */
/** @typedef {import('profile-picture').PictureRecord} PictureRecord */
/** @typedef {{ id: string, username: string, createdAt: string }} Account */
/** @typedef {'sm' | 'md' | 'lg'} AvatarSize */

/** CSS pixels of each display size (styles.css); `srcset` lets the browser pick the variant its screen needs. */
const PIXELS = { sm: 36, md: 112, lg: 176 };
/** Which stored variant is the fallback `src` for browsers without `srcset`: about twice the CSS size. */
const VARIANT = { sm: 'sm', md: 'md', lg: 'lg' };

/**
 * The user's picture, or the library's placeholder (the first letter of the username on a colour derived from the
 * user id) when there is none. `data-avatar` lets the page script swap it in place after an upload.
 *
 * A picture comes with `srcset`/`sizes` (the browser loads the smallest variant that is sharp on its screen), its
 * size (no layout shift), `decoding="async"`, `loading="lazy"` except the profile page's large picture (the main
 * image of its page, which should not wait), and the record's preview as `data-preview-*` attributes: the page script
 * paints it behind the image until it loads (app.js; a strict CSP forbids inline styles, not the CSSOM).
 * @param {ProfilePictures} pictures
 * @param {Account} user
 * @param {PictureRecord | null} record
 * @param {AvatarSize} size
 * @param {{ decorative?: boolean }} [options] decorative: the username is shown right next to it
 */
export function avatar(pictures, user, record, size, { decorative = false } = {}) {
  const alt = decorative ? '' : `Profile picture of ${user.username}`;
  if (record) {
    const px = PIXELS[size];
    const preview = record.preview; // absent from records written before previews existed
    return html`<img class="avatar avatar--${size}" data-avatar="${size}" data-alt="${alt}"
      src="${pictures.url(record, VARIANT[size])}" srcset="${pictures.srcset(record)}" sizes="${px}px" alt="${alt}"
      width="${px}" height="${px}" loading="${size === 'lg' ? 'eager' : 'lazy'}" decoding="async"
      ${preview ? html`data-preview-color="${preview.color}" data-preview-thumbhash="${preview.thumbhash}"` : ''}>`;
  }
  // The placeholder SVG carries role="img" and an aria-label of its own.
  return html`<span class="avatar avatar--${size} avatar--letter" data-avatar="${size}" data-alt="${alt}"
    ${decorative ? raw('aria-hidden="true"') : ''}>${raw(pictures.placeholder({ id: user.id, username: user.username }))}</span>`;
}

/**
 * A success or error banner. Errors are announced immediately (role=alert), successes politely.
 * @param {{ kind: 'success' | 'error', text: string } | null | undefined} flash
 */
export function flashMessage(flash) {
  if (!flash) return '';
  const role = flash.kind === 'error' ? 'alert' : 'status';
  return html`<div class="flash flash--${flash.kind}" role="${role}">
    <span class="flash__icon" aria-hidden="true">${flash.kind === 'error' ? '!' : '✓'}</span>
    <p>${flash.text}</p>
  </div>`;
}

/**
 * The flash for the library's redirect after an HTML form post: `?profile_picture=uploaded|removed` or
 * `?profile_picture_error=CODE`. Only known codes are turned into text: the query never reaches the page verbatim.
 * `refusal` is the library's own message the app kept for this refusal (a lock's reason, the wait:
 * refusal-notice.js), shown instead of the code's words.
 * @param {URLSearchParams} query
 * @param {ProfilePictures} pictures
 * @param {string} [refusal]
 * @returns {{ kind: 'success' | 'error', text: string } | null}
 */
export function pictureFlash(query, pictures, refusal) {
  const done = query.get('profile_picture');
  if (done === 'uploaded') return { kind: 'success', text: 'Your new profile picture is saved.' };
  if (done === 'removed') return { kind: 'success', text: 'Your profile picture has been removed.' };
  if (done === 'restored') return { kind: 'success', text: 'Your previous picture is back.' };
  const code = query.get('profile_picture_error');
  if (!code) return null;
  return { kind: 'error', text: refusal ?? pictureErrorText(code, pictures) };
}

/**
 * A readable sentence for a library error code, with the limit or formats when that helps the user fix it.
 * @param {string} code
 * @param {ProfilePictures} pictures
 */
export function pictureErrorText(code, pictures) {
  if (!Object.hasOwn(ERROR_CODES, code)) return 'Something went wrong. Please try again.';
  const known = /** @type {keyof typeof ERROR_CODES} */ (code);
  const override = pictures.options.messages[known];
  const message = typeof override === 'string' ? override : ERROR_CODES[known].message;
  const { maxFileSize, accept, minSide } = clientConfig(pictures.options);
  if (known === 'FILE_TOO_LARGE') return `${message} The limit is ${formatBytes(maxFileSize)}.`;
  if (known === 'UNSUPPORTED_TYPE' || known === 'NOT_AN_IMAGE') return `${message} Choose a ${describeTypes(accept)} image.`;
  if (known === 'IMAGE_TOO_SMALL') return `${message} It must be at least ${minSide}×${minSide} pixels.`;
  if (known === 'NO_FILE') return `${message} Choose a picture first.`;
  if (known === 'NOT_FOUND') return 'That previous picture is no longer available.';
  return message;
}

/**
 * A labelled input with hint and error, wired with aria-describedby / aria-invalid.
 * @param {{ name: string, label: string, type?: string, value?: string, autocomplete: string,
 *   hint?: string, error?: string | null, attrs?: string, autofocus?: boolean }} field
 */
export function field({ name, label, type = 'text', value = '', autocomplete, hint, error, attrs = '', autofocus }) {
  const described = [hint ? `${name}-hint` : '', error ? `${name}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field">
    <label for="${name}">${label}</label>
    <input id="${name}" name="${name}" type="${type}" value="${value}" autocomplete="${autocomplete}" required
      ${raw(attrs)} ${described ? html`aria-describedby="${described}"` : ''} ${error ? raw('aria-invalid="true"') : ''}
      ${autofocus ? raw('autofocus') : ''}>
    ${hint ? html`<p class="field__hint" id="${name}-hint">${hint}</p>` : ''}
    ${error ? html`<p class="field__error" id="${name}-error">${error}</p>` : ''}
  </div>`;
}

/**
 * "March 4, 2025".
 * @param {string} iso
 */
export function formatDate(iso) {
  return new Intl.DateTimeFormat('en', { dateStyle: 'long' }).format(new Date(iso));
}
