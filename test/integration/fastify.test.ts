/**
 * The adapter conformance suite against Fastify 5 (`fastify`) and Fastify 4 (`fastify4` alias), plus what only
 * Fastify has: coexistence with @fastify/multipart, `setErrorHandler`, `prefix` registration, plugin metadata.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import multipartPlugin from '@fastify/multipart';
import fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { profilePicturePlugin } from '../../adapters/fastify/index.js';
import {
  createProfilePictures,
  memoryStorage,
  memoryUserRepository,
  type ProfilePictures,
  type ProfilePicturesOptions,
} from '../../src/index.js';
import {
  describeAdapters,
  failingBodyStorage,
  listen,
  multipart,
  parseTestUser,
  rawExchange,
  request,
  type AdapterHarness,
  type StartedApp,
} from './adapter-suite.js';
import { serviceWithFailingReads } from './server-fault.js';

type Fastify = (options?: FastifyServerOptions) => FastifyInstance;

const fastify4 = createRequire(import.meta.url)('fastify4') as Fastify;

const majors = [
  { name: 'fastify 5', fastify: fastify as Fastify },
  { name: 'fastify 4', fastify: fastify4 },
];

declare module 'fastify' {
  interface FastifyRequest {
    user: { id: string; username?: string } | null;
  }
}

/**
 * An app on 127.0.0.1:0. Its error handler records and answers in plain text (Fastify's default one would answer
 * JSON with an `error` key, which the suite tells apart from ours); anything Fastify logs at warn or above counts as
 * reaching the app's error handling too.
 */
