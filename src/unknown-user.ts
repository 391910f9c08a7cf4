/**
 * "No such user": how a repository that keeps records on the app's own user rows (a column of a `users` table)
 * says that a write names a user it has no row for, so the service answers `NOT_FOUND` (404) at once — rather than a
 * lost compare-and-set it would retry and report as `CONFLICT`, or a database failure (`STORAGE_FAILED`).
 */
import { ProfilePictureError, isProfilePictureError } from './errors.js';

/**
 * The `details.reason` of the `NOT_FOUND` error for a user the repository has no row for (see
 * {@link unknownUserError}), beside `'no-such-version'` (`restore()` of a version the user never had).
 * @example
 * ```ts
 * import { isProfilePictureError, UNKNOWN_USER_REASON } from 'profile-picture';
 * try {
 *   await pictures.lock(userId, 'Impersonation');
 * } catch (error) {
 *   if (!isProfilePictureError(error) || error.details?.reason !== UNKNOWN_USER_REASON) throw error;
 *   console.log(`no account ${userId}`); // deleted meanwhile, or a typo in the admin form
 * }
 * ```
 */
export const UNKNOWN_USER_REASON = 'no-such-user';

/** Longest user id an error quotes (ids are the app's, but a message is no place for a megabyte). */
const QUOTED_ID_LENGTH = 100;

/**
 * The error a `UserRepository`'s `setPicture` throws when the user has no row to hold a record: a
 * `ProfilePictureError` `NOT_FOUND` (404) with `details: { reason: 'no-such-user', userId }`. The service answers
 * with the same code and details (its own message, which the `messages` option can reword) and the repository's
 * error as `cause`, writes nothing, and leaves storage as it was. A repository that stores a record for any id
 * (`memoryUserRepository()`, `postgresUserRepository()` with its dedicated table) never throws it.
 * @param userId the id the write named.
 * @param message for logs, in the repository's words, e.g. which table has no such row: kept as the error's `cause`
 *   (`new Error(message)`), never as its message, which an HTTP client may see (a 404 body carries the message).
 *   The message is the library's: `There is no user with the id "42".`
 * @example
 * ```ts
 * async setPicture(userId, next, expected) {
 *   const { changes } = update.run(JSON.stringify(next), next?.version ?? null, userId, expected);
 *   if (changes === 0 && !exists.get(userId)) throw unknownUserError(userId, `no row in users with id ${userId}`);
 *   return changes === 1;
 * }
 * ```
 * @throws nothing; it returns the error to throw.
 */
export function unknownUserError(userId: string, message?: string): ProfilePictureError {
  return new ProfilePictureError('NOT_FOUND', undefined, {
    details: unknownUserDetails(userId),
    ...(message === undefined ? {} : { cause: new Error(message) }),
  });
}

/**
 * The `details` of the `NOT_FOUND` for an unknown user, built from the id alone: the service answers with these rather
 * than with a repository's error's, so a hand-made error cannot add fields to what the client sees.
 */
export function unknownUserDetails(userId: string): { reason: typeof UNKNOWN_USER_REASON; userId: string } {
  return { reason: UNKNOWN_USER_REASON, userId: String(userId).slice(0, QUOTED_ID_LENGTH) };
}

/** True for the error of {@link unknownUserError} (from any copy of the package). */
export function isUnknownUserError(error: unknown): error is ProfilePictureError {
  return isProfilePictureError(error) && error.code === 'NOT_FOUND' && error.details?.reason === UNKNOWN_USER_REASON;
}
