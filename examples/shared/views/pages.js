// @ts-check
/**
 * The pages. Each takes a plain model and returns the full HTML document; the Express and Koa apps only gather the
 * model (user, picture record, query) and send the string.
 */
import { clientConfig } from 'profile-picture';
// The widget's own wording helpers, so the JavaScript-off hint reads exactly like the widget's.
import { describeTypes, formatBytes } from 'profile-picture/client';
import { avatar, field, flashMessage, formatDate, pictureErrorText, pictureFlash } from './components.js';
import { html } from './html.js';
import { layout } from './layout.js';

/** @typedef {import('./layout.js').LayoutModel} LayoutModel */
/** @typedef {import('./components.js').Account} Account */
/** @typedef {LayoutModel & { user: Account }} SignedInModel */

/**
 * @param {LayoutModel} model
 */
export function homePage(model) {
  return layout(
    { ...model, title: 'Welcome' },
    html`<section class="hero">
      <h1>Put a face to your name</h1>
      <p class="lead">Create an account, upload a profile picture, and see it everywhere in the app: cropped, resized
        and served safely.</p>
      <div class="actions">
        <a class="button button--primary button--large" href="/signup/">Create an account</a>
        <a class="button button--secondary button--large" href="/login/">Log in</a>
      </div>
    </section>`,
  );
}

/**
 * @param {LayoutModel & { mode: 'signup' | 'login', username?: string,
 *   errors?: { username?: string, password?: string, form?: string }, notice?: string }} model
 */
export function authPage(model) {
  const { mode, username = '', errors = {}, notice } = model;
  const signup = mode === 'signup';
  const title = signup ? 'Create your account' : 'Log in';
  return layout(
    { ...model, title },
    html`<section class="card card--narrow auth">
      <h1>${title}</h1>
      <p class="muted">${signup ? 'It takes ten seconds. Then add your profile picture.' : 'Welcome back.'}</p>
      ${flashMessage(errors.form ? { kind: 'error', text: errors.form } : notice ? { kind: 'success', text: notice } : null)}
      <form class="form" method="post" action="${signup ? '/signup/' : '/login/'}">
        ${field({
          name: 'username',
          label: 'Username',
          value: username,
          autocomplete: 'username',
          hint: signup ? '3–30 letters, digits, dots, dashes or underscores.' : undefined,
          error: errors.username,
          attrs: 'minlength="3" maxlength="30" autocapitalize="none" spellcheck="false"',
          autofocus: !username || Boolean(errors.username),
        })}
        ${field({
          name: 'password',
          label: 'Password',
          type: 'password',
          autocomplete: signup ? 'new-password' : 'current-password',
          hint: signup ? 'At least 8 characters.' : undefined,
          error: errors.password,
          attrs: signup ? 'minlength="8" maxlength="200"' : 'maxlength="200"',
          autofocus: Boolean(username) && !errors.username,
        })}
        <button class="button button--primary button--block" type="submit">${signup ? 'Create account' : 'Log in'}</button>
      </form>
      <p class="auth__switch">${signup
        ? html`Already have an account? <a href="/login/">Log in</a>`
        : html`New here? <a href="/signup/">Create an account</a>`}</p>
    </section>`,
  );
}

/**
 * Shown right after sign-up or login.
 * @param {SignedInModel & { isNew: boolean }} model
 */
export function successPage(model) {
  const { user, picture, pictures, isNew } = model;
  return layout(
    { ...model, title: 'Welcome' },
    html`<section class="card card--narrow welcome">
      ${avatar(pictures, user, picture, 'md')}
      <h1>${isNew ? 'Welcome' : 'Welcome back'}, ${user.username}!</h1>
      <p class="lead">${picture
        ? 'You are signed in. Looking sharp.'
        : 'You are signed in. Add a profile picture so people recognise you.'}</p>
      <div class="actions actions--center">
        <a class="button button--primary" href="/dashboard/">Go to your dashboard</a>
        <a class="button button--secondary" href="/profile/">${picture ? 'Edit your profile' : 'Add a picture'}</a>
      </div>
    </section>`,
  );
}

/**
 * @param {SignedInModel} model
 */
