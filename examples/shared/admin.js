// @ts-check
/**
 * The admin page (`/admin/`), shared by the Express and Koa apps: who is an administrator, the accounts with their
 * pictures (paged), per-user actions behind a confirmation step, the library's stats, and *Regenerate all* with its
 * progress. `adminRoutes()` answers a framework-neutral request; each app only translates it (express-app/app.js,
 * koa-app/app.js).
 */
import { LOCK_REASON_MAX_LENGTH } from 'profile-picture';
import { USERNAME } from './accounts.js';
import { pictureState } from './picture-state.js';
import { describeJob, regenerateJob } from './regenerate-job.js';
import { adminConfirmPage, adminPage } from './views/admin.js';
import { errorPage } from './views/pages.js';

/** @typedef {import('./views/components.js').Account} Account */
/** @typedef {import('profile-picture').ProfilePictures} ProfilePictures */
/** @typedef {import('./picture-state.js').PictureState} PictureState */

/** Accounts per page of the list. */
export const PER_PAGE = 20;


/**
 * What an administrator can do to one user, each behind a confirmation step. A new action is one more entry here:
 * the list, the confirmation page and the post route take it from this table.
 * @typedef {object} UserAction
 * @property {string} label the button
 * @property {(username: string) => string} question the confirmation page's title
 * @property {string} explanation what it changes for the user
 * @property {'danger' | 'neutral'} tone the buttons' look: danger for what takes something away
 * @property {{ name: string, label: string, hint: string, maxLength: number }} [field] an optional text field of the
 *   confirmation page, whose trimmed value `run` gets
 * @property {(state: PictureState) => boolean} available whether the list offers it for this user
 * @property {(pictures: ProfilePictures, userId: string, value: string) => Promise<unknown>} run
 * @property {(username: string) => string} done the message once done
 */

/** @type {Record<string, UserAction>} */
export const USER_ACTIONS = {
  remove: {
    label: 'Remove picture',
    question: (username) => `Remove ${username}'s profile picture?`,
    explanation: 'People will see the first letter of their username instead. They can upload a new picture at any time.',
    tone: 'danger',
    available: ({ picture }) => picture !== null,
    run: (pictures, userId) => pictures.remove(userId),
    done: (username) => `${username}'s profile picture has been removed.`,
  },
  lock: {
    label: 'Lock picture',
    question: (username) => `Lock ${username}'s profile picture?`,
    explanation: 'They will not be able to upload a new picture or bring back a previous one until you unlock it. ' +
      'Their current picture stays: remove it too if it must go.',
    tone: 'danger',
    field: { name: 'reason', label: 'Reason (optional)', hint: `Shown to them. Up to ${LOCK_REASON_MAX_LENGTH} characters.`, maxLength: LOCK_REASON_MAX_LENGTH },
    available: ({ lock }) => lock === null,
    run: (pictures, userId, reason) => pictures.lock(userId, reason || undefined),
    done: (username) => `${username}'s profile picture is locked.`,
  },
  unlock: {
    label: 'Unlock picture',
    question: (username) => `Unlock ${username}'s profile picture?`,
    explanation: 'They will be able to upload a new picture or bring back a previous one again.',
    tone: 'neutral',
    available: ({ lock }) => lock !== null,
    run: (pictures, userId) => pictures.unlock(userId),
    done: (username) => `${username} can change their profile picture again.`,
  },
};

/**
 * Reads `ADMIN_USERS`: comma-separated usernames (any letter case); empty or unset means the first account.
 * @param {string | undefined} value
 * @returns {string[]} the names in lower case
 * @throws Error naming the variable when an entry cannot be a username.
 */
export function adminUsersFromEnv(value) {
  const names = (value ?? '').split(',').map((name) => name.trim().normalize('NFC')).filter(Boolean);
  const wrong = names.find((name) => !USERNAME.test(name));
  if (wrong !== undefined) {
    throw new Error(`ADMIN_USERS must list usernames separated by commas, got "${wrong}"`);
  }
  return names.map((name) => name.toLowerCase());
}