async function startApp(createApp: Fastify, build: (app: FastifyInstance) => PromiseLike<unknown>): Promise<StartedApp> {
  const errors: unknown[] = [];
  const logged = { write: (line: string) => void errors.push({ logged: JSON.parse(line).msg as string }) };
  const app = createApp({ logger: { level: 'warn', stream: logged } });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/plain').send('app-fallthrough'));
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    errors.push(err);
    return reply.code(err.statusCode ?? 500).type('text/plain').send(err.statusCode ? err.message : 'Internal Server Error');
  });
  await build(app);
  await app.ready();
  const started = await listen(app.server, errors);
  return {
    ...started,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

function fastifyHarness(name: string, createApp: Fastify): AdapterHarness {
  return {
    name,
    // The plugin validates when Fastify calls it and hands a failure to `done`; call it so on a real instance.
    create: (pictures, options) =>
      profilePicturePlugin(createApp(), { pictures, ...options } as never, (err) => {
        if (err) throw err;
      }),
    userOf: (request) => (request as { user?: { id: string; username?: string } | null }).user ?? null,
    // find-my-way refuses to route a path whose escapes do not decode; Fastify answers 400 FST_ERR_BAD_URL itself.
    undecodablePathStatus: 400,
    start: (pictures: ProfilePictures, options, mount) =>
      startApp(createApp, async (app) => {
        app.decorateRequest('user', null);
        app.addHook('onRequest', async (request) => {
          request.user = parseTestUser(request.headers['x-test-user']);
        });
        await app.register(profilePicturePlugin, {
          pictures,
          getUser: (request) => request.user,
          ...options,
          ...(mount ? { prefix: mount } : {}),
        });
      }),
  };
}

describeAdapters(majors.map((major) => fastifyHarness(major.name, major.fastify)));

const JSON_CLIENT = { accept: 'application/json' };

for (const major of majors) {
  describe(`${major.name}: Fastify specifics`, () => {
    let jpeg: Buffer;
    beforeAll(async () => {
      // Noise, so the file is larger than the app's 1 KiB bodyLimit below.
      const noise = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7919) % 251));
      jpeg = await sharp(noise, { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer();
    });

    function service(options: Partial<ProfilePicturesOptions> = {}) {
      const users = memoryUserRepository();
      return { users, pictures: createProfilePictures({ storage: memoryStorage(), users, ...options }) };
    }

    async function upload(app: StartedApp, target: string, extra: Record<string, string> = {}) {
      const form = multipart([{ name: 'profile_picture', filename: 'me.jpg', type: 'image/jpeg', data: jpeg }]);
      return request(app.port, target, {
        method: 'POST',
        headers: { ...JSON_CLIENT, ...extra, 'content-type': form.contentType },
        body: form.body,
      });
    }

    it("leaves every upload body to the plugin: the app's bodyLimit and parsers apply to the app's routes only", async () => {
      const { users, pictures } = service();
      const app = await startApp(
        (options) => major.fastify({ ...options, bodyLimit: 1024 }),
        async (app) => {
          app.post('/echo', async (request) => request.body);
          await app.register(profilePicturePlugin, { pictures, getUser: () => ({ id: 'u1' }) });
        },
      );
      try {
        expect(jpeg.length).toBeGreaterThan(1024);
        const res = await upload(app, '/upload-profile-picture/');
        expect(res.status, res.text).toBe(200);
        expect(await users.getPicture('u1')).not.toBeNull();
        // The app's own JSON parser and limit are untouched by the plugin's context.
        const small = await request(app.port, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
        expect([small.status, small.json]).toEqual([200, { a: 1 }]);
        const big = JSON.stringify({ a: 'x'.repeat(2048) });
        const refused = await request(app.port, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
        expect(refused.status).toBe(413);
        expect(app.errors.map((err) => (err as { code?: string }).code)).toEqual(['FST_ERR_CTP_BODY_TOO_LARGE']);
      } finally {
        await app.close();
      }
    });

    it("runs the app's hooks before its routes: a user set in preHandler uploads; a route clash fails the start", async () => {
      const { users, pictures } = service();
      const app = await startApp(major.fastify, async (app) => {
        app.decorateRequest('user', null);
        app.addHook('preHandler', async (request) => {
          request.user = parseTestUser(request.headers['x-test-user']);
        });
        await app.register(profilePicturePlugin, { pictures, getUser: (request) => request.user });
      });
      try {
        const res = await upload(app, '/upload-profile-picture/', { 'x-test-user': 'late' });
        expect(res.status, res.text).toBe(200);
        expect(await users.getPicture('late')).not.toBeNull();
      } finally {
        await app.close();
      }
      for (const [method, url] of [['GET', '/avatar/*'], ['POST', '/upload-profile-picture/']] as const) {
        const clash = major.fastify();
        clash.route({ method, url, handler: async () => 'mine' });
        clash.register(profilePicturePlugin, { pictures, getUser: () => null });
        const failure = await clash.ready().then(() => 'started', (err: Error) => err.message);
        expect(failure).toMatch(/already declared/);
        await clash.close();
      }
    });

    it('hands a throwing getUser to the error handler of the context it is registered in', async () => {
      const { pictures } = service();
      const boom = new Error('session store down');
      const seen: unknown[] = [];
      const app = await startApp(major.fastify, async (app) => {
        await app.register(async (scope) => {
          scope.setErrorHandler((err, _request, reply) => {
            seen.push(err);
            return reply.code(503).type('text/plain').send('scoped handler');
          });
          await scope.register(profilePicturePlugin, {
            pictures,
            getUser: () => {
              throw boom;
            },
          });
        });
      });
      try {
        const res = await request(app.port, '/remove-profile-picture/', { method: 'POST', headers: JSON_CLIENT });
        expect([res.status, res.text]).toEqual([503, 'scoped handler']);
        expect(seen).toEqual([boom]);
        expect(app.errors).toEqual([]); // the root handler was not involved
      } finally {
        await app.close();
      }
    });

    it("reports a storage stream failing mid-response through request.log by default, beside Fastify's own warning", async () => {
      const pictures = createProfilePictures({ storage: failingBodyStorage(memoryStorage()), users: memoryUserRepository() });
      const record = await pictures.upload('1', jpeg);
      const app = await startApp(major.fastify, (app) => app.register(profilePicturePlugin, { pictures, getUser: () => null }));
      try {
        await expect(request(app.port, pictures.url(record, 'md'))).rejects.toThrow(); // the response is cut short
        await new Promise((resolve) => setTimeout(resolve, 50));
        // The default onServerError's line (the error with its cause), then the one Fastify logs for any stream.
        expect(app.errors).toEqual([
          { logged: 'The picture could not be read.' },
          { logged: 'response terminated with an error with headers already sent' },
        ]);
      } finally {
        await app.close();
      }
    });

    it("reports a storage stream failing before its first byte, which Fastify hands its error handler too, and cuts the connection", async () => {
      const storage = failingBodyStorage(memoryStorage(), { beforeFirstByte: true });
      const pictures = createProfilePictures({ storage, users: memoryUserRepository() });
      const record = await pictures.upload('1', jpeg);
      const app = await startApp(major.fastify, (app) => app.register(profilePicturePlugin, { pictures, getUser: () => null }));
      try {
        await expect(request(app.port, pictures.url(record, 'md'))).rejects.toThrow(); // no answer at all
        await new Promise((resolve) => setTimeout(resolve, 50));
        const seen = app.errors.map((err) => (err as { logged?: string }).logged ?? (err as Error).message);
        expect(seen).toEqual(['The picture could not be read.', 'storage connection reset']);
      } finally {
        await app.close();
      }
    });

    describe('replies the handler did not build close the connection and bound the bytes read', () => {
      /**
       * An app whose server records its sockets; `flood` sends an upload head and then 64 KiB chunks without end (a
       * client that ignores the answer) and reports the answer, when the server closed, and the bytes it read.
       */
      async function floodApp(build: (app: FastifyInstance) => PromiseLike<unknown>) {
        const sockets: net.Socket[] = [];
        const app = await startApp(major.fastify, async (app) => {
          app.server.on('connection', (socket: net.Socket) => sockets.push(socket));
          await build(app);
        });
        const flood = async (contentType: string) => {
          const started = Date.now();
          const answer = await rawExchange(
            app.port,
            `POST /upload-profile-picture/ HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`,
            { keepWriting: true, chunked: true },
          );
          return { ...answer, closedAfterMs: Date.now() - started, bytesRead: sockets[0]!.bytesRead };
        };
        return { app, flood };
      }
      // The lingering close: the grace (1 s) from the answer, or 1 MiB after it, plus what arrived before it.
      const BOUND = { ms: 2_500, bytes: 4 * 1024 * 1024 };

      it("Fastify's own 415 to a Content-Type that is no media type (Fastify 5)", async () => {
        const { pictures } = service();
        const { app, flood } = await floodApp((app) => app.register(profilePicturePlugin, { pictures, getUser: () => null }));
        try {
          const res = await flood('foo');
          // Fastify 5 refuses it before any parser (no parser can accept it); Fastify 4 leaves it to our handler.
          const status = major.name === 'fastify 5' ? 415 : 401;
          expect([res.status, res.headers.connection]).toEqual([status, 'close']);
          expect(res.closedAfterMs).toBeLessThan(BOUND.ms);
          expect(res.bytesRead).toBeLessThan(BOUND.bytes);
        } finally {
          await app.close();
        }
      });

      it("an app's preHandler hook answering 401 on the upload route", async () => {
        const { pictures } = service();
        const { app, flood } = await floodApp(async (app) => {
          app.addHook('preHandler', async (_request, reply) => reply.code(401).send({ error: 'sign in' }));
          await app.register(profilePicturePlugin, { pictures, getUser: () => ({ id: '1' }) });
        });
        try {
          const res = await flood('multipart/form-data; boundary=b');
          expect([res.status, res.body, res.headers.connection]).toEqual([401, '{"error":"sign in"}', 'close']);
          expect(res.closedAfterMs).toBeLessThan(BOUND.ms);
          expect(res.bytesRead).toBeLessThan(BOUND.bytes);
        } finally {
          await app.close();
        }
      });
    });

    it("logs a 5xx it answered itself with request.log.error by default (Fastify's channel), never a 4xx", async () => {
      const { pictures, fault, mediaPath } = await serviceWithFailingReads();
      const lines: Array<{ level: number; reqId?: string; err?: { code: string; stack: string }; msg: string }> = [];
      const app = major.fastify({ logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } });
      await app.register(profilePicturePlugin, { pictures, getUser: () => null });
      const started = await listen((await app.ready(), app.server), []);
      try {
        expect((await request(started.port, mediaPath)).status).toBe(502);
        const anonymous = await request(started.port, '/upload-profile-picture/', { method: 'POST', headers: JSON_CLIENT });
        expect(anonymous.status).toBe(401);
        const errors = lines.filter((line) => line.level >= 50);
        expect(errors.map(({ err, msg }) => [err?.code, msg])).toEqual([['STORAGE_FAILED', 'The picture could not be read.']]);
        // The request's own logger (its reqId), and the storage's error in the serialised stack.
        expect(errors[0]!.reqId).toMatch(/./);
        expect(errors[0]!.err!.stack).toContain(fault.message);
      } finally {
        await app.close();
      }
    });

    it('registers under nested prefixes: routes under both, media at the publicPath under them', async () => {
      const { pictures } = service({ publicPath: '/api/account/media/' });
      const app = await startApp(major.fastify, async (app) => {
        await app.register(
          async (api) => {
            await api.register(profilePicturePlugin, { prefix: '/account', pictures, getUser: () => ({ id: 7 }), redirectTo: '/api/account/' });
          },
          { prefix: '/api' },
        );
      });
      try {
        const res = await upload(app, '/api/account/upload-profile-picture');
        expect(res.status, res.text).toBe(200);
        const url: string = res.json.picture.urls.sm;
        expect(url.startsWith('/api/account/media/profile_pictures/7/')).toBe(true);
        const served = await request(app.port, url);
        expect([served.status, served.headers['content-type']]).toEqual([200, 'image/webp']);
        const avatar = await request(app.port, '/api/account/avatar/7?variant=sm');
        expect([avatar.status, avatar.headers.location]).toEqual([302, url]);
        expect((await request(app.port, '/account/avatar/7')).text).toBe('app-fallthrough');
      } finally {
        await app.close();
      }
    });

    it('serves an explicit paths.media relative to the prefix, and leaves a publicPath outside the prefix to the app', async () => {
      const explicit = service({ publicPath: '/account/files/' });
      const outside = service(); // publicPath '/media/', not under '/account'
      const app = await startApp(major.fastify, async (app) => {
        await app.register(profilePicturePlugin, {
          prefix: '/account',
          pictures: explicit.pictures,
          getUser: () => ({ id: 1 }),
          paths: { media: '/files/', upload: '/one/upload' },
        });
        await app.register(profilePicturePlugin, { prefix: '/other', pictures: outside.pictures, getUser: () => ({ id: 2 }) });
      });
      try {
        const one = await upload(app, '/account/one/upload');
        expect((await request(app.port, one.json.picture.urls.md)).status).toBe(200);
        const two = await upload(app, '/other/upload-profile-picture/');
        const url: string = two.json.picture.urls.md;
        expect(url.startsWith('/media/')).toBe(true);
        expect((await request(app.port, url)).text).toBe('app-fallthrough');
        expect((await request(app.port, `/other${url}`)).text).toBe('app-fallthrough');
      } finally {
        await app.close();
      }
    });

    it('answers both spellings of the POST routes with ignoreTrailingSlash; with caseSensitive off, only its own case', async () => {
      const { pictures } = service();
      const router = { ignoreTrailingSlash: true, caseSensitive: false };
      const options = major.name === 'fastify 5' ? { routerOptions: router } : router;
      const app = await startApp(
        (base) => major.fastify({ ...base, ...options }),
        (app) => app.register(profilePicturePlugin, { pictures, getUser: () => ({ id: 1 }) }),
      );
      try {
        for (const target of ['/remove-profile-picture', '/remove-profile-picture/']) {
          const res = await request(app.port, target, { method: 'POST', headers: JSON_CLIENT });
          expect([target, res.status, res.json]).toEqual([target, 200, { removed: false }]);
        }
        // Fastify routes it to the plugin; the handler, case-sensitive like the routers, hands it to the not-found handler.
        const shouted = await request(app.port, '/REMOVE-profile-picture/', { method: 'POST', headers: JSON_CLIENT });
        expect([shouted.status, shouted.text]).toEqual([404, 'app-fallthrough']);
      } finally {
        await app.close();
      }
    });

    it('refuses invalid and unknown options from register() like the router, and accepts Fastify\'s own', async () => {
      const { pictures } = service();
      const failure = async (options: Record<string, unknown>) => {
        const app = major.fastify();
        app.register(profilePicturePlugin, options as never);
        const err = await app.ready().then(() => null, (error: Error) => error);
        await app.close();
        return err && [err.constructor.name, err.message];
      };
      const getUser = () => null;
      const P = '[profile-picture] ';
      expect(await failure({ pictures, getUser, redirect: '/me/' })).toEqual(['TypeError', `${P}Unknown option \`redirect\`; did you mean \`redirectTo\`?`]);
      expect(await failure({ pictures, getUser, prefix: '/account', publicPath: '/account/media/' })).toEqual(['TypeError', `${P}Unknown option \`publicPath\`: it is an option of createProfilePictures(), which the routes take from the service; set it there`]);
      expect(await failure({ pictures, getUser, paths: { avatars: '/a/' } })).toEqual(['TypeError', `${P}Unknown option \`paths.avatars\`; did you mean \`paths.avatar\`?`]);
      expect(await failure({ getUser })).toEqual(['TypeError', `${P}Expected the service returned by createProfilePictures() for \`pictures\` but received undefined`]);
      expect(await failure({ pictures })).toEqual(['TypeError', `${P}Expected a function for \`getUser\` but received undefined`]);
      expect(await failure({ pictures, getUser, prefix: '/p', logLevel: 'warn', logSerializers: {} })).toBeNull();
    });

    it('keeps its parsers in its own context and names itself for dependency checks', async () => {
      const { pictures } = service();
      const app = major.fastify();
      await app.register(profilePicturePlugin, { pictures, getUser: () => null });
      const dependent = Object.assign(async () => {}, { [Symbol.for('plugin-meta')]: { name: 'dependent', dependencies: ['profile-picture'] } });
      await app.register(dependent);
      await app.ready();
      expect(app.hasContentTypeParser('application/json')).toBe(true);
      expect(app.hasContentTypeParser('*')).toBe(false);
      await app.close();
    });
  });
}

describe('fastify 5: coexistence with @fastify/multipart on the app', () => {
  let jpeg: Buffer;
  beforeAll(async () => {
    jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#a60' } }).jpeg().toBuffer();
  });

  for (const attachFieldsToBody of [false, true]) {
    it(`both upload routes work with attachFieldsToBody: ${attachFieldsToBody}`, async () => {
      const users = memoryUserRepository();
      const pictures = createProfilePictures({ storage: memoryStorage(), users });
      const app = await startApp(fastify as Fastify, async (app) => {
        await app.register(multipartPlugin, { attachFieldsToBody });
        app.post('/documents', async (request) => {
          const file = attachFieldsToBody ? (request.body as { document: { toBuffer(): Promise<Buffer> } }).document : await request.file();
          return { bytes: (await file!.toBuffer()).length };
        });
        await app.register(profilePicturePlugin, { pictures, getUser: () => ({ id: 'u1' }) });
      });
      try {
        const doc = multipart([{ name: 'document', filename: 'a.bin', type: 'application/octet-stream', data: Buffer.alloc(5000, 1) }]);
        const own = await request(app.port, '/documents', { method: 'POST', headers: { 'content-type': doc.contentType }, body: doc.body });
        expect([own.status, own.json]).toEqual([200, { bytes: 5000 }]);
        const form = multipart([{ name: 'profile_picture', filename: 'me.jpg', type: 'image/jpeg', data: jpeg }]);
        const ours = await request(app.port, '/upload-profile-picture/', {
          method: 'POST',
          headers: { ...JSON_CLIENT, 'content-type': form.contentType },
          body: form.body,
        });
        expect(ours.status, ours.text).toBe(200);
        const { urls: _urls, ...record } = ours.json.picture;
        expect(await users.getPicture('u1')).toEqual(record);
        expect(app.errors).toEqual([]);
      } finally {
        await app.close();
      }
    });
  }
});
