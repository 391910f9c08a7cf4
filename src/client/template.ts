/**
 * The widget's shadow DOM: markup and styles. Themeable from the page through CSS custom properties
 * (`--pp-accent`, `--pp-radius`, …) and `::part()` selectors (`zone`, `preview`, `progress`, `upload`, `cancel`,
 * `status`, `error`, and for the crop step `crop`, `crop-stage`, `crop-frame`, `crop-zoom`, `crop-help`), without
 * reaching into the shadow tree.
 */

const ICON_UPLOAD =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" ' +
  'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"><path d="M12 16V4"/><path d="m7 9 5-5 5 5"/>' +
  '<path d="M4 16v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2"/></svg>';

const zoomIcon = (plus: boolean) =>
  '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" ' +
  `stroke-width="2" stroke-linecap="round"><circle cx="10.5" cy="10.5" r="6.5"/><path d="m20 20-4.9-4.9M8 10.5h5${plus ? 'M10.5 8v5' : ''}"/></svg>`;
const ICON_ZOOM_OUT = zoomIcon(false);
const ICON_ZOOM_IN = zoomIcon(true);

/** The widget's styles. */
export const STYLES = /* css */ `
:host {
  position: relative;
  --_accent: var(--pp-accent, #4f46e5);
  --_accent-contrast: var(--pp-accent-contrast, #ffffff);
  --_muted: var(--pp-muted, #5b6474);
  --_border: var(--pp-border, #c7cedb);
  --_surface: var(--pp-surface, #f7f8fb);
  --_danger: var(--pp-danger, #b42318);
  --_success: var(--pp-success, #157347);
  --_radius: var(--pp-radius, 14px);
  --_preview: var(--pp-preview-size, 84px);
  --_crop: var(--pp-crop-size, 16rem);
  /* The crop area's side: the set size, narrowed to the widget's width (the zoom row matches it). */
  --_stage: min(var(--_crop), 100%);
  --_shade: var(--pp-crop-shade, rgb(15 23 42 / .6));
  --_text: var(--pp-text, #1f2937);
  --_link: var(--_accent);
  /* The focus ring stands on the page (outline-offset leaves a gap): it follows the palette's text-on-page accent. */
  --_focus: var(--pp-focus, var(--_link));
  --_error-surface: #ffffff;
  --_shape: 50%;
  display: block;
  font: inherit;
  color: inherit;
}
/*
 * A page in a dark colour scheme ("color-scheme: dark", or "light dark" on a dark system) gets a dark palette:
 * the light one's muted grey is unreadable on a dark page. The zone carries its own text colour either way, because
 * it paints its own surface: the page's inherited light text on the light surface was invisible.
 */
@supports (color: light-dark(#000000, #ffffff)) {
  :host {
    --_muted: var(--pp-muted, light-dark(#5b6474, #a7b0bf));
    --_border: var(--pp-border, light-dark(#c7cedb, #4a5366));
    --_surface: var(--pp-surface, light-dark(#f7f8fb, #1c2130));
    --_danger: var(--pp-danger, light-dark(#b42318, #ff9b8f));
    --_success: var(--pp-success, light-dark(#157347, #7ddba3));
    --_text: var(--pp-text, light-dark(#1f2937, #e8ebf1));
    --_error-surface: light-dark(#ffffff, #1c2130);
    /*
     * The accent is a button colour (white text on it): as text on the dark surface, or as the focus ring on a dark
     * page, it needs lightening (the default accent rings at 2.5:1 on #1c2130 and 2.97:1 on #121212; lightened, 7.7 and 9).
     */
    --_link: light-dark(var(--_accent), color-mix(in srgb, var(--_accent) 45%, #ffffff));
  }
}
:host([hidden]) { display: none; }
:host([shape="square"]) { --_shape: calc(var(--_radius) / 3); }
* { box-sizing: border-box; }
.zone {
  display: flex;
  align-items: center;
  gap: 1rem;
  width: 100%;
  padding: 1rem 1.25rem;
  border: 2px dashed var(--_border);
  border-radius: var(--_radius);
  background: var(--_surface);
  color: var(--_text);
  font: inherit;
  text-align: start;
  cursor: pointer;
  transition: border-color .15s ease, background-color .15s ease, box-shadow .15s ease;
}
.zone:hover { border-color: var(--_accent); }
.zone:focus-visible {
  outline: 3px solid var(--_focus);
  outline-offset: 3px;
  border-color: var(--_accent);
}
:host([dragging]) .zone {
  border-color: var(--_accent);
  border-style: solid;
  background: color-mix(in srgb, var(--_accent) 8%, var(--_surface));
  box-shadow: 0 0 0 4px color-mix(in srgb, var(--_accent) 18%, transparent);
}
.zone:disabled { cursor: not-allowed; opacity: .65; }
.preview {
  flex: none;
  display: grid;
  place-items: center;
  width: var(--_preview);
  height: var(--_preview);
  position: relative;
  border-radius: var(--_shape);
  overflow: hidden;
  background: color-mix(in srgb, var(--_accent) 10%, #ffffff);
  color: var(--_accent);
  box-shadow: inset 0 0 0 1px color-mix(in srgb, var(--_accent) 20%, transparent);
}
.preview img { width: 100%; height: 100%; object-fit: cover; display: block; }
/* While cropping, both photos keep their natural (EXIF-oriented) size; the crop view moves them by transform. */
.preview[data-cropping] img, .crop-image {
  position: absolute;
  left: 0;
  top: 0;
  width: auto;
  height: auto;
  max-width: none;
  object-fit: fill;
  transform-origin: 0 0;
}
.crop { display: grid; justify-items: center; gap: .6rem; margin-top: .85rem; }
.crop[inert] { opacity: .65; }
.stage {
  position: relative;
  width: var(--_stage);
  aspect-ratio: 1;
  overflow: hidden;
  border-radius: calc(var(--_radius) / 2);
  background: #0f172a;
  cursor: grab;
  touch-action: none;
  user-select: none;
  -webkit-user-select: none;
}
.stage:active { cursor: grabbing; }
.stage:focus-visible { outline: 3px solid var(--_focus); outline-offset: 3px; }
.crop-image { pointer-events: none; }
.frame {
  position: absolute;
  inset: 8%;
  border-radius: var(--_shape);
  box-shadow: 0 0 0 2px rgb(255 255 255 / .9), 0 0 0 100vmax var(--_shade);
  pointer-events: none;
}
.zoom { display: flex; align-items: center; gap: .6rem; width: var(--_stage); }
.zoom input { flex: 1; accent-color: var(--_accent); }
.zoom svg { flex: none; color: var(--_muted); }
.crop-help { margin: 0; max-width: min(var(--_crop) * 1.6, 100%); text-align: center; color: var(--_muted); font-size: .875em; }
.text { display: grid; gap: .15rem; min-width: 0; }
.prompt { font-weight: 600; }
.action { color: var(--_link); text-decoration: underline; text-underline-offset: 2px; }
.hint, .note { color: var(--_muted); font-size: .875em; }
.name { font-weight: 600; overflow-wrap: anywhere; }
.progress { display: grid; gap: .35rem; margin-top: .85rem; }
progress {
  width: 100%;
  height: .6rem;
  appearance: none;
  border: 0;
  border-radius: 999px;
  overflow: hidden;
  background: color-mix(in srgb, var(--_accent) 14%, #ffffff);
}
progress::-webkit-progress-bar { background: transparent; }
progress::-webkit-progress-value { background: var(--_accent); border-radius: 999px; transition: width .2s ease; }
progress::-moz-progress-bar { background: var(--_accent); border-radius: 999px; }
progress:indeterminate {
  background: linear-gradient(90deg, transparent, color-mix(in srgb, var(--_accent) 55%, transparent), transparent)
    0 0 / 40% 100% no-repeat, color-mix(in srgb, var(--_accent) 14%, #ffffff);
  animation: pp-slide 1.1s ease-in-out infinite;
}
progress:indeterminate::-webkit-progress-bar { background: transparent; }
@keyframes pp-slide { from { background-position: -40% 0, 0 0; } to { background-position: 140% 0, 0 0; } }
.progress-label { font-size: .875em; color: var(--_muted); font-variant-numeric: tabular-nums; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .85rem; }
button.primary, button.secondary {
  font: inherit;
  font-weight: 600;
  padding: .55rem 1.1rem;
  border-radius: 999px;
  border: 1px solid transparent;
  cursor: pointer;
  min-height: 2.5rem;
}
button.primary { background: var(--_accent); color: var(--_accent-contrast); }
button.primary:hover { background: color-mix(in srgb, var(--_accent) 85%, #000000); }
button.secondary { background: transparent; color: inherit; border-color: var(--_border); }
button.secondary:hover { border-color: var(--_accent); color: var(--_accent); }
button.primary:focus-visible, button.secondary:focus-visible { outline: 3px solid var(--_focus); outline-offset: 2px; }
.status, .error { margin: .75rem 0 0; font-size: .925em; }
/* Empty, they take no room but stay rendered: a screen reader only announces changes to a live region it knows. */
.status:empty, .error:empty { margin: 0; padding: 0; border: 0; }
.status { color: var(--_muted); }
:host([state="done"]) .status { color: var(--_success); font-weight: 600; }
.error {
  color: var(--_danger);
  font-weight: 600;
  padding: .6rem .8rem;
  border-radius: calc(var(--_radius) / 2);
  background: color-mix(in srgb, var(--_danger) 8%, var(--_error-surface));
  border: 1px solid color-mix(in srgb, var(--_danger) 30%, transparent);
}
[hidden] { display: none !important; }
.visually-hidden {
  position: absolute !important;
  width: 1px;
  height: 1px;
  margin: -1px;
  overflow: hidden;
  clip-path: inset(50%);
  white-space: nowrap;
}
/*
 * The crop area's side also yields to the viewport's height: with large text (200 %) on a small screen, the square,
 * the zoom row and the Upload and Cancel buttons under it (about 9em, the buttons wrapped on two rows) must fit on one
 * screen; on a very short one the square still takes at most half of it, so it is never taller than what can be seen.
 */
@supports (height: 1dvh) {
  :host { --_stage: min(var(--_crop), 100%, max(100dvh - 9em, 50dvh)); }
}
@media (max-width: 30rem) {
  .zone { flex-direction: column; text-align: center; }
}
/* Forced colours drop box shadows, and with them the frame's ring and mask: draw the ring as an outline instead. */
@media (forced-colors: active) {
  .frame { outline: 2px solid CanvasText; }
}
@media (prefers-reduced-motion: reduce) {
  * { transition: none !important; animation: none !important; }
}
`;

