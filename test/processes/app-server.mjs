// An app instance in its own Node process, as users run one: the built package (`dist/`, through the package's
// self-reference), Express or Koa, the routers' default options. Tests start it with test/processes/app-process.ts,
// which passes the configuration as JSON in PP_APP_CONFIG:
//   { adapter: 'express' | 'koa', storage: StorageConfig, users?: UsersConfig, service?: object,
//     holdPuts?: { match: regexp source, until: file path } }
//   StorageConfig: { kind: 'disk', root } | { kind: 's3', endpoint, bucket, keyPrefix?, region, credentials }
//   UsersConfig:   { kind: 'memory' } (default) | { kind: 'sqlite', file } | { kind: 'postgres', url, table? }
// SQLite (the example app's repository) and PostgreSQL records can be shared by several processes. Users come from
// the `x-test-user` header. `GET /__process` answers this process's memory figures, so a test can check the peak
// RSS of the server that handled its requests; `POST /__sweep?olderThan=ms` runs `pictures.sweep()` here,
// `POST /__regenerate` runs `pictures.regenerate()` and waits for its background deletes. Prints
// `listening <port>` once ready.
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createProfilePictures, diskStorage, memoryUserRepository } from 'profile-picture';

const config = JSON.parse(process.env.PP_APP_CONFIG ?? '{}');
const pictures = createProfilePictures({
  storage: holdPuts(await storageOf(config.storage), config.holdPuts),
  users: await usersOf(config.users ?? { kind: 'memory' }),
  ...config.service,
});

async function storageOf(storage) {
  if (storage.kind === 'disk') return diskStorage({ root: storage.root });
  const { s3Storage } = await import('profile-picture/s3');
  const { endpoint, bucket, keyPrefix, region, credentials } = storage;
  return s3Storage({ clientConfig: { endpoint, region, credentials, forcePathStyle: true }, bucket, keyPrefix });
}

/**
 * `holdPuts: { match, until }`: puts of keys matching the regular expression `match` wait until the file `until`
 * exists, so a test can act (erase, lock) between this process's first writes of an upload and its commit.
 */
function holdPuts(storage, hold) {
  if (!hold) return storage;
  const match = new RegExp(hold.match);
  const released = async () => {
    while (!existsSync(hold.until)) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  return { ...storage, put: async (key, bytes, meta) => (match.test(key) && (await released()), storage.put(key, bytes, meta)) };
}

async function usersOf(users) {
  if (users.kind === 'memory') return memoryUserRepository();
  if (users.kind === 'sqlite') {
    const { openDatabase } = await import('../../examples/shared/database.js');
    const { sqliteUserRepository } = await import('../../examples/shared/sqlite-users.js');
    return sqliteUserRepository(openDatabase(users.file));
  }
  const { default: pg } = await import('pg');
  const { postgresUserRepository } = await import('profile-picture/postgres');
  const pool = new pg.Pool({ connectionString: users.url, max: 4 });
  const repository = postgresUserRepository({ pool, ...(users.table ? { table: users.table } : {}) });
  await repository.migrate(); // every instance at start, concurrently: safe
  return repository;
}

const getUser = (headers) => {
  const id = headers['x-test-user'];
  return typeof id === 'string' && id !== '' ? { id } : null;
};

/** The test-only routes: `[status, JSON body]`, or null when the request is not one of them. */
async function testRoute(method, url) {
  if (method === 'GET' && url === '/__process') return [200, processFigures()];
  if (method === 'POST' && url.startsWith('/__sweep')) {
    const olderThan = Number(new URL(url, 'http://x').searchParams.get('olderThan') ?? 0);
    return [200, JSON.stringify(await pictures.sweep({ olderThan }))];
  }
  if (method === 'POST' && url === '/__regenerate') {
    const result = await pictures.regenerate();
    await pictures.flush();
    return [200, JSON.stringify(result)];
  }
  return null;
}

function processFigures() {
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, rss, heapUsed, external, arrayBuffers });
}

async function expressApp() {
  const { default: express } = await import('express');
  const { profilePictureRouter } = await import('profile-picture/express');
  const app = express();
  app.use((req, res, next) => {
    testRoute(req.method, req.url).then((answer) => (answer ? res.status(answer[0]).type('json').send(answer[1]) : next()), next);
  });
  app.use(profilePictureRouter(pictures, { getUser: (req) => getUser(req.headers) }));
  return app;
}

async function koaApp() {
  const { default: Koa } = await import('koa');
  const { profilePictureRouter } = await import('profile-picture/koa');
  const app = new Koa();
  app.use(async (ctx, next) => {
    const answer = await testRoute(ctx.method, ctx.url);
    if (!answer) return next();
    [ctx.status, ctx.body] = answer;
    ctx.type = 'json';
  });
  app.use(profilePictureRouter(pictures, { getUser: (ctx) => getUser(ctx.headers) }));
  return app.callback();
}

const handler = config.adapter === 'koa' ? await koaApp() : await expressApp();
const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
