// An app instance in its own Node process, as users run one: the built package (`dist/`, through the package's
// self-reference), Express or Koa, the routers' default options. Tests start it with test/processes/app-process.ts,
// which passes the configuration as JSON in PP_APP_CONFIG:
//   { adapter: 'express' | 'koa', mediaRoot: string, sqliteFile?: string, service?: object }
// Pictures go to disk under `mediaRoot`; records to memory, or to the example app's SQLite repository on
// `sqliteFile`, which several processes can share. Users come from the `x-test-user` header. `GET /__process`
// answers this process's memory figures, so a test can check the peak RSS of the server that handled its requests;
// `POST /__sweep?olderThan=ms` runs `pictures.sweep()` here. Prints `listening <port>` once ready.
import http from 'node:http';
import { createProfilePictures, diskStorage, memoryUserRepository } from 'profile-picture';

const config = JSON.parse(process.env.PP_APP_CONFIG ?? '{}');
const pictures = createProfilePictures({
  storage: diskStorage({ root: config.mediaRoot }),
  users: config.sqliteFile ? await sqliteUsers(config.sqliteFile) : memoryUserRepository(),
  ...config.service,
});

async function sqliteUsers(file) {
  const { openDatabase } = await import('../../examples/shared/database.js');
  const { sqliteUserRepository } = await import('../../examples/shared/sqlite-users.js');
  return sqliteUserRepository(openDatabase(file));
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
