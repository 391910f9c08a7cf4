/**
 * `erase()` and `export()`: everything the service holds about one user, deleted or handed over.
 *
 * Both work from the user's key prefix (keys.ts `userPrefix`, a whole path segment: `u1/` never matches `u10/…`)
 * rather than from the record's fields, so whatever an upload ever wrote there — current variants, anything a
 * record references in fields added later, leftovers of crashed or rolled-back uploads, replaced pictures whose
 * clean-up has not run yet — is covered without this file knowing the record's shape.
 *
 * Erase, in passes (at most {@link ERASE_PASSES}): compare-and-set the record to an **erased tombstone** — no picture,
 * no history, a fresh `erasure` marker, and the admin's `lock` if there was one (a lock is the site's decision about
 * the user, not the user's data; it survives so erasing a locked user's data does not unlock them) and the change
 * times `limits.changes` counts (so erasing is no way around the limit) — then list the prefix, delete what it lists,
 * remove the storage's own leftovers there (`sweepTemporary`); done at the first pass that found no picture in the
 * record and nothing to delete.
 *
 * The marker is what makes this exact across processes (DESIGN invariant 7). Every upload reads the record before it
 * writes any object and remembers its `erasure`; its commit refuses (`CONFLICT`, `details.reason: 'erased'`) and rolls
 * back when the marker changed (upload-gate.ts). A pass that deletes objects is followed by another pass, whose fresh
 * marker refuses every upload that read an earlier one (and replaces the record of one that committed before it), so no
 * record is left naming an object a pass deleted; an upload that read the last pass's marker wrote its objects after
 * that pass's listing (else the pass would have found them), so it is a new picture, left alone. An erase that stops
 * after a pass deleted objects (a failed delete, `ABORTED`, `CONFLICT`) writes one more marker before it rejects, for
 * the same reason: an upload that read the marker of that pass may have written objects the pass deleted. So when
 * `erase()` resolves, no upload that overlapped it can commit, in any process. The in-process guard (erase-guard.ts)
 * only makes this process's overlapping uploads (and regenerations) fail the same way without waiting for their
 * re-read. One gap remains, as after `remove()`: a `setPicture` that timed out before the erase may still land on the
 * database after it.
 *
 * The tombstone (`variants: {}`, so `get()` answers null) stays: it holds the marker (and the lock). It holds nothing
 * about the user but the time of the erase; delete the whole row when you delete the user.
 */
import { randomUUID } from 'node:crypto';
import type { BackendCall } from './backend-call.js';
import { isProfilePictureError, type ErrorFactory } from './errors.js';
import type { EraseGuard } from './erase-guard.js';
import { isMasterKey, isSafeKey, userPrefix } from './keys.js';
import type { KeyedMutex } from './mutex.js';
import type { ResolvedOptions } from './options.js';
import type { ObjectInfo } from './storage/types.js';
import { hasPicture, withoutPicture } from './record-state.js';
import { isUnknownUserError } from './unknown-user.js';
import { walkKeys } from './held-keys.js';
import type { PictureRecord } from './users/types.js';

/** Options of {@link ProfilePictures.erase}. */
export interface EraseOptions {
  /** Stops erasing between steps (`ABORTED`); what was deleted stays deleted, and calling `erase()` again finishes. */
  signal?: AbortSignal;
}

/** What {@link ProfilePictures.erase} deleted. */
export interface EraseReceipt {
  /** Stored objects deleted from under the user's prefix. */
  objects: number;
  /**
   * Their total size in bytes, as the storage listed them (for objects the record referenced outside the user's
   * prefix, as the record gave it).
   */
  bytes: number;
  /**
   * Storage leftovers removed under the prefix (for `diskStorage`, temp files of writes a crashed process never
   * finished); 0 when the storage has no `sweepTemporary()`. Not counted in `objects` or `bytes`.
   */
  temporary: number;
}

