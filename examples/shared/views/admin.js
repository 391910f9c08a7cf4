// @ts-check
/**
 * The admin pages: the overview (stats, *Regenerate all*, the accounts with their pictures) and the confirmation step
 * of a user action. Everything works as plain links and form posts; `/assets/admin.js` only makes the progress bar
 * live.
 */
// The widget's own wording helper, so sizes read the same everywhere in the app.
import { formatBytes } from 'profile-picture/client';
import { avatar, flashMessage, formatDate } from './components.js';
import { html } from './html.js';
import { layout } from './layout.js';

/** @typedef {import('./pages.js').SignedInModel} SignedInModel */
/** @typedef {import('./components.js').Account} Account */
/** @typedef {import('profile-picture').PictureStats} PictureStats */
/** @typedef {import('../regenerate-job.js').JobStatus} JobStatus */
/** @typedef {import('../admin.js').UserAction} UserAction */
/** @typedef {import('../picture-state.js').PictureState} PictureState */
/** @typedef {{ users: Array<{ account: Account } & PictureState>, page: number, pages: number, total: number }} AccountList */

/**
 * @param {SignedInModel & { list: AccountList, stats: PictureStats, job: JobStatus, jobText: string,
 *   flash: { kind: 'success' | 'error', text: string } | null, actions: Record<string, UserAction> }} model
 */
export function adminPage(model) {
  const { list, stats, job, jobText, flash } = model;
  return layout(
    { ...model, title: 'Admin', scripts: ['/assets/admin.js'] },
    html`<div class="page-head">
      <h1>Admin</h1>
      <p class="muted" data-refresh="summary">${list.total} ${list.total === 1 ? 'account' : 'accounts'}, ${stats.users} with a profile picture.</p>
    </div>
    <div id="flash" class="flash-area">${flashMessage(flash)}</div>
    <div class="grid admin-top">
      ${statsCard(stats, list.total)}
      ${regenerateCard(job, jobText, list.page)}
    </div>
    ${usersCard(model)}`,
  );
}

/**
 * The confirmation step of a user action: a page of its own, so it works without JavaScript. An action with a field
 * (the lock's reason) asks for it here; `entered` brings a refused value back with what is wrong with it.
 * @param {SignedInModel & { action: UserAction, name: string, target: Account, targetState: PictureState,
 *   page: number, entered: { value?: string, error?: string } }} model
 */
export function adminConfirmPage(model) {
  const { pictures, action, name, target, targetState, page, entered } = model;
  const { lock } = targetState;
  return layout(
    { ...model, title: action.label },
    html`<section class="card card--narrow welcome">
      ${avatar(pictures, target, targetState.picture, 'md')}
      <h1>${action.question(target.username)}</h1>
      <p class="lead">${action.explanation}</p>
      ${lock ? html`<p class="admin-lock-note" data-current-lock>Locked since ${formatDate(lock.at)}${lock.reason ? `: ${lock.reason}` : '.'}</p>` : ''}
      <form method="post" action="/admin/confirm/" class="admin-confirm">
        <input type="hidden" name="action" value="${name}">
        <input type="hidden" name="user" value="${target.id}">
        <input type="hidden" name="page" value="${page}">
        ${action.field ? reasonField(action.field, entered) : ''}
        <div class="actions actions--center">
          <a class="button button--secondary" href="/admin/?page=${page}">Cancel</a>
          <button class="button ${action.tone === 'danger' ? 'button--danger' : 'button--primary'}" type="submit">${action.label}</button>
        </div>
      </form>
    </section>`,
  );
}

/**
 * A multi-line, optional text field of a confirmation step.
 * @param {NonNullable<UserAction['field']>} field
 * @param {{ value?: string, error?: string }} entered
 */
