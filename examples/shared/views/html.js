// @ts-check
/**
 * A tiny HTML templating helper instead of a template engine: `html` is a tagged template that escapes every
 * interpolated value unless it is already `SafeHtml` (the result of another `html` template or of `raw()`), so a
 * username like `<script>` always renders as text.
 */

/** Markup that is safe to insert as is. */
export class SafeHtml {
  /** @param {string} value */
  constructor(value) {
    this.value = value;
  }
  toString() {
    return this.value;
  }
}

/** @typedef {SafeHtml | string | number | boolean | null | undefined | Array<SafeHtml | string | number | boolean | null | undefined>} Interpolation */

/**
 * @param {TemplateStringsArray} strings
 * @param {...Interpolation} values
 * @returns {SafeHtml}
 */
export function html(strings, ...values) {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/**
 * Marks trusted markup (e.g. the library's placeholder SVG, which escapes what it embeds) as safe.
 * @param {string} markup
 */
export function raw(markup) {
  return new SafeHtml(markup);
}

/**
 * Escapes text for an HTML element body or a quoted attribute value.
 * @param {string} text
 */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** @param {Interpolation} value @returns {string} */
function render(value) {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (value instanceof SafeHtml) return value.value;
  return escapeHtml(String(value));
}