/** One stored object in a {@link PictureExport}. */
export interface ExportedObject {
  /** Storage key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** MIME type the object was stored with, as the storage reports it. */
  contentType: string;
  /** ISO-8601 time it was written. */
  lastModified: string;
  /**
   * Where it is served: the storage's `url()` when it has one, else `publicPath + key`. Absent for masters (option
   * `master`), which are never served: their bytes are in storage only.
   */
  url?: string;
  /**
   * Fields of `record` that hold this key, as dotted paths (`'variants.md.key'`); empty when none does.
   */
  referencedBy: string[];
  /**
   * True when the record does not reference it: a leftover of a crashed or failed upload, a replaced picture whose
   * clean-up has not run yet, or an upload in flight. `sweep()` removes such objects once past its grace period.
   */
  leftover: boolean;
}

/**
 * Everything the service holds about one user, from {@link ProfilePictures.export}. Plain JSON: `JSON.stringify` it
 * as is.
 * @example
 * ```json
 * { "userId": "42", "exportedAt": "2026-12-02T04:00:00.000Z",
 *   "record": { "version": "…", "variants": { "md": { "key": "profile_pictures/42/…-md.webp", … } }, … },
 *   "objects": [{ "key": "profile_pictures/42/…-md.webp", "size": 5120, "contentType": "image/webp",
 *     "lastModified": "…", "url": "/media/profile_pictures/42/…-md.webp", "referencedBy": ["variants.md.key"],
 *     "leftover": false }],
 *   "missing": [] }
 * ```
 */
export interface PictureExport {
  userId: string;
  /** ISO-8601 time of the export. */
  exportedAt: string;
  /** The user's record as the repository holds it, or null. */
  record: PictureRecord | null;
  /** Every object stored under the user's prefix, sorted by key (one that vanished while being read is left out). */
  objects: ExportedObject[];
  /** Keys under the user's prefix that the record references but storage does not hold (normally none). */
  missing: string[];
}

/** What {@link createPrivacy} needs from the service. */
export interface PrivacyDependencies {
  resolved: ResolvedOptions;
  backend: BackendCall;
  fail: ErrorFactory;
  lock: KeyedMutex;
  guard: EraseGuard;
  /**
   * Compare-and-sets the record to `next(current)` (retrying like `remove()`, always writing); resolves the record
   * it replaced, or null.
   */
  swapRecord(userId: string, next: (current: PictureRecord | null) => PictureRecord): Promise<PictureRecord | null>;
  /** Deletes `keys` (batched where the storage can); resolves the failures. */
  deleteKeys(keys: string[]): Promise<unknown[]>;
  /** The public URL of a key. */
  urlOf(key: string): string;
}

/** Passes an erase makes before giving up with `CONFLICT` (uploads keep committing or writing in other processes). */
export const ERASE_PASSES = 5;
/** Export reads the record again after listing; it retries this often when an upload committed in between. */
const EXPORT_ATTEMPTS = 3;
/** Objects `export()` reads at once for their content type. */
const EXPORT_CONCURRENCY = 4;

/**
 * Creates `erase()` and `export()` for one service. See the module comment.
 * @example
 * ```ts
 * const privacy = createPrivacy({ resolved, backend, fail, lock, guard, swapRecord, deleteKeys, urlOf });
 * await privacy.erase('42'); // { objects: 3, bytes: 20480, temporary: 0 }
 * ```
 */
