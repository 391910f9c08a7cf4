// @ts-check
/**
 * The words of a refused picture change for the page a plain form post (no JavaScript) is redirected to. The
 * library's redirect names only the code (`/profile/?profile_picture_error=LOCKED`), never text, so a crafted link
 * cannot put words on the page. Two refusals depend on the user's state, not only on the code: `LOCKED` (the admin's
 * reason) and `TOO_MANY_CHANGES` (how long to wait, `details.retryAfter`). For those the app keeps the library's own
 * message — what the widget shows from the JSON answer, e.g. "…try again in 5 minutes." — in the session, for the
 * next profile page only; the page escapes it like any text. The notice names the user it was kept for: a session
 * that outlives a login (koa-session's `regenerate()` keeps its data) must not show one user's lock reason to the
 * next user signed in with the same browser.
 */
import { isProfilePictureError } from 'profile-picture';

/** @typedef {{ userId: string, code: string, text: string }} RefusalNotice */

/** Codes whose message says more than the code: the lock's reason, the wait. */
const STATEFUL = new Set(['LOCKED', 'TOO_MANY_CHANGES']);

/**
 * What to keep in the session for a refusal, or undefined when the code alone says it all.
 * @param {unknown} err the error of a refused upload, remove or restore
 * @param {string} userId the signed-in user it was refused to
 * @returns {RefusalNotice | undefined}
 */
export function refusalNotice(err, userId) {
  return isProfilePictureError(err) && STATEFUL.has(err.code) ? { userId, code: err.code, text: err.message } : undefined;
}

/**
 * Takes the kept notice out of `session` (it is shown once) and answers its text when it was kept for `userId` and
 * belongs to the refusal the page's query names; undefined otherwise (the page then words the code itself).
 * @param {{ pictureNotice?: RefusalNotice | undefined } | null | undefined} session
 * @param {URLSearchParams} query
 * @param {string} userId the signed-in user the page is for
 * @returns {string | undefined}
 */
export function takeRefusalNotice(session, query, userId) {
  const notice = session?.pictureNotice;
  if (!session || !notice) return undefined;
  delete session.pictureNotice;
  return notice.userId === userId && notice.code === query.get('profile_picture_error') ? notice.text : undefined;
}
