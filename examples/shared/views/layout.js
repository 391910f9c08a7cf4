// @ts-check
/** The page frame: head, header with navigation and the account badge, main, footer. */
import { avatar } from './components.js';
import { html } from './html.js';

/**
 * @typedef {object} LayoutModel
 * @property {string} title
 * @property {string} path the current path, to mark the active navigation link
 * @property {import('./components.js').Account | null} user
 * @property {import('profile-picture').PictureRecord | null} picture
 * @property {import('profile-picture').ProfilePictures} pictures
 * @property {boolean} [admin] the user may open the admin page: the navigation links to it
 * @property {string[]} [scripts] the page's own scripts (same-origin module URLs), after the shared ones
 */

/**
 * @param {LayoutModel} model
 * @param {import('./html.js').SafeHtml} body
 * @returns {string}
 */
export function layout({ title, path, user, picture, pictures, admin = false, scripts = [] }, body) {
  /** @param {string} href @param {string} text */
  const link = (href, text) =>
    html`<a href="${href}" class="nav__link" ${path === href ? html`aria-current="page"` : ''}>${text}</a>`;
  const account = user
    ? html`<nav class="nav" aria-label="Main">${link('/dashboard/', 'Dashboard')}${link('/profile/', 'Profile')}${admin ? link('/admin/', 'Admin') : ''}</nav>
        <div class="account">
          <a class="account__badge" href="/profile/" title="Your profile">
            ${avatar(pictures, user, picture, 'sm', { decorative: true })}
            <span class="account__name">${user.username}</span>
          </a>
          <form method="post" action="/logout/"><button class="button button--ghost" type="submit">Log out</button></form>
        </div>`
    : html`<nav class="nav" aria-label="Main">${link('/login/', 'Log in')}</nav>
        <a class="button button--primary" href="/signup/">Sign up</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · Portrait</title>
  <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/assets/styles.css">
  <script type="module" src="/assets/profile-picture-upload.js"></script>
  <script type="module" src="/assets/app.js"></script>
  ${scripts.map((src) => html`<script type="module" src="${src}"></script>`)}
</head>
<body>
  <a class="skip-link" href="#main">Skip to content</a>
  <header class="site-header">
    <div class="container site-header__inner">
      <a class="brand" href="/"><span class="brand__mark" aria-hidden="true"></span>Portrait</a>
      ${account}
    </div>
  </header>
  <main id="main" class="container main" tabindex="-1">
${body}
  </main>
  <footer class="site-footer">
    <div class="container">Portrait is the reference app of <code>profile-picture</code>: Express or Koa, SQLite or PostgreSQL, pictures on local disk or S3.</div>
  </footer>
</body>
</html>
`.value;
}
