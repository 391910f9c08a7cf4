/**
 * `LOCKED` (403) and `TOO_MANY_CHANGES` (429 + `Retry-After`) over real HTTP, on the Express and Koa routers, the
 * Fastify plugin and the web handler (in Hono on `@hono/node-server`): refused before the body is read —
 * a raw client that sends only the head still gets the answer — and Node's `fetch`, in a process of its own, reads
 * the status and JSON for a 2.7 MB upload instead of EPIPE. Nothing is stored.
 */
import http from 'node:http';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import express from 'express';
import fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { profilePictureRouter as expressRouter } from '../../adapters/express/index.js';
import { profilePicturePlugin } from '../../adapters/fastify/index.js';
import { profilePictureRouter as koaRouter } from '../../adapters/koa/index.js';
import { createRequestHandler } from '../../adapters/web/index.js';
import { createProfilePictures, memoryStorage, memoryUserRepository, type ProfilePictures } from '../../src/index.js';
import { listKeys } from '../fixtures/service.js';
import { distinctImages } from '../helpers/images.js';
import { listen, multipart, parseTestUser, rawExchange, request, type StartedApp } from './adapter-suite.js';
import { fetchUploads } from './upload-clients.js';

const [image] = await distinctImages(1, 64);
const PHOTO = 2_700_000;
const JSON_CLIENT = { accept: 'application/json' };

const servers: Record<string, (pictures: ProfilePictures) => http.Server | Promise<http.Server>> = {
  express: (pictures) => {
    const app = express();
    app.use(expressRouter(pictures, { getUser: (req) => parseTestUser(req.headers['x-test-user']) }));
    return http.createServer(app);
  },
  koa: (pictures) => {
    const app = new Koa();
    app.use(koaRouter(pictures, { getUser: (ctx) => parseTestUser(ctx.get('x-test-user')) }));
    return http.createServer(app.callback());
  },
  fastify: async (pictures) => {
    const app = fastify();
    await app.register(profilePicturePlugin, { pictures, getUser: (request) => parseTestUser(request.headers['x-test-user']) });
    await app.ready();
    return app.server;
  },
  'web handler (hono)': (pictures) => {
    const handle = createRequestHandler(pictures, { getUser: (request) => parseTestUser(request.headers.get('x-test-user')) });
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.use(async (c, next) => (await handle(c.req.raw, { incoming: c.env.incoming })) ?? next());
    return createAdaptorServer({ fetch: app.fetch }) as http.Server;
  },
};

let started: StartedApp | undefined;
afterEach(() => started?.close());

/** The head of an upload declaring `PHOTO` bytes, of which it sends none: only an answer before the body can come. */
const headOnly = (user: string) =>
  'POST /upload-profile-picture/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n' +
  `x-test-user: ${user}\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: ${PHOTO}\r\n\r\n`;

describe.each(Object.keys(servers))('%s router', (name) => {
  async function start(options: Parameters<typeof createProfilePictures>[0]['limits'] = {}) {
    const storage = memoryStorage();
    const pictures = createProfilePictures({ storage, users: memoryUserRepository(), master: false, limits: { bodyTimeout: 3_000, ...options } });
    started = await listen(await servers[name]!(pictures), []);
    const upload = (user: string) => {
      const form = multipart([{ name: 'profile_picture', filename: 'me.png', type: 'image/png', data: image! }]);
      return request(started!.port, '/upload-profile-picture/', {
        method: 'POST',
        headers: { ...JSON_CLIENT, 'content-type': form.contentType, 'x-test-user': user },
        body: form.body,
      });
    };
    return { storage, pictures, upload, url: `${started.base}/upload-profile-picture/` };
  }

  it('a locked user: 403 LOCKED with the reason before the body is read; fetch reads it for a 2.7 MB upload; nothing stored', async () => {
    const { storage, pictures, upload, url } = await start();
    expect((await upload('7')).status).toBe(200);
    const before = await listKeys(storage);
    await pictures.lock('7', 'Reported; contact support.');

    const raw = await rawExchange(started!.port, headOnly('7'));
    expect([raw.status, raw.headers.connection]).toEqual([403, 'close']);
    expect(JSON.parse(raw.body)).toEqual({
      error: { code: 'LOCKED', message: 'Your profile picture is locked: Reported; contact support.', details: { reason: 'Reported; contact support.' } },
    });
    expect(await fetchUploads(url, PHOTO, [{ ...JSON_CLIENT, 'x-test-user': '7' }, { ...JSON_CLIENT, 'x-test-user': '7' }])).toEqual([
      '403 LOCKED',
      '403 LOCKED',
    ]);
    expect(await listKeys(storage)).toEqual(before);

    await pictures.unlock('7');
    expect((await upload('7')).status).toBe(200);
  });

  it('over the change limit: 429 TOO_MANY_CHANGES with Retry-After before the body is read; fetch reads it; nothing stored', async () => {
    const { storage, upload, url } = await start({ changes: { max: 1, perMs: 60_000 } });
    expect((await upload('7')).status).toBe(200);
    const before = await listKeys(storage);

    const raw = await rawExchange(started!.port, headOnly('7'));
    expect([raw.status, raw.headers.connection]).toEqual([429, 'close']);
    const { error } = JSON.parse(raw.body) as { error: { code: string; details: { retryAfter: number; limit: number } } };
    expect(error.code).toBe('TOO_MANY_CHANGES');
    expect(error.details.limit).toBe(1);
    expect(error.details.retryAfter).toBeGreaterThanOrEqual(58);
    expect(error.details.retryAfter).toBeLessThanOrEqual(60);
    expect(raw.headers['retry-after']).toBe(String(error.details.retryAfter));

    const answered = await upload('7'); // a whole small upload: the same answer
    expect([answered.status, answered.json.error.code, answered.headers['retry-after']]).toEqual([429, 'TOO_MANY_CHANGES', expect.stringMatching(/^(58|59|60)$/)]);
    expect(await fetchUploads(url, PHOTO, [{ ...JSON_CLIENT, 'x-test-user': '7' }])).toEqual(['429 TOO_MANY_CHANGES']);
    expect(await listKeys(storage)).toEqual(before);
    // Another user is not limited by user 7's changes.
    expect((await upload('8')).status).toBe(200);
  });
});
