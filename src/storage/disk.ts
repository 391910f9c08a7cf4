/**
 * Local-disk storage.
 *
 * Every key is resolved under `root` and checked to stay inside it before any filesystem call (a string prefix
 * test is not enough: `/media-evil` starts with `/media`). Writes are atomic for readers: the bytes go to a temp
 * file in the target's own directory (same filesystem, so `rename` cannot fail with EXDEV), are fsynced, then
 * renamed over the target, and the directory is fsynced so the rename survives a crash.
 *
 * A process that dies mid-write leaves its temp file (`.tmp-…`) behind; `list()` never reports temp files, and
 * `sweepTemporary()` (called by the service's `sweep()`) deletes those older than its cutoff.
 *
 * The Content-Type is derived from the key's extension (the key policy always writes one), which keeps a read to one
 * `stat` plus the stream. ETags are content hashes, computed once per file version and cached by inode, size and
 * mtime, so they are stable for the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, opendir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, isSafePrefix } from '../keys.js';
import { etagOf } from './etag.js';
import type { ObjectInfo, PutMeta, StorageAdapter, StoredObject } from './types.js';

/** Options of {@link diskStorage}. */
export interface DiskStorageOptions {
  /** Directory that holds every object. Created on first write. Relative paths resolve against `process.cwd()`. */
  root: string;
}

const TEMP_PREFIX = '.tmp-';
/** Exactly the temp names `put` creates (`.tmp-<12 hex>-<target name>`): nobody else's `.tmp-…` file matches. */
const TEMP_NAME = /^\.tmp-[0-9a-f]{12}-/;
/**
 * Temp files of writes in progress in this process, by absolute path, across every `diskStorage` instance (two
 * instances may share a root): `sweepTemporary()` never takes them, whatever its cutoff.
 */
const writing = new Set<string>();
const ETAG_CACHE_LIMIT = 10_000;

const CONTENT_TYPES: Record<string, string> = {
  webp: 'image/webp',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  avif: 'image/avif',
  gif: 'image/gif',
};

/**
 * Stores objects as files under `root`.
 *
 * @example
 * ```ts
 * const storage = diskStorage({ root: './media' });
 * ```
 * @throws TypeError when `root` is missing or empty.
 */
