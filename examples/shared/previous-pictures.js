// @ts-check
/** The profile page's *Use this picture* form, for both apps: restore a previous picture and say how it went. */
import { isProfilePictureError } from 'profile-picture';
import { refusalNotice } from './refusal-notice.js';

/**
 * Makes the user's previous picture `version` current again (`pictures.restore()`) and answers where to redirect:
 * the profile page with the same status query the library's own form posts use. A version the history no longer
 * holds (a stale page, pruned meanwhile) or another client error is shown on the page; other failures throw.
 * @param {import('profile-picture').ProfilePictures} pictures
 * @param {string} userId
 * @param {string} version from the form; empty when the field was missing
 * @param {(notice: import('./refusal-notice.js').RefusalNotice) => void} keep keeps a refusal's words for the
 *   page (a lock's reason, the wait before the next change: refusal-notice.js)
 * @returns {Promise<string>}
 */
export async function useThisPicture(pictures, userId, version, keep) {
  if (!version) return '/profile/?profile_picture_error=NOT_FOUND';
  try {
    await pictures.restore(userId, version);
    return '/profile/?profile_picture=restored';
  } catch (err) {
    if (!isProfilePictureError(err) || !err.expose) throw err;
    const notice = refusalNotice(err, userId);
    if (notice) keep(notice);
    return `/profile/?profile_picture_error=${err.code}`;
  }
}
