// The admin page's script: while a *Regenerate all* run goes on, poll its status and move the progress bar; when it
// ends, show the result and refresh the stats card. Without JavaScript the page shows the same on reload.
const card = document.querySelector('[data-regenerate]');
const POLL_MS = 500;

/** Shows one status (the JSON of GET /admin/regenerate/status) in the card. */
function show(status) {
  const active = status.state === 'running' || status.state === 'stopping';
  const bar = card.querySelector('[data-progress]');
  const max = Math.max(status.total, 1);
  bar.max = max;
  bar.value = status.state === 'done' ? max : Math.min(status.scanned, max);
  bar.textContent = `${Math.round((bar.value / max) * 100)}%`;
  card.dataset.state = status.state;
  card.querySelector('[data-job-text]').textContent = status.text;
  card.querySelector('[data-job-start]').disabled = active;
  card.querySelector('[data-job-stop]').hidden = !active;
  return active;
}

/** Replaces the stats card with the one a fresh copy of this page renders. */
async function refreshStats() {
  const response = await fetch(location.href, { headers: { Accept: 'text/html' } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), 'text/html').querySelector('[data-stats]');
  if (fresh) document.querySelector('[data-stats]')?.replaceWith(fresh);
}

async function poll() {
  try {
    const response = await fetch(card.dataset.statusUrl, { headers: { Accept: 'application/json' } });
    if (!response.ok) return; // signed out meanwhile: a reload shows why
    if (show(await response.json())) {
      setTimeout(poll, POLL_MS);
    } else {
      await refreshStats();
    }
  } catch {
    setTimeout(poll, POLL_MS * 4); // the server restarting: try again, more slowly
  }
}

if (card && ['running', 'stopping'].includes(card.dataset.state)) setTimeout(poll, POLL_MS);