export function diskStorage(options: DiskStorageOptions): StorageAdapter {
  if (typeof options?.root !== 'string' || options.root.length === 0) {
    throw new TypeError(
      `[profile-picture] Expected a non-empty string for \`diskStorage({ root })\` but received ${typeof options?.root}`,
    );
  }
  const root = path.resolve(options.root);
  const etags = new Map<string, { version: string; etag: string }>();

  function resolveKey(key: string): string {
    assertSafeKey(key);
    const file = path.resolve(root, ...key.split('/'));
    const relative = path.relative(root, file);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new TypeError(`[profile-picture] Storage key escapes the root: ${JSON.stringify(key)}`);
    }
    return file;
  }

  async function etagFor(file: string, version: string, handle: FileHandle): Promise<string> {
    const cached = etags.get(file);
    if (cached?.version === version) return cached.etag;
    const etag = etagOf(await handle.readFile());
    if (etags.size >= ETAG_CACHE_LIMIT) etags.delete(etags.keys().next().value as string);
    etags.set(file, { version, etag });
    return etag;
  }

  return {
    name: 'disk',

    async put(key: string, body: Uint8Array, _meta: PutMeta): Promise<void> {
      const file = resolveKey(key);
      const dir = path.dirname(file);
      const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${path.basename(file)}`);
      writing.add(temp);
      try {
        await writeDurably(dir, temp, body);
        try {
          await rename(temp, file);
        } catch (err) {
          await unlink(temp).catch(() => {});
          throw err;
        }
      } finally {
        writing.delete(temp);
      }
      await fsyncDirectory(dir);
    },

    async get(key: string): Promise<StoredObject | null> {
      const file = resolveKey(key);
      // Open first and read size, mtime, ETag and body through the one descriptor: a concurrent overwrite renames a
      // new inode into place, and mixing a `stat` of one version with a stream of the next would send a body whose
      // length and ETag do not match its headers.
      let handle;
      try {
        handle = await open(file, 'r');
      } catch (err) {
        if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
        throw err;
      }
      try {
        const info = await handle.stat();
        if (!info.isFile()) {
          await handle.close();
          return null;
        }
        const etag = await etagFor(file, `${info.ino}:${info.size}:${info.mtimeMs}`, handle);
        return {
          // `start: 0` makes the stream use positional reads, independent of where the ETag read left the offset.
          // An explicit `end` spares the extra read that would only report end-of-file (measurable on small files).
          body: handle.createReadStream(info.size > 0 ? { start: 0, end: info.size - 1 } : { start: 0 }),
          size: info.size,
          contentType: CONTENT_TYPES[path.extname(file).slice(1).toLowerCase()] ?? 'application/octet-stream',
          etag,
          lastModified: info.mtime,
        };
      } catch (err) {
        await handle.close().catch(() => {});
        throw err;
      }
    },

    async delete(key: string): Promise<void> {
      const file = resolveKey(key);
      try {
        await unlink(file);
      } catch (err) {
        if (!isMissing(err)) throw err;
        return;
      }
      etags.delete(file);
      await removeEmptyParents(root, path.dirname(file));
    },

    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      if (!isSafePrefix(prefix)) throw new TypeError(`[profile-picture] Unsafe storage prefix: ${JSON.stringify(prefix)}`);
      const start = prefix === '' ? root : resolveKey(prefix.slice(0, -1));
      yield* walk(root, start);
    },

    async sweepTemporary(prefix: string, before: Date): Promise<number> {
      if (!isSafePrefix(prefix)) throw new TypeError(`[profile-picture] Unsafe storage prefix: ${JSON.stringify(prefix)}`);
      const start = prefix === '' ? root : resolveKey(prefix.slice(0, -1));
      let removed = 0;
      for await (const file of temporaryFiles(start)) {
        if (writing.has(file)) continue;
        const info = await stat(file).catch(() => null);
        if (!info || info.mtime >= before) continue; // gone, or a write in another process that may still be running
        try {
          await unlink(file);
        } catch {
          continue; // removed by another sweeper meanwhile, or not removable: skip it
        }
        removed++;
        await removeEmptyParents(root, path.dirname(file));
      }
      return removed;
    },

    async dispose(): Promise<void> {
      etags.clear();
    },
  };
}

// --- internal ---

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Writes `body` to a new temp file (`wx`: never clobbers) and fsyncs it; removes the temp file on any failure. */
async function writeDurably(dir: string, temp: string, body: Uint8Array): Promise<void> {
  // A concurrent delete of a directory's last file removes the directory (and emptied parents), which can happen
  // during mkdir's own walk or between mkdir and open: both are retried a few times.
  for (let attempt = 0; ; attempt++) {
    let handle;
    try {
      await mkdir(dir, { recursive: true });
      handle = await open(temp, 'wx', 0o644);
    } catch (err) {
      if (isMissing(err) && attempt < 5) continue;
      throw err;
    }
    try {
      await handle.writeFile(body);
      await handle.sync();
      await handle.close();
      return;
    } catch (err) {
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw err;
    }
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  // Not every platform lets a directory be opened for fsync (Windows); durability there is best effort.
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close().catch(() => {});
}

/** Removes now-empty directories from `dir` up to (not including) `root`, so deleted users leave no folders. */
async function removeEmptyParents(root: string, dir: string): Promise<void> {
  while (dir !== root && dir.startsWith(root + path.sep)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or already gone): stop climbing
    }
    dir = path.dirname(dir);
  }
}

/**
 * Every regular file under `dir`, at any depth, temp files included. Depth first, descending into a directory as
 * soon as it is read: collecting a directory's subdirectories before descending made the first step read the whole
 * prefix directory — one entry per user — and a caller times each step (`timeouts.storageMs`), so a large install's
 * listing failed before its first object. An open handle per level (the prefix, a user): a few at most.
 */
async function* filesUnder(dir: string): AsyncIterable<{ file: string; name: string }> {
  let handle;
  try {
    handle = await opendir(dir);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for await (const entry of handle) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(file);
    else if (entry.isFile()) yield { file, name: entry.name };
  }
}

/** Every temp file `put` may have left under `dir`. */
async function* temporaryFiles(dir: string): AsyncIterable<string> {
  for await (const { file, name } of filesUnder(dir)) if (TEMP_NAME.test(name)) yield file;
}

/** Every object under `dir` (temp files are not objects). */
async function* walk(root: string, dir: string): AsyncIterable<ObjectInfo> {
  for await (const { file, name } of filesUnder(dir)) {
    if (name.startsWith(TEMP_PREFIX)) continue;
    const info = await stat(file).catch(() => null);
    if (info) yield { key: path.relative(root, file).split(path.sep).join('/'), size: info.size, lastModified: info.mtime };
  }
}
