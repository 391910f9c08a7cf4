// An app instance in its own Node process, as users run one: the built package (`dist/`, through the package's
// self-reference), Express or Koa, disk storage, the routers' default options. Tests start it with
// test/processes/app-process.ts, which passes the configuration as JSON in PP_APP_CONFIG:
//   { adapter: 'express' | 'koa', mediaRoot: string, service?: object }
// Users come from the `x-test-user` header. `GET /__process` answers this process's memory figures, so a test can
// check the peak RSS of the server that handled its requests. Prints `listening <port>` once ready.
import http from 'node:http';
import { createProfilePictures, diskStorage, memoryUserRepository } from 'profile-picture';

const config = JSON.parse(process.env.PP_APP_CONFIG ?? '{}');
const pictures = createProfilePictures({
  storage: diskStorage({ root: config.mediaRoot }),
  users: memoryUserRepository(),
  ...config.service,
});
const getUser = (headers) => {
  const id = headers['x-test-user'];
  return typeof id === 'string' && id !== '' ? { id } : null;
};

function processFigures() {
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, rss, heapUsed, external, arrayBuffers });
}

async function expressApp() {
  const { default: express } = await import('express');
  const { profilePictureRouter } = await import('profile-picture/express');
  const app = express();
  app.get('/__process', (_req, res) => res.type('json').send(processFigures()));
  app.use(profilePictureRouter(pictures, { getUser: (req) => getUser(req.headers) }));
  return app;
}

async function koaApp() {
  const { default: Koa } = await import('koa');
  const { profilePictureRouter } = await import('profile-picture/koa');
  const app = new Koa();
  app.use(async (ctx, next) => {
    if (ctx.path !== '/__process') return next();
    ctx.type = 'json';
    ctx.body = processFigures();
  });
  app.use(profilePictureRouter(pictures, { getUser: (ctx) => getUser(ctx.headers) }));
  return app.callback();
}

const handler = config.adapter === 'koa' ? await koaApp() : await expressApp();
const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