/**
 * The admin side of the site.
 * @param {object} options
 * @param {import('./database.js').AppDatabase} options.db
 * @param {ProfilePictures} options.pictures
 * @param {string[]} options.adminUsers from {@link adminUsersFromEnv}; empty: the first account
 */
export function createAdmin({ db, pictures, adminUsers }) {
  const count = async (/** @type {string} */ sql) => Number((await db.all(sql))[0]?.n ?? 0);
  const regenerate = regenerateJob({
    pictures,
    // Users with a picture, as regenerate() sees them: a stored record may be a tombstone (previous pictures kept
    // after a remove, a lock) that has none.
    countPictures: async () => (await pictures.stats()).users,
  });

  return {
    regenerate,

    /**
     * Whether `account` may open the admin page: listed in `ADMIN_USERS`, or, when that is unset, the first account
     * created (the person who set the app up).
     * @param {Account | null} account
     */
    async isAdmin(account) {
      if (!account) return false;
      if (adminUsers.length > 0) return adminUsers.includes(account.username.toLowerCase());
      const [first] = await db.all('SELECT id FROM users ORDER BY created_at, id LIMIT 1');
      return first?.id === account.id;
    },

    /**
     * One page of accounts in sign-up order, each with its picture and lock (one read of its record). A page past the
     * end shows the last one.
     * @param {number} requested 1-based
     */
    async listAccounts(requested) {
      const total = await count('SELECT count(*) AS n FROM users');
      const pages = Math.max(1, Math.ceil(total / PER_PAGE));
      const page = Math.min(Math.max(1, requested), pages);
      const rows = await db.all(
        'SELECT id, username, created_at AS "createdAt" FROM users ORDER BY created_at, id LIMIT ? OFFSET ?',
        [PER_PAGE, (page - 1) * PER_PAGE],
      );
      const users = await Promise.all(
        rows.map(async (row) => ({
          account: /** @type {Account} */ ({ id: row.id, username: row.username, createdAt: new Date(row.createdAt).toISOString() }),
          ...(await pictureState(pictures, row.id)),
        })),
      );
      return { users, page, pages, total };
    },
  };
}

/** @typedef {ReturnType<typeof createAdmin>} Admin */

/**
 * A request, as the apps pass it on.
 * @typedef {object} AdminRequest
 * @property {string} method
 * @property {string} path
 * @property {URLSearchParams} query
 * @property {() => Promise<URLSearchParams>} form the posted form (urlencoded)
 * @property {Account | null} user the signed-in account
 */

/**
 * What the app sends: a 303 redirect, JSON, or one of the pages rendered with `extra` added to its model.
 * @typedef {{ redirect: string }
 *   | { status: number, json: unknown }
 *   | { status: number, page: (model: any) => string, extra: Record<string, unknown> }} AdminResponse
 */

/**
 * The admin routes: `GET /admin/`, `GET|POST /admin/confirm/` (a user action and its confirmation),
 * `POST /admin/regenerate/`, `POST /admin/regenerate/stop/` and `GET /admin/regenerate/status` (JSON). The apps
 * apply their cross-site check to every POST before these run.
 * @param {{ admin: Admin, pictures: ProfilePictures, accounts: { find(id: string | null | undefined): Promise<Account | null> } }} site
 * @returns {(request: AdminRequest) => Promise<AdminResponse | null>} null for a path that is not one of them
 */