export function dashboardPage(model) {
  const { user, picture, pictures } = model;
  return layout(
    { ...model, title: 'Dashboard' },
    html`<div class="page-head">
      <h1>Dashboard</h1>
      <p class="muted">Good to see you, ${user.username}.</p>
    </div>
    <div class="grid">
      <section class="card" aria-labelledby="account-title">
        <h2 id="account-title">Your account</h2>
        <dl class="facts">
          <div><dt>Username</dt><dd>${user.username}</dd></div>
          <div><dt>Member since</dt><dd>${formatDate(user.createdAt)}</dd></div>
          <div><dt>Profile picture</dt><dd data-picture-status>${picture ? `Updated ${formatDate(picture.updatedAt)}` : 'Not set yet'}</dd></div>
        </dl>
      </section>
      <section class="card card--center" aria-labelledby="picture-title">
        <h2 id="picture-title">Profile picture</h2>
        ${avatar(pictures, user, picture, 'md')}
        <a class="button button--secondary" href="/profile/">${picture ? 'Change picture' : 'Add a picture'}</a>
      </section>
    </div>`,
  );
}

/**
 * The profile page: the large picture, the upload widget (a plain form when JavaScript is off), removal, and the
 * previous pictures (`previous`, from `pictures.history()`; none when the app passes none) with a *Use this picture*
 * button each. While an admin has locked the user's picture (`lock`), a notice with the reason stands instead of the
 * widget and the buttons: the server would refuse both (`LOCKED`). Removing stays possible.
 * `refusal`: the words kept for a refused form post (refusal-notice.js).
 * @param {SignedInModel & { query: URLSearchParams, previous?: import('profile-picture').PreviousPicture[],
 *   lock?: import('profile-picture').PictureLock | null, refusal?: string }} model
 */
export function profilePage(model) {
  const { user, picture, pictures, query, previous = [], lock = null, refusal } = model;
  const config = clientConfig(pictures.options);
  return layout(
    { ...model, title: 'Your profile' },
    html`<div class="page-head">
      <h1>Your profile</h1>
      <p class="muted">This is how others see you.</p>
    </div>
    <div id="flash" class="flash-area">${flashMessage(pictureFlash(query, pictures, refusal))}</div>
    <section class="card profile" aria-labelledby="picture-heading">
      <div class="profile__current">
        ${avatar(pictures, user, picture, 'lg')}
        <div class="profile__meta">
          <h2 id="picture-heading" class="profile__name">${user.username}</h2>
          <p class="muted" data-picture-status>${picture ? `Picture updated ${formatDate(picture.updatedAt)}` : 'No profile picture yet'}</p>
          <a class="button button--danger-outline" href="/profile/remove/" data-remove-picture
            ${picture ? '' : html`hidden`}>Remove picture</a>
        </div>
      </div>
      <div class="profile__upload">
        <h2 class="section-title" id="upload-heading" data-upload-heading>${picture ? 'Change your picture' : 'Add a picture'}</h2>
        ${lock ? lockedNotice(lock) : html`<form method="post" action="/upload-profile-picture/" enctype="multipart/form-data" aria-labelledby="upload-heading">
          <profile-picture-upload config="${JSON.stringify(config)}">
            <div class="field">
              <label for="profile-picture-file">Choose a picture</label>
              <input id="profile-picture-file" type="file" name="${config.fieldName}" accept="${config.accept.join(',')}"
                required aria-describedby="profile-picture-hint">
              <p class="field__hint" id="profile-picture-hint">${describeTypes(config.accept)}, up to
                ${formatBytes(config.maxFileSize)}. It will be cropped to a square.</p>
            </div>
            <button class="button button--primary" type="submit">Upload picture</button>
          </profile-picture-upload>
        </form>`}
      </div>
    </section>
    ${previousPictures(pictures, previous, lock === null)}
    <dialog id="remove-dialog" class="dialog" aria-labelledby="remove-title" aria-describedby="remove-text">
      <form method="post" action="/remove-profile-picture/">
        <h2 id="remove-title">Remove your profile picture?</h2>
        <p id="remove-text">People will see the first letter of your username instead. You can upload a new picture
          at any time.</p>
        <div class="actions actions--end">
          <button class="button button--secondary" type="button" value="cancel" data-close-dialog autofocus>Cancel</button>
          <button class="button button--danger" type="submit">Remove picture</button>
        </div>
      </form>
    </dialog>`,
  );
}

