// @ts-check
/**
 * A user's picture and lock from one read of their stored record. `pictures.get()` answers null for a user whose
 * record is a tombstone (no picture, but a lock or history kept: the library's record-state.ts), so it cannot tell
 * whether a user without a picture is locked; the repository the service was built with can.
 */

import { hasPicture } from 'profile-picture';

/** @typedef {import('profile-picture').PictureRecord} PictureRecord */
/** @typedef {import('profile-picture').PictureLock} PictureLock */
/** @typedef {{ picture: PictureRecord | null, lock: PictureLock | null }} PictureState */

/**
 * @param {import('profile-picture').ProfilePictures} pictures
 * @param {string} userId
 * @returns {Promise<PictureState>}
 */
export async function pictureState(pictures, userId) {
  const record = await pictures.options.users.getPicture(userId);
  // A tombstone (`variants: {}`) is no current picture, as `pictures.get()` would say.
  const picture = hasPicture(record) ? record : null;
  return { picture, lock: record?.lock ?? null };
}
