// @ts-check
/**
 * The Koa version of Portrait: the same pages, database and engines as the Express app, with koa-session and
 * `profile-picture/koa`. Routing is a small table, to keep the example free of a router dependency.
 */
import Koa from 'koa';
import session from 'koa-session';
import { profilePictureRouter } from 'profile-picture/koa';
import { adminRoutes } from '../shared/admin.js';
import { ASSET_HEADERS, findAsset } from '../shared/assets.js';
import { pictureState } from '../shared/picture-state.js';
import { useThisPicture } from '../shared/previous-pictures.js';
import { refusalNotice, takeRefusalNotice } from '../shared/refusal-notice.js';
import { PAGE_HEADERS, clientErrorStatus, createSite, isSameOriginPost, readForm } from '../shared/site.js';
import {
  authPage,
  dashboardPage,
  errorPage,
  homePage,
  profilePage,
  removePage,
  successPage,
} from '../shared/views/pages.js';
import { databaseSessionStore } from './session-store.js';

/** @typedef {import('../shared/views/components.js').Account} Account */
/** @typedef {Koa.ParameterizedContext<{ user: Account | null }>} Ctx */
/** @typedef {(ctx: Ctx) => Promise<void> | void} Handler */

/**
 * @param {import('../shared/site.js').SiteOptions} options
 */