/**
 * What a locked user sees instead of the upload widget.
 * @param {import('profile-picture').PictureLock} lock
 */
function lockedNotice({ reason }) {
  return html`<div class="locked-notice" role="note" data-locked-notice>
    <p><strong>${reason ? `Your profile picture is locked: ${reason}` : 'Your profile picture is locked.'}</strong></p>
    <p>You cannot upload a new picture or bring back a previous one until an administrator unlocks it.</p>
  </div>`;
}

/**
 * The previous pictures, newest first, each with a form that makes it current again (a plain post: works without
 * JavaScript) unless `restorable` is false (a locked user). Always present as `[data-previous-pictures]`, empty when there are none, so the page script can swap
 * in a fresh copy after an upload through the widget (app.js). The pictures carry no `data-avatar`: they are not the
 * current picture that script replaces.
 * @param {import('profile-picture').ProfilePictures} pictures
 * @param {import('profile-picture').PreviousPicture[]} previous
 * @param {boolean} restorable
 */
function previousPictures(pictures, previous, restorable) {
  if (previous.length === 0) return html`<div data-previous-pictures></div>`;
  return html`<section class="card previous" aria-labelledby="previous-heading" data-previous-pictures>
    <h2 class="section-title" id="previous-heading">Previous pictures</h2>
    <ul class="previous__list">
      ${previous.map((entry) => html`<li class="previous__item">
        <img class="avatar avatar--md" src="${pictures.url(entry, 'md')}" srcset="${pictures.srcset(entry)}" sizes="112px"
          width="112" height="112" loading="lazy" decoding="async" alt="Previous picture, used until ${formatDate(entry.replacedAt)}">
        <p class="muted">Until ${formatDate(entry.replacedAt)}</p>
        ${restorable ? html`<form method="post" action="/profile/restore/">
          <input type="hidden" name="version" value="${entry.version}">
          <button class="button button--secondary" type="submit">Use this picture</button>
        </form>` : ''}
      </li>`)}
    </ul>
  </section>`;
}

/**
 * The confirmation step of removal when JavaScript is off (with it, a dialog asks the same question).
 * @param {SignedInModel} model
 */
export function removePage(model) {
  const { user, picture, pictures } = model;
  return layout(
    { ...model, title: 'Remove your picture' },
    html`<section class="card card--narrow welcome">
      ${avatar(pictures, user, picture, 'md')}
      <h1>Remove your profile picture?</h1>
      <p class="lead">People will see the first letter of your username instead.</p>
      <form method="post" action="/remove-profile-picture/" class="actions actions--center">
        <a class="button button--secondary" href="/profile/">Cancel</a>
        <button class="button button--danger" type="submit">Remove picture</button>
      </form>
    </section>`,
  );
}

const SERVER_ERROR = { title: 'Error', heading: 'Something went wrong', text: 'Please try again in a moment.' };
/** @type {Record<number, typeof SERVER_ERROR>} */
const ERRORS = {
  403: { title: 'Forbidden', heading: 'This page is for administrators', text: 'Your account cannot open it.' },
  404: { title: 'Not found', heading: 'This page does not exist', text: 'Check the address, or start again from the home page.' },
  413: { title: 'Too large', heading: 'The form is too large', text: 'Go back, shorten what you typed and send it again.' },
};
/** Any other mistake of the client's (a body that cannot be read, an unsupported charset). */
const CLIENT_ERROR = { title: 'Bad request', heading: 'The request could not be read', text: 'Go back and try again.' };

/**
 * @param {LayoutModel & { status: number }} model
 */
export function errorPage(model) {
  const { title, heading, text } = ERRORS[model.status] ?? (model.status < 500 ? CLIENT_ERROR : SERVER_ERROR);
  return layout(
    { ...model, title },
    html`<section class="card card--narrow welcome">
      <h1>${heading}</h1>
      <p class="lead">${text}</p>
      <div class="actions actions--center"><a class="button button--primary" href="/">Go home</a></div>
    </section>`,
  );
}

export { pictureErrorText };
