// Scale harness for the bulk operations (not run by CI). One operation per process so peak RSS is its own:
//   node bench/bulk-scale.mjs populate <pg-s3|sqlite-disk> <users>
//   node bench/bulk-scale.mjs orphans <pg-s3|sqlite-disk> <objects>
//   node bench/bulk-scale.mjs upload <pg-s3|sqlite-disk> <users>   (real uploads through sharp)
//   node bench/bulk-scale.mjs <noop|stats|sweep-dry|sweep|regenerate> <pg-s3|sqlite-disk>
// Needs `npm run build`. Env: PG_URL (a PostgreSQL of yours), S3_ENDPOINT (an s3rver with bucket `bulk`, started as
// test/processes/s3rver-server.mjs is, with --openssl-legacy-provider), BULK_DIR (SQLite file and disk root, default
// /tmp/bulk), BULK_OFFSET (first user number, to grow a population). `populate` writes records and 200-byte objects
// straight through the storage and the repository (no sharp): 3 variants + a master per user, ~2% tombstones, one
// extra orphan object per 20 users. `regenerate` runs with `sm` at 48 px instead of 64, so every picture is stale.
// It prints one JSON line: the operation's wall time and the process's peak RSS (compare with `noop`).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createProfilePictures, diskStorage } from '../dist/index.js';

const [op, backendName, count] = process.argv.slice(2);
const dir = process.env.BULK_DIR ?? '/tmp/bulk';
mkdirSync(dir, { recursive: true });

async function backends() {
  if (backendName === 'pg-s3') {
    const { default: pg } = await import('pg');
    const { postgresUserRepository } = await import('../dist/postgres.js');
    const { s3Storage } = await import('../dist/s3.js');
    const pool = new pg.Pool({ connectionString: process.env.PG_URL, max: 8 });
    const users = postgresUserRepository({ pool });
    await users.migrate();
    const storage = s3Storage({
      bucket: 'bulk',
      clientConfig: {
        endpoint: process.env.S3_ENDPOINT,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
    });
    return { users, storage, close: () => pool.end() };
  }
  const { openDatabase } = await import('../examples/shared/database.js');
  const { sqliteUserRepository } = await import('../examples/shared/sqlite-users.js');
  const db = openDatabase(path.join(dir, 'app.db'));
  return { users: sqliteUserRepository(db), storage: diskStorage({ root: path.join(dir, 'media') }), close: async () => db.close(), db };
}

const { users, storage, close, db } = await backends();
const body = randomBytes(200);
const meta = { contentType: 'image/webp' };

async function populate(n) {
  const insert = db?.prepare("INSERT OR IGNORE INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)");
  const now = new Date().toISOString();
  let next = Number(process.env.BULK_OFFSET ?? 0);
  const end = next + n;
  const worker = async () => {
    while (next < end) {
      const id = `u${String(next++).padStart(6, '0')}`;
      insert?.run(id, id, now, now);
      const upload = randomBytes(12).toString('base64url');
      const base = `profile_pictures/${id}/${upload}`;
      const variants = Object.fromEntries(
        [['sm', 64], ['md', 128], ['lg', 256]].map(([name, side]) => [name, { key: `${base}-${name}.webp`, width: side, height: side, bytes: 200 }]),
      );
      const master = { key: `${base}.master.${randomBytes(6).toString('hex')}.jpg`, width: 512, height: 512, bytes: 200, contentType: 'image/jpeg' };
      const keys = [...Object.values(variants).map((v) => v.key), master.key];
      if (next % 20 === 0) keys.push(`profile_pictures/${id}/orphan${randomBytes(6).toString('hex')}-sm.webp`);
      await Promise.all(keys.map((key) => storage.put(key, body, meta)));
      const tomb = next % 50 === 0;
      const record = {
        version: randomUUID(), contentHash: 'x'.repeat(64), contentType: 'image/webp',
        variants: tomb ? {} : variants, ...(tomb ? { removedAt: now, lock: { reason: 'r', at: now } } : { master }),
        createdAt: now, updatedAt: now,
      };
      await users.setPicture(id, record, null);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Real uploads through sharp: distinct 480×360 noise JPEGs (what `regenerate` then has to re-render). */
async function uploadReal(n) {
  const { default: sharp } = await import('sharp');
  const offset = Number(process.env.BULK_OFFSET ?? 0);
  const insert = db?.prepare("INSERT OR IGNORE INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, 'x', '', '')");
  for (let index = offset; index < offset + n; index++) {
    const id = `r${String(index).padStart(6, '0')}`;
    insert?.run(id, id);
    const image = await sharp(randomBytes(120 * 90 * 3), { raw: { width: 120, height: 90, channels: 3 } }).resize(480, 360).jpeg().toBuffer();
    await pictures.upload(id, image);
  }
  return { uploaded: n };
}

const started = performance.now();
let result;
const pictures = createProfilePictures({ storage, users, onOrphan: () => {}, variants: op === 'regenerate' ? { sm: 48, md: 128, lg: 256 } : undefined });
if (op === 'noop') result = null;
else if (op === 'orphans') {
  const keys = Array.from({ length: Number(count) }, (_, i) => `profile_pictures/o${i % 500}/${randomBytes(12).toString('hex')}-sm.webp`);
  for (let at = 0; at < keys.length; at += 16) await Promise.all(keys.slice(at, at + 16).map((key) => storage.put(key, body, meta)));
  result = { orphans: keys.length };
} else if (op === 'upload') result = await uploadReal(Number(count));
else if (op === 'populate') result = await populate(Number(count));
else if (op === 'stats') result = await pictures.stats();
else if (op === 'sweep-dry') result = { ...(await pictures.sweep({ olderThan: 0, dryRun: true })), keys: undefined };
else if (op === 'sweep') result = await pictures.sweep({ olderThan: 0 });
else if (op === 'regenerate') {
  let calls = 0;
  const r = await pictures.regenerate({ concurrency: 2, onProgress: () => calls++ });
  result = { ...r, failed: r.failed.length, calls };
} else throw new Error(`unknown op ${op}`);
const ms = performance.now() - started;
await pictures.flush?.();
await close();
console.log(JSON.stringify({ op, backend: backendName, ms: Math.round(ms), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), result }));
