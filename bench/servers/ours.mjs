/**
 * Contender P (ours) and its variants: the library with default options but `master: false`, exactly as the README
 * wires it, on the framework named by FRAMEWORK (see frameworks.mjs) and the storage named by BENCH_STORAGE. P does
 * the same work as the peer, which keeps no master, and as P did before masters became the default; BENCH_MASTER=1
 * (contender R) keeps the defaults, master included, to show what it costs. `getUser` gives every
 * keep-alive connection its own user (the load is many users uploading, as in production, and
 * `limits.uploadsPerUser` applies per user); CSRF protection stays on (the bench client sends no Origin, like curl).
 *
 * With disk storage the Express mount also serves the storage root with `express.static` at `/static`, so the GET
 * comparison serves the very same file from the same kind of process.
 *
 * Env: BENCH_NAME (the contender's name in reports, default P), FRAMEWORK (default express), BENCH_STORAGE (`disk`,
 * the default, or `s3`), BENCH_MEDIA_DIR (disk storage root), BENCH_S3 (JSON `{ endpoint, bucket }` of an s3rver),
 * BENCH_MASTER (`1`: the defaults, each upload also stores a 2048 px master; otherwise `master: false`), BENCH_DIST
 * (the built package, default `<repo>/dist`).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FRAMEWORKS } from './frameworks.mjs';
import { serveBenchmark } from './harness.mjs';

const name = process.env.BENCH_NAME ?? 'P';
const framework = process.env.FRAMEWORK ?? 'express';
const storageKind = process.env.BENCH_STORAGE ?? 'disk';
const mount = FRAMEWORKS[framework];
if (!mount) throw new Error(`FRAMEWORK=${framework}: not one of ${Object.keys(FRAMEWORKS).join(', ')}`);
const root = process.env.BENCH_MEDIA_DIR;
if (!root) throw new Error('BENCH_MEDIA_DIR is required');
const dist = process.env.BENCH_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url));
const core = await import(pathToFileURL(path.join(dist, 'index.js')).href);

const media = path.join(root, 'ours');
const pictures = core.createProfilePictures({
  storage: await storageOf(storageKind),
  users: core.memoryUserRepository(),
  // Like-for-like with the peer unless BENCH_MASTER=1, which measures the defaults.
  ...(process.env.BENCH_MASTER === '1' ? {} : { master: false }),
});
/** One user per client connection. */
const users = new WeakMap();
let nextUser = 0;
const getUser = (req) => {
  if (!users.has(req.socket)) users.set(req.socket, { id: `bench-user-${++nextUser}` });
  return users.get(req.socket);
};

const handler = await mount({ dist, pictures, getUser, staticRoot: storageKind === 'disk' ? media : null });
serveBenchmark(handler, {
  name,
  info: { framework, storage: storageKind, master: pictures.options.master, concurrency: pictures.options.concurrency, maxQueue: pictures.options.maxQueue, media },
});

async function storageOf(kind) {
  if (kind === 'disk') return core.diskStorage({ root: media });
  if (kind !== 's3') throw new Error(`BENCH_STORAGE=${kind}: expected disk or s3`);
  const { endpoint, bucket } = JSON.parse(process.env.BENCH_S3 ?? 'null') ?? {};
  const { s3Storage } = await import(pathToFileURL(path.join(dist, 's3.js')).href);
  // s3rver's fixed credentials; path-style URLs because the bucket is not a DNS name on 127.0.0.1.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return s3Storage({ clientConfig: { endpoint, region: 'us-east-1', credentials, forcePathStyle: true }, bucket });
}
