import type { PicturePreview } from '../preview.js';

/** One rendered size of a picture. */
export interface PictureVariant {
  /** Storage key of the object. */
  key: string;
  /** Pixel width of the stored image. */
  width: number;
  /** Pixel height of the stored image. */
  height: number;
  /** Size of the stored object in bytes. */
  bytes: number;
}

/**
 * The clean master of a picture: the upload oriented, cropped as asked, metadata stripped, sRGB, downscaled to at
 * most `master.maxSide` and re-encoded. `regenerate()` renders variants from it; it is never served by the media route.
 */
export interface PictureMaster {
  /** Storage key of the object (`<upload-id>.master.<random>.<ext>`: not derivable from a variant's key). */
  key: string;
  /** Pixel width of the stored image (displayed orientation). */
  width: number;
  /** Pixel height of the stored image. */
  height: number;
  /** Size of the stored object in bytes. */
  bytes: number;
  /** `image/jpeg`, or `image/webp` for pictures with transparency. */
  contentType: string;
  /** The crop the upload asked for, in the uploaded image's pixels (after EXIF orientation); absent when none. */
  crop?: { left: number; top: number; width: number; height: number };
}

/**
 * How a record's variants were encoded, so `regenerate()` can tell that an encoding change (quality alone
 * included) leaves the record stale. Records written before it existed have none (see `regenerate()`).
 */
export interface PictureRendition {
  /** `output.format` at render time. */
  format: string;
  /** `output.quality` at render time. */
  quality: number;
  /** `position` at render time; it only shaped the variants of a record whose master has no crop. */
  position: string;
}

/**
 * A user's current picture. A plain JSON-serialisable object: store it in one JSON column or map it to columns.
 */
export interface PictureRecord {
  /** Changes on every write; the compare-and-set token for {@link UserRepository.setPicture}. */
  version: string;
  /**
   * SHA-256 (hex) over the rendered variants' bytes: equal for two uploads of the same picture, whose objects still
   * live under keys of their own (each upload's keys carry a random upload id).
   */
  contentHash: string;
  /** MIME type shared by all variants, e.g. `image/webp`. */
  contentType: string;
  /** The rendered variants by name (`sm`, `md`, `lg` by default). */
  variants: Record<string, PictureVariant>;
  /** The master the variants were rendered from; absent with `master: false` and on records older than masters. */
  master?: PictureMaster;
  /** How the variants were encoded; absent on records older than it. */
  rendition?: PictureRendition;
  /**
   * Average colour and ThumbHash to show while the picture loads. Absent from records written before previews existed
   * (and from records an app builds itself): treat it as optional.
   */
  preview?: PicturePreview;
  /**
   * Only when `variants` are animated (option `animated`): the first frame of each, by the same names, for places
   * that must not move. Absent from every other record, whose variants are stills already.
   */
  stills?: Record<string, PictureVariant>;
  /** ISO-8601 time the user first got a picture (kept across replacements). */
  createdAt: string;
  /** ISO-8601 time of this picture's upload (of the removal, on a tombstone). */
  updatedAt: string;
  /**
   * Only on a **tombstone**: a record with `variants: {}` and no current picture, kept because it still holds user
   * state (`history`, `lock`, `changes`, `erasure`). ISO-8601 time the picture was removed. `pictures.get()` answers
   * `null` for a tombstone; code reading records from the database directly must treat `variants: {}` as "no picture".
   */
  removedAt?: string;
  /** Previous pictures, newest first (option `history`); each keeps its objects until pruned. */
  history?: PictureHistoryEntry[];
  /** Set while the user is locked (`pictures.lock()`): uploads are refused with `LOCKED`. */
  lock?: PictureLock;
  /** ISO-8601 times of the user's recent picture changes, oldest first (option `limits.changes`). */
  changes?: string[];
  /** Marks the user's last erase (`pictures.erase()`); an upload that started before it cannot commit after it. */
  erasure?: string;
  /** Only on a record made by `pictures.restore()`: the version of the history entry it restored. */
  restoredFrom?: string;
}

/**
 * A previous picture kept in {@link PictureRecord.history} (option `history`): the picture fields of the record it was
 * — its `version` is what `pictures.restore()` takes, its `updatedAt` when it became current (upload or restore) — with its objects, held
 * until pruned.
 */
export type PictureHistoryEntry = Pick<
  PictureRecord,
  'version' | 'contentHash' | 'contentType' | 'variants' | 'stills' | 'master' | 'rendition' | 'preview' | 'updatedAt'
> & {
  /** ISO-8601 time it stopped being the current picture. */
  replacedAt: string;
};

/** Why and since when a user may not change their picture. */
export interface PictureLock {
  /** The admin's reason, shown to the user in the `LOCKED` error's `details.reason`. */
  reason: string;
  /** ISO-8601 time of the lock. */
  at: string;
}

/**
 * Where the app keeps each user's {@link PictureRecord}. Writes are compare-and-set so concurrent uploads by one
 * user can never orphan objects.
 */
export interface UserRepository {
  /** The user's current record, or `null` when they have none (or are unknown). */
  getPicture(userId: string): Promise<PictureRecord | null>;
  /**
   * Sets (or, with `next === null`, clears) the user's record if and only if its current version equals
   * `expected` (`null` = "has no picture"). Resolves `false`, changing nothing, when another write won.
   * When the user has no row to hold a record (a picture column on the app's users table, and no row with that id),
   * throw `unknownUserError(userId)`: the service answers `NOT_FOUND` (404) at once — a `false` it would retry
   * against fresh state and end with `CONFLICT`. For any other failure, throw the database's error: the service
   * reports it at once as `STORAGE_FAILED` with the error as `cause`.
   */
  setPicture(userId: string, next: PictureRecord | null, expected: string | null): Promise<boolean>;
  /**
   * Every stored record, one `{ userId, record }` per user with a stored record (a tombstone — `variants: {}`, no
   * picture, see `PictureRecord.removedAt` — included). Lets `sweep()` know which objects are referenced. Optional in the type, but without it `sweep()` throws; the conformance suite requires it unless told
   * the repository has none.
   *
   * Writes go on while it runs (other requests, other processes, and the caller itself between two yields), so:
   * - a user whose record exists from the start to the end of the iteration is yielded **exactly once**, with a
   *   record it had at some moment during the iteration (`sweep()` would otherwise delete objects still in use);
   * - a user whose record is set or cleared meanwhile is yielded at most once, with any record it had (or not at
   *   all);
   * - a write while the iteration is suspended neither fails nor waits for it: walk the rows in pages (keyset, by
   *   user id) rather than holding one statement, cursor or connection open across yields.
   */
  listPictures?(): AsyncIterable<{ userId: string; record: PictureRecord }>;
}
