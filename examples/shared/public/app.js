// The example's page script: a confirmation dialog for removal, and live avatar updates after an upload.
// Everything here is an enhancement: without JavaScript the same links and forms work as plain pages and posts.

const PIXELS = { sm: 36, md: 112, lg: 176 };

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

// Upload: the widget reports the stored picture with a URL per size; show it everywhere on the page at once.
document.addEventListener('profile-picture:uploaded', (event) => {
  const { urls } = event.detail.picture;
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
    img.src = url;
    element.replaceWith(img);
  }
  for (const link of document.querySelectorAll('[data-remove-picture]')) link.hidden = false;
  for (const status of document.querySelectorAll('[data-picture-status]')) status.textContent = 'Picture updated just now';
  for (const heading of document.querySelectorAll('[data-upload-heading]')) heading.textContent = 'Change your picture';
  document.getElementById('flash')?.replaceChildren(); // an older "removed" or error banner no longer applies
});

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