/** The shadow tree. Text is filled in by the element (see `messages`). */
export const TEMPLATE = `<button type="button" class="zone" part="zone" aria-describedby="hint note">
  <span class="preview" part="preview"><span class="icon">${ICON_UPLOAD}</span><img alt="" hidden></span>
  <span class="text">
    <span class="prompt"></span>
    <span class="action"></span>
    <span class="hint" id="hint"></span>
    <span class="note" id="note" hidden></span>
  </span>
</button>
<div class="crop" part="crop" hidden>
  <p class="crop-help" part="crop-help" id="crop-help"></p>
  <div class="stage" part="crop-stage" tabindex="0" role="application" aria-describedby="crop-help">
    <img class="crop-image" alt="" draggable="false">
    <div class="frame" part="crop-frame"></div>
  </div>
  <div class="zoom">${ICON_ZOOM_OUT}<input type="range" part="crop-zoom" min="100" max="100" step="1" value="100">${ICON_ZOOM_IN}</div>
  <p class="crop-live visually-hidden" aria-live="polite"></p>
</div>
<div class="progress" hidden>
  <progress part="progress" max="100" value="0"></progress>
  <span class="progress-label" aria-hidden="true"></span>
</div>
<div class="actions" hidden>
  <button type="button" class="primary upload" part="upload"></button>
  <button type="button" class="secondary cancel" part="cancel"></button>
</div>
<p class="status" part="status" role="status" aria-live="polite"></p>
<p class="error" part="error" role="alert"></p>
<input type="file" hidden tabindex="-1">`;

let shared: CSSStyleSheet | undefined;

/**
 * Applies {@link STYLES} to `root` as a constructed stylesheet, shared by every instance. Unlike a `<style>`
 * element, a constructed stylesheet is not blocked by a Content-Security-Policy without `'unsafe-inline'`, so the
 * widget works on strict-CSP pages. Browsers without constructable stylesheets get a `<style>` element.
 */
export function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    if (!shared) {
      shared = new CSSStyleSheet();
      shared.replaceSync(STYLES);
    }
    root.adoptedStyleSheets = [shared];
    return;
  }
  const style = root.ownerDocument.createElement('style');
  style.textContent = STYLES;
  root.prepend(style);
}