export function createPrivacy(deps: PrivacyDependencies) {
  const { resolved, backend, fail, lock, guard } = deps;
  const { storage } = resolved;
  /** Where every user's objects live; a record's keys outside the user's own prefix are still under it. */
  const servicePrefix = `${resolved.prefix}/`;

  /**
   * Every object under `prefix` with a safe key (a stray `.DS_Store` is not ours). The prefix is checked here too:
   * erase deletes what this returns, so a custom storage whose `list()` strays past its prefix must not make it
   * delete another user's objects.
   */
  async function listObjects(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    for await (const object of backend.iterate('list', () => storage.list(prefix))) {
      if (isSafeKey(object.key) && object.key.startsWith(prefix)) objects.push(object);
    }
    return objects;
  }

  async function erase(userId: string, { signal }: EraseOptions = {}): Promise<EraseReceipt> {
    const prefix = userPrefix(resolved.prefix, userId);
    const stop = () => {
      if (signal?.aborted) throw fail('ABORTED', { details: { operation: 'erase' }, cause: signal.reason });
    };
    stop();
    const end = guard.begin(userId);
    try {
      // The lock spares this process's uploads of the user compare-and-set retries against our passes.
      return await lock(userId, async () => {
        const deleted = new Map<string, number>();
        let temporary = 0;
        /** True once this pass may have deleted objects: an upload holding its marker could commit them missing. */
        let deletedSinceMarker = false;
        try {
          for (let pass = 0; pass < ERASE_PASSES; pass++) {
            stop();
            // A fresh marker before the listing: an upload that read the record before this cannot commit (see above).
            const cleared = await markErased(userId);
            deletedSinceMarker = false;
            // A record's objects outside today's prefix (written under an earlier prefix or key policy) go with it.
            const objects = [...(await listObjects(prefix)), ...referencedElsewhere(cleared, prefix, servicePrefix)];
            stop();
            deletedSinceMarker = objects.length > 0;
            const failures = await deps.deleteKeys(objects.map((object) => object.key));
            if (failures.length > 0) throw failures[0];
            for (const object of objects) if (!deleted.has(object.key)) deleted.set(object.key, object.size);
            const sweepTemporary = storage.sweepTemporary?.bind(storage);
            // Cutoff "now": every temp file but those of writes in progress in this process (disk), whose uploads fail.
            const removed = sweepTemporary ? await backend('sweepTemporary', () => sweepTemporary(prefix, new Date())) : 0;
            temporary += removed;
            if (!heldUserData(cleared) && objects.length === 0 && removed === 0) {
              let bytes = 0;
              for (const size of deleted.values()) bytes += size;
              return { objects: deleted.size, bytes, temporary };
            }
          }
          throw fail('CONFLICT', { details: { operation: 'erase' } });
        } catch (error) {
          // Leaving after a pass deleted objects (a failed delete, ABORTED, CONFLICT): an upload elsewhere that read
          // this pass's marker may have had objects deleted and could still commit them. A last marker refuses it.
          // Best effort: the error that ended the erase is what the caller needs, and erasing again finishes the job.
          if (deletedSinceMarker) await markErased(userId).catch(() => {});
          throw error;
        }
      });
    } finally {
      end();
    }
  }

  /**
   * Writes a pass's fresh marker; resolves the record it replaced. A repository that keeps records only for users it
   * has a row for (the example's SQLite one, `postgresUserRepository` with `column`) refuses the write for a user
   * without one (`NOT_FOUND`, unknown-user.ts): an upload's commit is refused there too, so the pass goes on unmarked
   * and still deletes what is left under the user's prefix (the app deleted the row first). A repository written
   * before `unknownUserError()` existed answers `false` instead, which ends in `CONFLICT` while it reads null.
   */
  async function markErased(userId: string): Promise<PictureRecord | null> {
    const now = new Date().toISOString();
    try {
      return await deps.swapRecord(userId, (current) => erasedRecord(current, randomUUID(), randomUUID(), now));
    } catch (error) {
      if (isUnknownUserError(error)) return null;
      const refused = isProfilePictureError(error) && error.code === 'CONFLICT';
      if (refused && (await backend('getPicture', () => resolved.users.getPicture(userId))) === null) return null;
      throw error;
    }
  }

  async function exportUser(userId: string): Promise<PictureExport> {
    const prefix = userPrefix(resolved.prefix, userId);
    let record: PictureRecord | null = null;
    let listed: ObjectInfo[] = [];
    for (let attempt = 0; attempt < EXPORT_ATTEMPTS; attempt++) {
      record = await backend('getPicture', () => resolved.users.getPicture(userId));
      listed = await listObjects(prefix);
      const after = await backend('getPicture', () => resolved.users.getPicture(userId));
      // An upload committed while we listed: list again, so `referencedBy` and `leftover` describe one moment.
      if ((after?.version ?? null) === (record?.version ?? null)) break;
    }
    const references = keyReferences(record, servicePrefix);
    const everything = [...listed, ...referencedElsewhere(record, prefix, servicePrefix)].sort(byKey);
    const objects = (await inBatches(everything, EXPORT_CONCURRENCY, (object) => describe(object, references)))
      .filter((object): object is ExportedObject => object !== null);
    const held = new Set(objects.map((object) => object.key));
    return {
      userId,
      exportedAt: new Date().toISOString(),
      record,
      objects,
      missing: [...references.keys()].filter((key) => !held.has(key)).sort(),
    };
  }

  /** The export entry of one listed object; null when it was deleted since the listing. */
  async function describe(object: ObjectInfo, references: Map<string, string[]>): Promise<ExportedObject | null> {
    const stored = await backend('get', () => storage.get(object.key), { late: (late) => late?.body.destroy() });
    if (!stored) return null;
    stored.body.destroy(); // only the metadata is wanted
    const referencedBy = references.get(object.key) ?? [];
    return {
      key: object.key,
      size: stored.size,
      contentType: stored.contentType,
      lastModified: (stored.lastModified ?? object.lastModified).toISOString(),
      // The media route refuses masters (and a public bucket should deny them): a URL here would answer 404.
      ...(isMasterKey(object.key) ? {} : { url: deps.urlOf(object.key) }),
      referencedBy,
      leftover: referencedBy.length === 0,
    };
  }

  return { erase, export: exportUser };
}

