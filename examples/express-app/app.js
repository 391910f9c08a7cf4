// @ts-check
/**
 * The Express version of Portrait, the reference app: accounts and sessions in the app's database (SQLite, or
 * PostgreSQL with DATABASE_URL), profile pictures through `profile-picture/express`. `createApp()` opens the engines
 * and builds the app without listening, so tests can start it anywhere.
 */
import express from 'express';
import session from 'express-session';
import { profilePictureRouter } from 'profile-picture/express';
import { adminRoutes } from '../shared/admin.js';
import { ASSET_HEADERS, findAsset } from '../shared/assets.js';
import { pictureState } from '../shared/picture-state.js';
import { useThisPicture } from '../shared/previous-pictures.js';
import { refusalNotice, takeRefusalNotice } from '../shared/refusal-notice.js';
import { PAGE_HEADERS, clientErrorStatus, createSite, isSameOriginPost } from '../shared/site.js';
import {
  authPage,
  dashboardPage,
  errorPage,
  homePage,
  profilePage,
  removePage,
  successPage,
} from '../shared/views/pages.js';
import { DatabaseSessionStore } from './session-store.js';

/** @typedef {import('../shared/views/components.js').Account} Account */

/**
 * @param {import('../shared/site.js').SiteOptions} options
 */
export async function createApp(options) {
  const site = await createSite(options);
  const { db, pictures, accounts, admin, secret } = site;
  const app = express();
  app.disable('x-powered-by');
  // One proxy hop's X-Forwarded-Proto decides whether the request came over HTTPS (TRUST_PROXY, site.js).
  if (options.trustProxy) app.set('trust proxy', 1);

  app.use((req, res, next) => {
    const asset = req.method === 'GET' || req.method === 'HEAD' ? findAsset(req.path) : null;
    if (!asset) return next();
    res.set({ ...ASSET_HEADERS, 'Content-Type': asset.type }).send(asset.body);
  });

  app.use(
    session({
      store: new DatabaseSessionStore(db),
      secret,
      name: 'portrait.sid',
      resave: false,
      saveUninitialized: false,
      // SameSite=Lax: the cookie does not ride along on cross-site posts (a second line of CSRF defence). Secure
      // whenever the request came over HTTPS, as Koa's cookies do by themselves.
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: 7 * 24 * 60 * 60 * 1000 },
    }),
  );

  // The signed-in account, looked up once per request.
  app.use(async (req, res, next) => {
    res.locals.user = await accounts.find(req.session.userId);
    next();
  });

  // Upload, remove, media and avatar routes. HTML form posts come back to /profile/ with a status in the query.
  app.use(
    profilePictureRouter(pictures, {
      getUser: (req) => /** @type {Account | null} */ (req.res?.locals.user ?? null),
      getUsername: async (id) => (await accounts.find(id))?.username,
      // A refusal's words (a lock's reason, the wait) for the page the form post is redirected to.
      onResult: ({ error }, req) => {
        const user = /** @type {Account | undefined} */ (req.res?.locals.user);
        const notice = user && refusalNotice(error, user.id);
        if (notice) req.session.pictureNotice = notice;
      },
    }),
  );

  // The app's own forms get the same cross-site check the library applies to its routes.
  app.post('/{*any}', (req, res, next) => {
    if (isSameOriginPost(req.headers)) return next();
    res.status(403).type('text/plain').send('Cross-site form posts are not allowed.');
  });
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));

  /**
   * Renders a page with the current user and picture.
   * @param {import('express').Response} res
   * @param {(model: any) => string} page
   * @param {Record<string, unknown>} [extra]
   * @param {number} [status]
   */
  async function render(res, page, extra = {}, status = 200) {
    /** @type {Account | null} */
    const user = res.locals.user;
    const picture = user ? await pictures.get(user.id) : null;
    const path = res.req.path;
    const isAdmin = await admin.isAdmin(user);
    res.status(status).set(PAGE_HEADERS).type('html').send(page({ user, picture, pictures, path, admin: isAdmin, ...extra }));
  }

  /** @type {import('express').RequestHandler} */
  const signedIn = (req, res, next) => (res.locals.user ? next() : res.redirect(303, '/login/'));

  /**
   * Starts a fresh session for `account` (a new id, so a session fixed before login is worthless).
   * @param {import('express').Request} req
   * @param {Account} account
   */
  const logIn = (req, account) =>
    new Promise((resolve, reject) => {
      req.session.regenerate((err) => {
        if (err) return reject(err);
        req.session.userId = account.id;
        req.session.save((saveErr) => (saveErr ? reject(saveErr) : resolve(undefined)));
      });
    });

  app.get('/', (req, res) => (res.locals.user ? res.redirect('/dashboard/') : render(res, homePage)));

  app.get('/signup/', (req, res) => render(res, authPage, { mode: 'signup' }));
  app.post('/signup/', async (req, res) => {
    const username = String(req.body?.username ?? '');
    const result = await accounts.create({ username, password: String(req.body?.password ?? '') });
    if ('error' in result) {
      return render(res, authPage, { mode: 'signup', username, errors: { [result.field]: result.error } }, 400);
    }
    await logIn(req, result.account);
    res.redirect(303, '/success/?welcome=new');
  });

  app.get('/login/', (req, res) =>
    render(res, authPage, { mode: 'login', notice: req.query.bye ? 'You have been logged out.' : undefined }),
  );
  app.post('/login/', async (req, res) => {
    const username = String(req.body?.username ?? '');
    const account = await accounts.authenticate({ username, password: String(req.body?.password ?? '') });
    if (!account) {
      return render(res, authPage, { mode: 'login', username, errors: { form: 'Wrong username or password.' } }, 401);
    }
    await logIn(req, account);
    res.redirect(303, '/success/');
  });

  app.post('/logout/', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie('portrait.sid');
      res.redirect(303, '/login/?bye=1');
    });
  });

  app.get('/success/', signedIn, (req, res) => render(res, successPage, { isNew: req.query.welcome === 'new' }));
  app.get('/dashboard/', signedIn, (req, res) => render(res, dashboardPage));
  app.get('/profile/', signedIn, async (req, res) => {
    const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    return render(res, profilePage, {
      query,
      refusal: takeRefusalNotice(req.session, query, res.locals.user.id),
      previous: await pictures.history(res.locals.user.id),
      lock: (await pictureState(pictures, res.locals.user.id)).lock,
    });
  });
  // "Use this picture" on a previous one: a plain form post (same-origin check above), then back to the profile.
  app.post('/profile/restore/', signedIn, async (req, res) =>
    res.redirect(303, await useThisPicture(pictures, res.locals.user.id, String(req.body?.version ?? ''), (notice) => {
      req.session.pictureNotice = notice;
    })),
  );
  app.get('/profile/remove/', signedIn, (req, res) => render(res, removePage));

  // The admin page (/admin/, shared/admin.js): its routes take a framework-neutral request; this only translates.
  const adminRoute = adminRoutes(site);
  app.use(async (req, res, next) => {
    const answer = await adminRoute({
      method: req.method,
      path: req.path,
      query: new URLSearchParams(req.originalUrl.split('?')[1] ?? ''),
      form: async () => new URLSearchParams(req.body ?? {}),
      user: res.locals.user,
    });
    if (!answer) return next();
    if ('redirect' in answer) return res.redirect(303, answer.redirect);
    if ('json' in answer) return res.status(answer.status).set(PAGE_HEADERS).json(answer.json);
    return render(res, answer.page, answer.extra, answer.status);
  });

  app.use((req, res) => render(res, errorPage, { status: 404 }, 404));
  /** @type {import('express').ErrorRequestHandler} */
  const onError = (err, req, res, next) => {
    const status = clientErrorStatus(err) ?? 500;
    if (status === 500) console.error(err);
    if (res.headersSent) return next(err);
    render(res, errorPage, { status }, status).catch(next);
  };
  app.use(onError);

  return { app, site };
}
