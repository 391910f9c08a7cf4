/**
 * The path policy: the only code that builds storage keys.
 *
 * A key is `<prefix>/<user-key>/<upload-id>-<variant>.<ext>`, or `<prefix>/<user-key>/<upload-id>.master.<random>.<ext>`
 * for the upload's master (a random part of its own, so no variant URL reveals it). Nothing the client sends (file
 * name, username, declared type) takes part; the user id appears only when it is already a safe slug, otherwise as
 * its hash. The upload id is 96 random bits drawn once per
 * upload, so no object is ever referenced by two uploads (DESIGN invariant 5): uploading the same bytes twice — a
 * double-click, a retry sent to another instance, going back to an earlier picture — writes new objects, and one
 * upload's clean-up (a replace, a rollback, a remove) can only ever delete objects that no other upload, in this
 * process or any other, will commit. Keys are written once and never change, so their URLs can be cached forever.
 */
import { createHash, randomBytes } from 'node:crypto';

/**
 * Lower case only: on a case-insensitive file system (macOS and Windows by default) `Alice` and `alice` would share
 * one directory, and `erase()` works by directory. Ids with capitals are hashed (case-sensitively) instead.
 */
const SAFE_USER_ID = /^[a-z0-9_-]{1,64}$/;
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** SHA-256 of `data` as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The directory segment for a user: the id itself when it is a safe lower-case slug, else `h.` and a hash of it. The dot cannot
 * occur in a safe slug, so no user id can be chosen to land in another user's directory (with a bare `h<hex>` form,
 * the user `h3f…` could share the directory of `"alice smith"`, and a listing of one user's prefix would show both).
 */
export function userKey(userId: string): string {
  return SAFE_USER_ID.test(userId) ? userId : `h.${sha256Hex(`profile-picture:user:${userId}`).slice(0, 40)}`;
}

/** Prefix (ending in `/`) under which all of a user's objects live. */
export function userPrefix(prefix: string, userId: string): string {
  return `${prefix}/${userKey(userId)}/`;
}

/** A fresh upload id: 24 lower-case hex digits (96 random bits), shared by the keys of one upload's variants. */
export function newUploadId(): string {
  return randomBytes(12).toString('hex');
}

/** The storage key of one variant of the upload `uploadId` (from {@link newUploadId}). */
export function variantKey(prefix: string, userId: string, uploadId: string, variant: string, ext: string): string {
  return `${userPrefix(prefix, userId)}${uploadId}-${variant}.${ext}`;
}

/**
 * The storage key of the master of the upload `uploadId`: `<upload-id>.master.<24 hex random>.<ext>`, still under the
 * user's prefix and still that upload's alone. The random part is drawn here, apart from the upload id: every
 * variant's URL shows the upload id, and a master key made from it alone could be guessed from any avatar URL and
 * fetched wherever the bucket is readable (a public bucket or CDN serves every key, not only those the app links
 * to). The dot after the upload id cannot occur in a variant key (variant names are letters, digits and `_`).
 */
export function masterKey(prefix: string, userId: string, uploadId: string, ext: string): string {
  return `${userPrefix(prefix, userId)}${uploadId}.master.${randomBytes(12).toString('hex')}.${ext}`;
}

/**
 * True when `key` names a master (see {@link masterKey}), in any letter case: on a case-insensitive disk (macOS and
 * Windows by default) `<ID>.MASTER.<R>.JPG` opens the master too, and so may a trailing dot on Windows.
 */
export function isMasterKey(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return /\.master(\.|$)/i.test(name);
}

/**
 * True when `key` is a relative `/`-separated path of safe segments: no `..`, no leading `/`, no backslash, no NUL,
 * no empty or dot segments. Storages call this before touching their backend.
 */
export function isSafeKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((segment) => SAFE_SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/** Throws a `TypeError` naming the key when it is unsafe. */
export function assertSafeKey(key: unknown): asserts key is string {
  if (!isSafeKey(key)) throw new TypeError(`[profile-picture] Unsafe storage key: ${JSON.stringify(String(key))}`);
}

/** True when `prefix` is empty or a safe key followed by `/` (a whole-segment prefix). */
export function isSafePrefix(prefix: string): boolean {
  return prefix === '' || (prefix.endsWith('/') && isSafeKey(prefix.slice(0, -1)));
}