/**
 * What an erase leaves of `current`: a tombstone (record-state.ts) holding a fresh `erasure` marker, the admin's
 * `lock` and the change times `limits.changes` counts, if any — no picture and no history; `createdAt` is the erase's
 * time. The change times stay so that erasing is no way around the change limit; they are pruned to the limit's
 * window at the next change.
 * @example
 * ```ts
 * erasedRecord(current, randomUUID(), randomUUID(), new Date().toISOString());
 * // { version, contentHash: '', contentType: '', variants: {}, createdAt, updatedAt, removedAt, erasure, lock? }
 * ```
 */
export function erasedRecord(current: PictureRecord | null, erasure: string, version: string, now: string): PictureRecord {
  const { lock, changes } = current ?? {};
  const kept = { ...(lock ? { lock } : {}), ...(Array.isArray(changes) && changes.length > 0 ? { changes } : {}) };
  return withoutPicture({ createdAt: now } as PictureRecord, version, now, { erasure, ...kept })!;
}

// --- internal ---

/** True when an erase pass found a picture of the user's in the record: a current one, or history. */
function heldUserData(record: PictureRecord | null): boolean {
  return hasPicture(record) || (record?.history?.length ?? 0) > 0;
}

/**
 * Every string in `record` that is a key under `prefix`, with the dotted paths of the fields holding it. Walks the
 * whole record (held-keys.ts, as `sweep()` does), so fields added later (a master, history) count without this
 * function knowing them.
 */
function keyReferences(record: PictureRecord | null, prefix: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  walkKeys(record, prefix, (key, path) => found.set(key, [...(found.get(key) ?? []), path().join('.')]));
  return found;
}

/**
 * The objects `record` references under `servicePrefix` but outside the user's `prefix` (a record written under an
 * earlier key policy), sized from the record's own `bytes` fields (0 where it has none); the storage is not asked.
 */
function referencedElsewhere(record: PictureRecord | null, prefix: string, servicePrefix: string): ObjectInfo[] {
  const objects = new Map<string, ObjectInfo>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    const { key, bytes } = value as { key?: unknown; bytes?: unknown };
    if (isSafeKey(key) && key.startsWith(servicePrefix) && !key.startsWith(prefix)) {
      const size = typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : 0;
      objects.set(key, { key, size, lastModified: new Date(0) });
    }
    Object.values(value).forEach(walk);
  };
  walk(record);
  return [...objects.values()];
}

function byKey(a: ObjectInfo, b: ObjectInfo): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** `run` over `items`, at most `concurrency` at once, results in input order. */
async function inBatches<T, R>(items: readonly T[], concurrency: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