export function adminRoutes({ admin, pictures, accounts }) {
  /** @param {string | null} value */
  const pageNumber = (value) => {
    const n = Number(value);
    return Number.isInteger(n) && n > 0 ? n : 1;
  };
  /** @param {number} page @param {string} [more] query parameters to add */
  const backTo = (page, more = '') => `/admin/?page=${page}${more ? `&${more}` : ''}`;
  const notFound = () => ({ status: 404, page: errorPage, extra: { status: 404 } });
  /**
   * The confirmation step of action `name` for `target`, with the target's picture and lock.
   * @param {string} name @param {Account} target @param {number} page
   * @param {{ value?: string, error?: string }} [entered] the field as posted, and what is wrong with it
   * @param {number} [status]
   * @returns {Promise<AdminResponse>}
   */
  const confirmation = async (name, target, page, entered = {}, status = 200) => ({
    status,
    page: adminConfirmPage,
    extra: { action: USER_ACTIONS[name], name, target, targetState: await pictureState(pictures, target.id), page, entered },
  });

  /** @param {URLSearchParams} query */
  async function flashOf(query) {
    const action = query.get('done');
    if (action && Object.hasOwn(USER_ACTIONS, action)) {
      const account = await accounts.find(query.get('user'));
      if (account) return { kind: 'success', text: /** @type {UserAction} */ (USER_ACTIONS[action]).done(account.username) };
    }
    if (query.get('regenerate') === 'busy') return { kind: 'error', text: 'A regeneration is already running.' };
    return null;
  }

  /** @type {Record<string, (request: AdminRequest) => Promise<AdminResponse>>} */
  const routes = {
    'GET /admin/': async ({ query }) => {
      const [list, stats, flash] = await Promise.all([
        admin.listAccounts(pageNumber(query.get('page'))),
        pictures.stats(),
        flashOf(query),
      ]);
      const job = admin.regenerate.status();
      return { status: 200, page: adminPage, extra: { list, stats, flash, job, jobText: describeJob(job), actions: USER_ACTIONS } };
    },

    'GET /admin/confirm/': async ({ query }) => {
      const name = query.get('action') ?? '';
      const target = await accounts.find(query.get('user'));
      if (!Object.hasOwn(USER_ACTIONS, name) || !target) return notFound();
      return confirmation(name, target, pageNumber(query.get('page')));
    },

    'POST /admin/confirm/': async ({ form }) => {
      const fields = await form();
      const name = fields.get('action') ?? '';
      const target = await accounts.find(fields.get('user'));
      if (!Object.hasOwn(USER_ACTIONS, name) || !target) return notFound();
      const action = /** @type {UserAction} */ (USER_ACTIONS[name]);
      const page = pageNumber(fields.get('page'));
      const value = action.field ? (fields.get(action.field.name) ?? '').trim() : '';
      if (action.field && value.length > action.field.maxLength) {
        // The page's maxlength stops this in a browser; a hand-made post gets the page back with the text kept.
        const error = `At most ${action.field.maxLength} characters; this has ${value.length}.`;
        return confirmation(name, target, page, { value, error }, 400);
      }
      await action.run(pictures, target.id, value);
      return { redirect: backTo(page, `done=${name}&user=${encodeURIComponent(target.id)}`) };
    },

    'POST /admin/regenerate/': async ({ form }) => {
      const started = admin.regenerate.start();
      return { redirect: backTo(pageNumber((await form()).get('page')), started ? '' : 'regenerate=busy') };
    },

    'POST /admin/regenerate/stop/': async ({ form }) => {
      await admin.regenerate.stop();
      return { redirect: backTo(pageNumber((await form()).get('page'))) };
    },

    'GET /admin/regenerate/status': async () => {
      const job = admin.regenerate.status();
      return { status: 200, json: { ...job, text: describeJob(job) } };
    },
  };

  return async (request) => {
    const route = routes[`${request.method === 'HEAD' ? 'GET' : request.method} ${request.path}`];
    if (!route) return null;
    const json = request.path.endsWith('/status');
    if (!request.user) {
      return json ? { status: 401, json: { error: { code: 'UNAUTHENTICATED', message: 'Sign in first.' } } } : { redirect: '/login/' };
    }
    if (!(await admin.isAdmin(request.user))) {
      return json
        ? { status: 403, json: { error: { code: 'FORBIDDEN', message: 'Administrators only.' } } }
        : { status: 403, page: errorPage, extra: { status: 403 } };
    }
    return route(request);
  };
}
