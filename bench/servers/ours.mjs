/**
 * Contender P (ours): the Express adapter over `diskStorage` with default options, exactly as the README wires it.
 * `getUser` gives every keep-alive connection its own user (the load is many users uploading, as in production, and
 * `limits.uploadsPerUser` applies per user); CSRF protection stays on (the bench client sends no Origin, like curl).
 *
 * The same process also mounts `express.static` over the storage root at `/static`, so the GET comparison serves the
 * very same file from the same kind of process.
 *
 * Env: BENCH_MEDIA_DIR (storage root), BENCH_DIST (the built package, default `<repo>/dist`).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express from 'express';
import { serveBenchmark } from './harness.mjs';

const root = process.env.BENCH_MEDIA_DIR;
if (!root) throw new Error('BENCH_MEDIA_DIR is required');
const dist = process.env.BENCH_DIST ?? fileURLToPath(new URL('../../dist/', import.meta.url));
const core = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const { profilePictureRouter } = await import(pathToFileURL(path.join(dist, 'express.js')).href);

const media = path.join(root, 'ours');
const pictures = core.createProfilePictures({
  storage: core.diskStorage({ root: media }),
  users: core.memoryUserRepository(),
});
/** One user per client connection. */
const users = new WeakMap();
let nextUser = 0;
const userOf = (req) => {
  if (!users.has(req.socket)) users.set(req.socket, { id: `bench-user-${++nextUser}` });
  return users.get(req.socket);
};

const app = express();
app.use('/static', express.static(media, { maxAge: '1y', immutable: true }));
app.use(profilePictureRouter(pictures, { getUser: userOf }));

serveBenchmark(app, {
  name: 'P',
  info: { concurrency: pictures.options.concurrency, maxQueue: pictures.options.maxQueue, media },
});