function reasonField({ name, label, hint, maxLength }, { value = '', error }) {
  const described = [`${name}-hint`, error ? `${name}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field">
    <label for="${name}">${label}</label>
    <textarea id="${name}" name="${name}" rows="3" maxlength="${maxLength}" aria-describedby="${described}"
      ${error ? html`aria-invalid="true"` : ''}>${value}</textarea>
    <p class="field__hint" id="${name}-hint">${hint}</p>
    ${error ? html`<p class="field__error" id="${name}-error">${error}</p>` : ''}
  </div>`;
}

/**
 * `pictures.stats()`; each number also in `data-value`, unformatted.
 * @param {PictureStats} stats
 * @param {number} accounts
 */
function statsCard(stats, accounts) {
  /** @param {string} key @param {string} label @param {number} value @param {string} [shown] */
  const fact = (key, label, value, shown = String(value)) =>
    html`<div><dt>${label}</dt><dd data-stat="${key}" data-value="${value}">${shown}</dd></div>`;
  /** @param {{ objects: number, bytes: number }} tally */
  const tallyText = ({ objects, bytes }) => `${objects} ${objects === 1 ? 'object' : 'objects'} · ${formatBytes(bytes)}`;
  const variants = Object.entries(stats.variants).sort(([, a], [, b]) => a.bytes - b.bytes);
  return html`<section class="card" aria-labelledby="stats-title" data-refresh="stats">
    <h2 id="stats-title">Pictures</h2>
    <dl class="facts facts--columns">
      ${fact('accounts', 'Accounts', accounts)}
      ${fact('users', 'With a picture', stats.users)}
      ${fact('objects', 'Stored objects', stats.objects)}
      ${fact('bytes', 'Stored size', stats.bytes, formatBytes(stats.bytes))}
      ${variants.map(([name, tally]) => fact(`variant-${name}`, `Variant ${name}`, tally.objects, tallyText(tally)))}
      ${fact('masters', 'Masters', stats.masters.objects, tallyText(stats.masters))}
      ${fact('orphans', 'Orphans', stats.orphans.objects, tallyText(stats.orphans))}
      ${fact('missing', 'Missing objects', stats.missing)}
    </dl>
  </section>`;
}

/**
 * *Regenerate all*, with the state of the current or last run. `/assets/admin.js` polls the status and updates the
 * bar and the line while a run goes on; without it, a reload shows the same.
 * @param {JobStatus} job
 * @param {string} text
 * @param {number} page
 */
function regenerateCard(job, text, page) {
  const active = job.state === 'running' || job.state === 'stopping';
  const max = Math.max(job.total, 1);
  const value = job.state === 'done' ? max : Math.min(job.scanned, max);
  return html`<section class="card admin-job" id="regenerate" aria-labelledby="regenerate-title"
    data-regenerate data-state="${job.state}" data-status-url="/admin/regenerate/status">
    <h2 id="regenerate-title">Regenerate all pictures</h2>
    <p class="muted">Re-renders every picture that does not match today's sizes, format and quality, from its master
      or else its largest variant. Run it after changing the sizes; users can keep uploading meanwhile.</p>
    <progress class="progress" max="${max}" value="${value}" aria-labelledby="regenerate-title"
      data-progress>${Math.round((value / max) * 100)}%</progress>
    <p class="admin-job__text" role="status" data-job-text>${text}</p>
    <div class="actions">
      <form method="post" action="/admin/regenerate/">
        <input type="hidden" name="page" value="${page}">
        <button class="button button--primary" type="submit" data-job-start ${active ? html`disabled` : ''}>Regenerate all</button>
      </form>
      <form method="post" action="/admin/regenerate/stop/" data-job-stop ${active ? '' : html`hidden`}>
        <input type="hidden" name="page" value="${page}">
        <button class="button button--secondary" type="submit">Stop</button>
      </form>
    </div>
  </section>`;
}

/**
 * The accounts in sign-up order with their pictures and actions, and the pager.
 * @param {SignedInModel & { list: AccountList, actions: Record<string, UserAction> }} model
 */
function usersCard({ pictures, list, actions }) {
  const rows = list.users.map(
    ({ account, picture, lock }) => html`<tr data-user="${account.username}">
      <td><div class="admin-users__who">
        ${avatar(pictures, account, picture, 'sm', { decorative: true })}
        <span class="admin-users__name">${account.username}</span>
      </div></td>
      <td>${formatDate(account.createdAt)}</td>
      <td data-picture-cell>${picture ? `Updated ${formatDate(picture.updatedAt)}` : html`<span class="muted">No picture</span>`}${lockBadge(lock)}</td>
      <td class="admin-users__actions">${userActions(actions, account, { picture, lock }, list.page)}</td>
    </tr>`,
  );
  return html`<section class="card admin-users" aria-labelledby="users-title" data-refresh="users">
    <h2 id="users-title">Users</h2>
    <div class="table-scroll">
      <table class="table">
        <thead><tr><th scope="col">User</th><th scope="col">Joined</th><th scope="col">Picture</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
    ${pager(list)}
  </section>`;
}

/**
 * "Locked: <reason>" under a locked user's picture; nothing for others.
 * @param {PictureState['lock']} lock
 */
function lockBadge(lock) {
  if (!lock) return '';
  return html`<span class="badge badge--locked" data-locked>${lock.reason ? `Locked: ${lock.reason}` : 'Locked'}</span>`;
}

/**
 * The actions offered for one user, each a link to its confirmation step.
 * @param {Record<string, UserAction>} actions
 * @param {Account} account
 * @param {PictureState} state
 * @param {number} page
 */
function userActions(actions, account, state, page) {
  const links = Object.entries(actions)
    .filter(([, action]) => action.available(state))
    .map(
      ([name, action]) => html`<a class="button ${action.tone === 'danger' ? 'button--danger-outline' : 'button--secondary'} button--small"
        href="/admin/confirm/?action=${name}&amp;user=${encodeURIComponent(account.id)}&amp;page=${page}"
        aria-label="${action.label} of ${account.username}">${action.label}</a>`,
    );
  return links.length > 0 ? html`<div class="admin-users__buttons">${links}</div>` : html`<span class="muted" aria-hidden="true">—</span>`;
}

/** @param {AccountList} list */
function pager({ page, pages }) {
  if (pages <= 1) return '';
  /** @param {number} to @param {string} text @param {string} rel */
  const link = (to, text, rel) =>
    to >= 1 && to <= pages
      ? html`<a class="button button--secondary button--small" href="/admin/?page=${to}" rel="${rel}">${text}</a>`
      : html`<span class="button button--secondary button--small" aria-disabled="true">${text}</span>`;
  return html`<nav class="pager" aria-label="Pages of users">
    ${link(page - 1, 'Previous', 'prev')}
    <span class="pager__where" aria-current="page">Page ${page} of ${pages}</span>
    ${link(page + 1, 'Next', 'next')}
  </nav>`;
}
