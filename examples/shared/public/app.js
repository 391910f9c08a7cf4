// The example's page script: placeholders while pictures load, a confirmation dialog for removal, and live avatar
// updates after an upload. Everything here is an enhancement: without JavaScript the same links and forms work as
// plain pages and posts.
// The widget's module (already loaded by the page): one file, so this import costs no extra request.
import { thumbHashToDataURL } from './profile-picture-upload.js';

const PIXELS = { sm: 36, md: 112, lg: 176 };

// Placeholders: paint each picture's preview (record.preview, in data-preview-* attributes) behind it until it has
// loaded. Through the CSSOM, which the strict CSP allows (style-src 'self' only blocks style attributes and
// elements); the ThumbHash becomes a data: URL, which img-src allows. Pictures already shown (cached) are left alone.
function paintPreview(img) {
  if (img.complete && img.naturalWidth > 0) return;
  const { previewColor, previewThumbhash } = img.dataset;
  if (previewColor) img.style.backgroundColor = previewColor;
  if (previewThumbhash) img.style.backgroundImage = `url("${thumbHashToDataURL(previewThumbhash)}")`;
  img.addEventListener('load', () => (img.style.backgroundColor = img.style.backgroundImage = ''), { once: true });
}
for (const img of document.querySelectorAll('img[data-preview-color]')) paintPreview(img);

// Remove: ask in a <dialog> instead of following the link to the confirmation page.
const dialog = document.getElementById('remove-dialog');
document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (dialog instanceof HTMLDialogElement && target?.closest('[data-remove-picture]')) {
    event.preventDefault();
    dialog.showModal();
  } else if (target?.closest('[data-close-dialog]')) {
    target.closest('dialog')?.close();
  }
});

// Upload: the widget reports the stored record with a URL per variant; show it everywhere on the page at once, with
// the same srcset the pages render (pictures.srcset(): every variant by width, narrowest first).
document.addEventListener('profile-picture:uploaded', (event) => {
  const { urls, variants, preview } = event.detail.picture;
  const srcset = Object.entries(variants)
    .sort(([, a], [, b]) => a.width - b.width)
    .map(([name, variant]) => `${urls[name]} ${variant.width}w`)
    .join(', ');
  for (const element of document.querySelectorAll('[data-avatar]')) {
    const size = element.getAttribute('data-avatar');
    const url = urls[size];
    if (!url) continue;
    const img = document.createElement('img');
    img.className = `avatar avatar--${size}`;
    img.dataset.avatar = size;
    img.dataset.alt = element.getAttribute('data-alt') ?? '';
    img.alt = img.dataset.alt;
    img.width = img.height = PIXELS[size] ?? 64;
    img.sizes = `${img.width}px`;
    img.srcset = srcset;
    img.decoding = 'async';
    if (preview) Object.assign(img.dataset, { previewColor: preview.color, previewThumbhash: preview.thumbhash });
    img.src = url;
    paintPreview(img);
    element.replaceWith(img);
  }
  for (const link of document.querySelectorAll('[data-remove-picture]')) link.hidden = false;
  for (const status of document.querySelectorAll('[data-picture-status]')) status.textContent = 'Picture updated just now';
  for (const heading of document.querySelectorAll('[data-upload-heading]')) heading.textContent = 'Change your picture';
  document.getElementById('flash')?.replaceChildren(); // an older "removed" or error banner no longer applies
  void refreshPreviousPictures();
});

// The picture just replaced is now a previous picture: fetch this page again and swap in its list (the server renders
// it, so the markup and the "Use this picture" forms are exactly those of a reload). Pages without one are left alone.
async function refreshPreviousPictures() {
  const shown = document.querySelector('[data-previous-pictures]');
  if (!shown) return;
  const response = await fetch(location.pathname, { headers: { Accept: 'text/html' } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), 'text/html').querySelector('[data-previous-pictures]');
  if (fresh) shown.replaceWith(document.importNode(fresh, true));
}

// The session ended while the page was open: the widget says so; offer the way back in.
document.addEventListener('profile-picture:error', (event) => {
  if (event.detail.code !== 'UNAUTHENTICATED') return;
  const flash = document.getElementById('flash');
  if (!flash) return;
  const banner = document.createElement('div');
  banner.className = 'flash flash--error';
  banner.setAttribute('role', 'alert');
  banner.innerHTML = '<span class="flash__icon" aria-hidden="true">!</span><p>Your session has ended. <a href="/login/">Log in again</a> to change your picture.</p>';
  flash.replaceChildren(banner);
});