export async function createApp(options) {
  const site = await createSite(options);
  const { db, pictures, accounts, admin, secret } = site;
  const app = new Koa();
  // One proxy hop's X-Forwarded-Proto decides whether the request came over HTTPS (TRUST_PROXY, site.js); the
  // session cookie is then Secure, as Koa's cookies are on every HTTPS request.
  if (options.trustProxy) app.proxy = true;
  app.keys = [secret];

  /**
   * @param {Ctx} ctx
   * @param {(model: any) => string} page
   * @param {Record<string, unknown>} [extra]
   * @param {number} [status]
   */
  async function render(ctx, page, extra = {}, status = 200) {
    const user = ctx.state.user ?? null;
    const picture = user ? await pictures.get(user.id) : null;
    const isAdmin = await admin.isAdmin(user);
    ctx.status = status;
    ctx.set(PAGE_HEADERS);
    ctx.type = 'html';
    ctx.body = page({ user, picture, pictures, path: ctx.path, admin: isAdmin, ...extra });
  }

  /**
   * @param {Ctx} ctx
   * @param {string} location
   */
  function seeOther(ctx, location) {
    ctx.redirect(location);
    ctx.status = 303;
  }

  /** @param {Handler} handler @returns {Handler} */
  const signedIn = (handler) => (ctx) => (ctx.state.user ? handler(ctx) : seeOther(ctx, '/login/'));

  /**
   * A fresh session id for `account` (a session fixed before login is worthless). koa-session's `regenerate()` keeps
   * the data: the previous user's refusal notice goes here (refusal-notice.js also checks whose it is).
   * @param {Ctx} ctx
   * @param {Account} account
   */
  async function logIn(ctx, account) {
    const current = /** @type {NonNullable<Ctx['session']>} */ (ctx.session);
    delete current.pictureNotice;
    current.userId = account.id;
    await current.regenerate();
  }

  /** @type {Record<string, Handler>} */
  const routes = {
    'GET /': (ctx) => (ctx.state.user ? seeOther(ctx, '/dashboard/') : render(ctx, homePage)),
    'GET /signup/': (ctx) => render(ctx, authPage, { mode: 'signup' }),
    'POST /signup/': async (ctx) => {
      const form = await readForm(ctx.req);
      const username = form.get('username') ?? '';
      const result = await accounts.create({ username, password: form.get('password') ?? '' });
      if ('error' in result) {
        return render(ctx, authPage, { mode: 'signup', username, errors: { [result.field]: result.error } }, 400);
      }
      await logIn(ctx, result.account);
      seeOther(ctx, '/success/?welcome=new');
    },
    'GET /login/': (ctx) =>
      render(ctx, authPage, { mode: 'login', notice: ctx.query.bye ? 'You have been logged out.' : undefined }),
    'POST /login/': async (ctx) => {
      const form = await readForm(ctx.req);
      const username = form.get('username') ?? '';
      const account = await accounts.authenticate({ username, password: form.get('password') ?? '' });
      if (!account) {
        return render(ctx, authPage, { mode: 'login', username, errors: { form: 'Wrong username or password.' } }, 401);
      }
      await logIn(ctx, account);
      seeOther(ctx, '/success/');
    },
    'POST /logout/': (ctx) => {
      ctx.session = null;
      seeOther(ctx, '/login/?bye=1');
    },
    'GET /success/': signedIn((ctx) => render(ctx, successPage, { isNew: ctx.query.welcome === 'new' })),
    'GET /dashboard/': signedIn((ctx) => render(ctx, dashboardPage)),
    'GET /profile/': signedIn(async (ctx) => {
      const query = new URLSearchParams(ctx.querystring);
      return render(ctx, profilePage, {
        query,
        refusal: takeRefusalNotice(ctx.session, query, /** @type {Account} */ (ctx.state.user).id),
        previous: await pictures.history(/** @type {Account} */ (ctx.state.user).id),
        lock: (await pictureState(pictures, /** @type {Account} */ (ctx.state.user).id)).lock,
      });
    }),
    'POST /profile/restore/': signedIn(async (ctx) => {
      const form = await readForm(ctx.req);
      const user = /** @type {Account} */ (ctx.state.user);
      const keep = (/** @type {import('../shared/refusal-notice.js').RefusalNotice} */ notice) => {
        if (ctx.session) ctx.session.pictureNotice = notice;
      };
      seeOther(ctx, await useThisPicture(pictures, user.id, form.get('version') ?? '', keep));
    }),
    'GET /profile/remove/': signedIn((ctx) => render(ctx, removePage)),
  };

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = clientErrorStatus(err) ?? 500;
      if (status === 500) console.error(err);
      await render(/** @type {Ctx} */ (ctx), errorPage, { status }, status);
    }
  });

  app.use(async (ctx, next) => {
    const asset = ctx.method === 'GET' || ctx.method === 'HEAD' ? findAsset(ctx.path) : null;
    if (!asset) return next();
    ctx.set(ASSET_HEADERS);
    ctx.type = asset.type;
    ctx.body = asset.body;
  });

  app.use(
    session(
      {
        key: 'portrait.sess',
        store: databaseSessionStore(db),
        maxAge: 7 * 24 * 60 * 60 * 1000,
        httpOnly: true,
        sameSite: 'lax', // the cookie does not ride along on cross-site posts (a second line of CSRF defence)
        signed: true,
      },
      app,
    ),
  );

  app.use(async (ctx, next) => {
    ctx.state.user = await accounts.find(/** @type {{ userId?: string } | null} */ (ctx.session)?.userId);
    await next();
  });

  // Upload, remove, media and avatar routes; HTML form posts come back to /profile/ with a status in the query.
  app.use(
    profilePictureRouter(pictures, {
      getUser: (ctx) => ctx.state.user ?? null,
      getUsername: async (id) => (await accounts.find(id))?.username,
      // A refusal's words (a lock's reason, the wait) for the page the form post is redirected to.
      onResult: ({ error }, ctx) => {
        const notice = ctx.state.user && refusalNotice(error, ctx.state.user.id);
        if (notice && ctx.session) ctx.session.pictureNotice = notice;
      },
    }),
  );

  // The admin page (/admin/, shared/admin.js): its routes take a framework-neutral request; this only translates.
  const adminRoute = adminRoutes(site);
  /** @param {Ctx} ctx */
  const adminPages = async (ctx) => {
    const answer = await adminRoute({
      method: ctx.method,
      path: ctx.path,
      query: new URLSearchParams(ctx.querystring),
      form: () => readForm(ctx.req),
      user: ctx.state.user ?? null,
    });
    if (!answer) return render(ctx, errorPage, { status: 404 }, 404);
    if ('redirect' in answer) return seeOther(ctx, answer.redirect);
    if ('json' in answer) {
      ctx.set(PAGE_HEADERS);
      ctx.status = answer.status;
      ctx.body = answer.json;
      return;
    }
    await render(ctx, answer.page, answer.extra, answer.status);
  };

  app.use(async (ctx) => {
    const typed = /** @type {Ctx} */ (ctx);
    const route = routes[`${ctx.method === 'HEAD' ? 'GET' : ctx.method} ${ctx.path}`];
    const handler = route ?? (ctx.path.startsWith('/admin/') ? adminPages : undefined);
    if (!handler) return render(typed, errorPage, { status: 404 }, 404);
    if (ctx.method === 'POST' && !isSameOriginPost(ctx.headers)) {
      ctx.status = 403;
      ctx.body = 'Cross-site form posts are not allowed.';
      return;
    }
    await handler(typed);
  });

  return { app, site };
}
