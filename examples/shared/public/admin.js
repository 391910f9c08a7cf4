// The admin page's script: while a *Regenerate all* run goes on, poll its status and move the progress bar; when it
// ends, show the result and refresh the counts, stats and pictures. Without JavaScript the page shows the same on reload.
const card = document.querySelector('[data-regenerate]');
const POLL_MS = 300;

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

/** Replaces the parts a run changes (counts, stats, the list's pictures) with those of a fresh copy of this page. */
async function refreshResults() {
  const response = await fetch(location.href, { headers: { Accept: 'text/html' } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
  for (const part of document.querySelectorAll('[data-refresh]')) {
    const replacement = fresh.querySelector(`[data-refresh="${part.dataset.refresh}"]`);
    if (replacement) part.replaceWith(replacement);
  }
}

async function poll() {
  try {
    const response = await fetch(card.dataset.statusUrl, { headers: { Accept: 'application/json' } });
    if (!response.ok) return; // signed out meanwhile: a reload shows why
    if (show(await response.json())) {
      setTimeout(poll, POLL_MS);
    } else {
      await refreshResults();
    }
  } catch {
    setTimeout(poll, POLL_MS * 4); // the server restarting: try again, more slowly
  }
}

if (card && ['running', 'stopping'].includes(card.dataset.state)) setTimeout(poll, POLL_MS);
